/**
 * The command line end to end, in-process (main(argv, io) with captured output): help,
 * exit codes, and a tiny train → sample → eval → report → replay → verify round trip on
 * 2-D data. Two checks spawn the real bin (tsx) for exit codes and stack traces.
 */
import { runCli } from '../helpers/runCli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { PNG } from 'pngjs';
import * as E from 'fp-ts/Either';
import { COMMANDS } from '../../cli/commands';
import { exitCodeOf, formatError } from '../../cli/errors';
import { writeNpy, readNpy } from '../../lib/data/npy';
import { pngFacts } from '../../lib/plots/png';
import { useBackend } from '../../lib/backend';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

beforeAll(async () => {
  await useBackend('wasm');
  // 8 tight clusters on a ring, labelled by cluster
  const n = 400;
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 8;
    const a = (y[i] * Math.PI) / 4;
    x[2 * i] = 2 * Math.cos(a) + 0.05 * Math.sin(i * 7.1);
    x[2 * i + 1] = 2 * Math.sin(a) + 0.05 * Math.cos(i * 3.7);
  }
  writeNpy(path.join(tmp, 'x.npy'), x, [n, 2]);
  writeNpy(path.join(tmp, 'y.npy'), y, [n]);
});

describe('help and usage errors', () => {
  test('phased-dmd --help lists every command; each command has --help', async () => {
    const top = await run('--help');
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.out).toContain(`  ${c.name} `);
      const h = await run(c.name, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toContain(`Usage: phased-dmd ${c.name}`);
      for (const flag of Object.keys(c.options)) expect(h.out).toContain(`--${flag}`);
    }
  });

  test('unknown commands and flags exit 1 with a pointer to help, no stack trace', async () => {
    const a = await run('frobnicate');
    expect(a).toMatchObject({ code: 1, out: '' });
    expect(a.err).toContain('unknown command "frobnicate"');
    const b = await run('sample', '--model', 'm.ckpt', '--n', '3', '--out', 'x.npy', '--colour', 'red');
    expect(b.code).toBe(1);
    expect(b.err).toBe("phased-dmd: Unknown option '--colour'\nRun 'phased-dmd sample --help' for usage.\n");
  });

  test('internal failures are exit 2; bad input names', () => {
    expect(exitCodeOf(new TypeError('x is undefined'))).toBe(2);
    for (const name of ['ConfigError', 'DataError', 'CheckpointError', 'ShapeError', 'RecordingError', 'ResumeError']) {
      const e = new Error('m');
      e.name = name;
      expect(exitCodeOf(e)).toBe(1);
    }
    expect(exitCodeOf(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe(1);
    expect(formatError(new TypeError('boom'), false)).toBe(
      'phased-dmd: internal error: boom\n(run again with --verbose for the stack trace)\n',
    );
    expect(formatError(new TypeError('boom'), true)).toMatch(/^phased-dmd: internal error: boom\n {4}at /);
  });
});

describe('validate', () => {
  test('a valid config: exit 0; --print shows it after overrides', async () => {
    const f = path.join(tmp, 'ok.yaml');
    const teacher = path.join(ROOT, 'spec/fixtures/bad-files/teacher.ckpt');
    fs.writeFileSync(f, `method: phased\nteacher: ${teacher}\niterations: 8\n`);
    expect(await run('validate', f)).toMatchObject({
      code: 0,
      out: `${f}: a valid phased config (distill pipeline)\n`,
    });
    const p = await run('validate', f, '--set', 'preset=4x4', '--print');
    expect(JSON.parse(p.out)).toEqual({ method: 'phased', teacher, iterations: 8, preset: '4x4' });
  });

  test.each(['experiment-2d.json', 'sweep-uneven7.json'])(
    'the shipped %s is valid (experiments and sweeps)',
    async (name) => {
      const f = path.join(ROOT, 'pipelines/configs', name);
      expect(await run('validate', f)).toMatchObject({
        code: 0,
        out: expect.stringMatching(/: a valid (experiment|sweep) /),
      });
    },
  );

  test('the files a config names are checked too: a missing teacher checkpoint is an error at its field', async () => {
    const f = path.join(tmp, 'no-teacher.yaml');
    fs.writeFileSync(f, 'method: phased\nteacher: nowhere/t.ckpt\niterations: 8\n');
    const r = await run('validate', f);
    expect([r.code, r.err]).toEqual([
      1,
      expect.stringContaining(
        `phased-dmd: invalid config ${f}:\nteacher: expected a teacher checkpoint, file not found: nowhere/t.ckpt`,
      ),
    ]);
  });

  test('experiments and sweeps: their relations and memory estimate are checked, errors at their fields', async () => {
    const f = path.join(tmp, 'experiment.json');
    fs.writeFileSync(f, JSON.stringify({ method: 'experiment', task: 'ring8', seeds: [0] }));
    expect(await run('validate', f)).toMatchObject({
      code: 0,
      out: `${f}: a valid experiment config (experiment pipeline)\n`,
    });
    const r = await run('validate', f, '--set', 'samples=500000', '--set', 'evalPoints=500000');
    expect([r.code, r.err]).toEqual([
      1,
      expect.stringMatching(/^phased-dmd: invalid config .*:\nevalPoints: the run needs at least 4\.0 TB of memory/),
    ]);
    const s = path.join(tmp, 'sweep.json');
    fs.writeFileSync(s, JSON.stringify({ method: 'sweep', task: 'ring8', budgets: [100, 50] }));
    expect((await run('validate', s)).err).toContain(
      'budgets.1: expected budgets in ascending order, got 50 after 100',
    );
  });

  test('an invalid one: exit 1, every error with its path', async () => {
    const f = path.join(tmp, 'bad.json');
    fs.writeFileSync(
      f,
      JSON.stringify({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, steps: 0, batchsize: 4 }),
    );
    const r = await run('validate', f, '--set', 'lr=-1');
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toEqual([
      `phased-dmd: invalid config ${f}:`,
      'steps: expected PositiveInt, got 0',
      'lr: expected Positive, got -1 (from --set lr=-1)',
      'batchsize: unknown field; did you mean "batchSize"?',
      '',
    ]);
  });
});

describe('train → sample → eval → report → replay on 2-D data', () => {
  const teacherDir = path.join(tmp, 'teacher');
  const studentDir = path.join(tmp, 'dmd');
  const trainTeacher = () =>
    run(
      'train',
      '--data',
      path.join(tmp, 'x.npy'),
      '--labels',
      path.join(tmp, 'y.npy'),
      '--method',
      'teacher',
      '--budget',
      'quick',
      '--set',
      'steps=20',
      '--set',
      'batchSize=64',
      '--out',
      teacherDir,
    );

  test('train a teacher: checkpoint, recording, config, report and figures in --out', async () => {
    const r = await trainTeacher();
    expect(r.err).toContain('phase 1/1 20/20');
    // one line names the kernels, when training starts; a refused run (below) prints none
    expect(r.err.match(/^kernels: (wasm \+ native OpenBLAS|stock wasm)/gm)).toHaveLength(1);
    expect(r.err).toContain('--budget quick is a smoke test');
    expect(r.code).toBe(0);
    for (const f of [
      'teacher.ckpt',
      'recording.ndjson',
      'config.json',
      'report.md',
      'metrics.json',
      'figures/losses.png',
      'figures/samples.png',
    ])
      expect(fs.existsSync(path.join(teacherDir, f))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(teacherDir, 'config.json'), 'utf8'))).toMatchObject({
      method: 'teacher',
      steps: 20,
      batchSize: 64,
      data: { kind: 'npy' },
    });
    for (const f of ['losses.png', 'samples.png'])
      expect(pngFacts(fs.readFileSync(path.join(teacherDir, 'figures', f))).blank).toBe(false);
    // the same run again is refused: nothing is overwritten silently
    const again = await trainTeacher();
    expect(again.code).toBe(1);
    expect(again.err).toContain(
      'already exists: resume that run with --resume (resume: true), or start over with --overwrite (overwrite: ' +
        'true)\n',
    );
    expect(again.err).not.toContain('kernels:');
  });

  test('distil a one-step student from it', async () => {
    const r = await run(
      'train',
      '--data',
      path.join(tmp, 'x.npy'),
      '--method',
      'dmd',
      '--teacher',
      path.join(teacherDir, 'teacher.ckpt'),
      '--set',
      'iterations=2',
      '--set',
      'batchSize=16',
      '--set',
      'updateRatio=1',
      '--set',
      'regression.warmup=3',
      '--out',
      studentDir,
    );
    // the 3 warm-up updates report the regression loss; they are not among the 2 iterations
    expect(r.err).toMatch(/phase 1\/1 2\/2 regression=\S+ fake=\S+ generator=\S+ .* done/);
    expect(r.code).toBe(0);
    const report = fs.readFileSync(path.join(studentDir, 'report.md'), 'utf8');
    expect(report).toContain('status: **complete**');
    expect(report).toMatch(/\| dmd \| 1 \| 2 \| 500 \| 1 \|/); // phase index 0, shown from 1
    expect(report).toContain('## dmd vs teacher samples');
  });

  /** A quick-budget 4-step student of the teacher above, with the defaults `train` gives points. */
  const trainQuick = (method: string, dir: string) =>
    run(
      'train',
      '--data',
      path.join(tmp, 'x.npy'),
      '--method',
      method,
      '--teacher',
      path.join(teacherDir, 'teacher.ckpt'),
      '--budget',
      'quick',
      '--set',
      'iterations=2',
      '--set',
      'batchSize=16',
      '--set',
      'updateRatio=1',
      '--out',
      dir,
    );

  test("a 4-step student on points fits each phase to the teacher's path first (its config says so)", async () => {
    const dir = path.join(tmp, 'phased');
    const r = await trainQuick('phased', dir);
    expect(r.code).toBe(0);
    // the quick budget's warm-up: 50 regression-only updates per phase, then the term at λ_reg 4
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config.regression).toEqual({ weight: 4, warmup: 50, warmupLr: 1e-3 });
    const roles = fs
      .readFileSync(path.join(dir, 'recording.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"metrics"'))
      .map((l) => JSON.parse(l) as { role: string; key: { phase: number } });
    for (const phase of [0, 1])
      expect(roles.filter((m) => m.role === 'regression' && m.key.phase === phase)).toHaveLength(50);
    const report = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
    for (const phase of [1, 2]) expect(report).toMatch(new RegExp(`\\| ${phase} \\| regression \\| 50 \\|`));
  });

  test('an SGTS student on points also samples from its generator EMA (its config says so)', async () => {
    const dir = path.join(tmp, 'sgts');
    const r = await trainQuick('sgts', dir);
    expect(r.code).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ ema: 0.99, regression: { weight: 4, warmup: 50, warmupLr: 1e-3 } });
  });

  test('sample to .npy (deterministic by seed) and to .png; --class checks the model', async () => {
    const a = path.join(tmp, 'a.npy');
    const b = path.join(tmp, 'b.npy');
    expect(
      (await run('sample', '--model', path.join(studentDir, 'student.ckpt'), '--n', '50', '--seed', '3', '--out', a))
        .code,
    ).toBe(0);
    expect(
      (await run('sample', '--model', path.join(studentDir, 'student.ckpt'), '--n', '50', '--seed', '3', '--out', b))
        .code,
    ).toBe(0);
    const [xa, xb] = [readNpy(a), readNpy(b)].map((e) => (E.isRight(e) ? e.right : null));
    expect(xa?.shape).toEqual([50, 2]);
    expect(Buffer.from(xa!.values.buffer).equals(Buffer.from(xb!.values.buffer))).toBe(true);
    const png = path.join(tmp, 't.png');
    expect(
      (
        await run(
          'sample',
          '--model',
          path.join(teacherDir, 'teacher.ckpt'),
          '--n',
          '100',
          '--steps',
          '4',
          '--class',
          '2',
          '--out',
          png,
        )
      ).code,
    ).toBe(0);
    const img = PNG.sync.read(fs.readFileSync(png));
    expect(img.width).toBeGreaterThan(200);
    const bad = await run(
      'sample',
      '--model',
      path.join(teacherDir, 'teacher.ckpt'),
      '--n',
      '5',
      '--class',
      '8',
      '--out',
      a,
    );
    expect(bad).toMatchObject({ code: 1, err: expect.stringContaining('--class: expected a class id in 0…7, got 8') });
    const notCkpt = await run('sample', '--model', a, '--n', '5', '--out', b);
    const refused = `checkpoint ${a}: not a checkpoint: the file is corrupt or of another kind`;
    expect(notCkpt).toMatchObject({ code: 1, err: expect.stringContaining(refused) });
  });

  test('eval prints metrics as JSON only', async () => {
    const r = await run(
      'eval',
      '--samples',
      path.join(tmp, 'a.npy'),
      '--reference',
      path.join(tmp, 'x.npy'),
      '--mixture',
      'ring8',
    );
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out);
    expect(m).toMatchObject({ samples: 50, referenceSamples: 400, dim: 2, mixture: { numModes: 8 } });
    expect(m.distances.energy).toBeGreaterThanOrEqual(0);
    const bad = await run('eval', '--samples', path.join(tmp, 'a.npy'), '--reference', path.join(tmp, 'nope.npy'));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('nope.npy');
  });

  test('report rebuilds from the recording alone', async () => {
    fs.rmSync(path.join(studentDir, 'figures'), { recursive: true });
    fs.rmSync(path.join(studentDir, 'report.md'));
    const r = await run('report', studentDir);
    expect(r.code).toBe(0);
    expect(
      r.out
        .split('\n')
        .filter((l) => l !== '')
        .map((f) => path.relative(studentDir, f)),
    ).toEqual(['report.md', 'metrics.json', 'figures/losses.png', 'figures/samples.png']);
    expect((await run('report', path.join(tmp, 'nowhere'))).code).toBe(1);
  });

  test('replay: progress lines, JSON lines, and --verify reproduces the run exactly', async () => {
    const rec = path.join(studentDir, 'recording.ndjson');
    const r = await run('replay', rec);
    expect(r.code).toBe(0);
    expect(r.err).toContain('phase 1/1 2/2');
    expect(r.err).toContain('run complete');
    const j = await run('replay', rec, '--json');
    const types = j.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).type);
    // 3 warm-up updates, then 2 iterations of one fake and one generator update
    expect(types.filter((t) => t === 'metrics')).toHaveLength(7);
    expect(types[types.length - 1]).toBe('end');
    const v = await run('replay', path.join(teacherDir, 'recording.ndjson'), '--verify');
    expect(v.out).toBe('reproduced: 20 updates and 0 phase ends match the recording exactly on wasm\n');
    expect(v.code).toBe(0);
  });
});

describe('the bin', () => {
  const bin = path.join(ROOT, 'bin', 'phased-dmd.js');
  test('npx-style invocation: help exits 0; bad input exits 1 without a stack trace', () => {
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', cwd: ROOT });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: phased-dmd <command>');
    const bad = path.join(tmp, 'bin-bad.json');
    fs.writeFileSync(bad, '{"method": "teacher"}');
    const v = spawnSync(process.execPath, [bin, 'validate', bad], { encoding: 'utf8', cwd: ROOT });
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/^phased-dmd: invalid config .*:\ndata: /);
    expect(v.stderr).not.toMatch(/\n\s+at /);
  });

  test('report rebuilds an image experiment in a fresh process (its metrics need tensors: the classifier)', () => {
    const out = path.join(tmp, 'bin-mnist');
    const tiny = [
      '--set',
      'seeds=[0]',
      '--set',
      'methods=["teacher","dmd"]',
      '--set',
      'budget.teacherSteps=2',
      '--set',
      'budget.iterations=4',
      '--set',
      'budget.batchSize=4',
      '--set',
      'samples=20',
      '--set',
      'classifier.steps=2',
      '--set',
      'classifier.batchSize=8',
      '--set',
      'model.width=4',
    ];
    const env = { ...process.env, OMP_NUM_THREADS: '1' };
    const run = spawnSync(
      process.execPath,
      [bin, 'run', 'pipelines/configs/experiment-mnist.json', '--out', out, ...tiny],
      { encoding: 'utf8', cwd: ROOT, env },
    );
    expect(run.status).toBe(0);
    const before = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    fs.rmSync(path.join(out, 'report.md'));
    const report = spawnSync(process.execPath, [bin, 'report', out], { encoding: 'utf8', cwd: ROOT, env });
    expect(report.stderr).toBe('');
    expect(report.status).toBe(0);
    // the same tables (the header line naming the rebuild aside)
    const table = (md: string) =>
      md
        .split('\n')
        .filter((l) => l.startsWith('|'))
        .join('\n');
    expect(table(fs.readFileSync(path.join(out, 'report.md'), 'utf8'))).toBe(table(before));
  }, 60_000);
});
