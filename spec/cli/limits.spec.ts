/**
 * Bounded resources for every input: configs that would exhaust memory or never finish
 * are refused before anything is allocated (codec bounds, a memory estimate), files are
 * read only when they are regular files of a sane size, NaN and Infinity are refused by
 * name, inputs that used to crash the process exit 1 with a message, and `sample --n
 * 1000000` works by sampling in chunks.
 */
import { runCli } from '../helpers/runCli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { preflight, memoryIssues } from '../../lib/train/preflight';
import { mlpMemory } from '../../lib/models/memory';
import { writeNpy, readNpy } from '../../lib/data/npy';
import { useBackend } from '../../lib/backend';
import type { TeacherConfig } from '../../lib/teacher/teacher';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-limits-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

const write = (name: string, text: string | Buffer): string => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};

beforeAll(async () => {
  await useBackend('wasm');
});

describe('config files', () => {
  test('`validate /dev/zero` is refused at once, without reading it', async () => {
    expect(await run('validate', '/dev/zero')).toMatchObject({
      code: 1,
      err:
        'phased-dmd: invalid config file /dev/zero:\n(file): not a regular file (a device, FIFO or socket is ' +
        'never read)\n',
    });
  });

  test('a config larger than 1 MiB is refused with its size', async () => {
    const f = write('huge.yaml', `# ${'x'.repeat(2 << 20)}\nmethod: teacher\n`);
    const r = await run('validate', f);
    expect([r.code, r.err]).toEqual([
      1,
      expect.stringContaining('(file): is 2.0 MiB, larger than the 1.0 MiB read at most'),
    ]);
  });

  test('a YAML alias bomb exits 1 with a message, before it expands', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const r = await run('validate', write('bomb.yaml', `${levels.join('\n')}\nmethod: teacher\n`));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^phased-dmd: invalid config file .*bomb\.yaml:\n\(file\): not valid YAML: .*alias/);
  });

  test('YAML .nan and .inf are refused with the words NaN and Infinity, at their paths', async () => {
    const f = write(
      'nan.yaml',
      'method: teacher\ndata: {kind: mixture, name: ring8}\nlr: .inf\nsampler: {guidance: .nan}\n',
    );
    const r = await run('validate', f);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toEqual([
      `phased-dmd: invalid config ${f}:`,
      'lr: expected a finite number, got Infinity (NaN and Infinity are refused everywhere)',
      'sampler.guidance: expected a finite number, got NaN (NaN and Infinity are refused everywhere)',
      '',
    ]);
    expect(r.err).not.toContain('null');
  });

  test('a config built in code with NaN is refused by every runner’s preflight, by name', () => {
    const r = preflight({
      method: 'phased',
      teacher: 'spec/fixtures/bad-files/teacher.ckpt',
      iterations: 20,
      guidance: NaN,
      margin: -Infinity,
    });
    expect(E.isLeft(r) && r.left.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'guidance: expected a finite number, got NaN (NaN and Infinity are refused everywhere)',
      'margin: expected a finite number, got -Infinity (NaN and Infinity are refused everywhere)',
    ]);
  });
});

describe('files that never end', () => {
  test('a recording or a checkpoint that is /dev/zero is refused without being read', async () => {
    const zero = path.join(tmp, 'zero.ndjson');
    fs.symlinkSync('/dev/zero', zero);
    expect(await run('replay', zero)).toMatchObject({
      code: 1,
      err: `phased-dmd: recording ${zero}: not a regular file (a device, FIFO or socket is never read)\n`,
    });
    expect(await run('sample', '--model', '/dev/zero', '--n', '3', '--out', path.join(tmp, 'z.npy'))).toMatchObject({
      code: 1,
      err: 'phased-dmd: checkpoint /dev/zero: not a regular file (a device, FIFO or socket is never read)\n',
    });
  });
});

describe('output directories', () => {
  test('an --out that is a file names it instead of a bare EEXIST', async () => {
    const file = write('not-a-dir', 'x');
    const f = write(
      'tiny.json',
      JSON.stringify({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, steps: 1 }),
    );
    expect(await run('run', f, '--out', file)).toMatchObject({
      code: 1,
      err: `phased-dmd: cannot write ${file}: it is a file, expected a directory (or a path that does not exist yet)\n`,
    });
    expect(await run('run', f, '--out', path.join(file, 'sub'))).toMatchObject({
      code: 1,
      err: `phased-dmd: cannot write ${path.join(file, 'sub')}: ${file} is a file, expected a directory\n`,
    });
  });
});

describe('memory', () => {
  const teacher = (model: unknown, batchSize = 512): TeacherConfig =>
    ({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, model, batchSize }) as TeacherConfig;

  test('the estimate counts weights four times and the activations of a batch', () => {
    // widths (2 + 8, 4, 2): weights (10+1)·4 + (4+1)·2 = 54; activations 2·3·(10+4+2) = 96
    expect(mlpMemory([4], 8, 2, 3)).toEqual({ bytes: 4 * (4 * 54 + 96), weights: 54, path: 'model' });
  });

  test('a model that cannot fit is refused with the estimate at its field; the defaults pass', () => {
    const gb = 1e9;
    expect(memoryIssues(teacher({ kind: 'mlp', hidden: [16384, 16384, 16384] }), 8 * gb)).toEqual([
      {
        path: 'model.hidden',
        message: expect.stringMatching(
          new RegExp(
            /^the run needs at least 8\.8 GB of memory \(537\.[0-9] M weights, each kept 4 times for /.source +
              /gradients and Adam, plus the activations of a batch of 512\), more than this machine's 8\.0 GB$/.source,
          ),
        ),
      },
    ]);
    expect(memoryIssues(teacher({ kind: 'mlp', hidden: [64] }, 65536), 0.01 * gb)).toEqual([
      { path: 'batchSize', message: expect.stringContaining('the activations of a batch of 65,536') },
    ]);
    expect(memoryIssues(teacher({ kind: 'mlp', hidden: [256, 256, 256], timeEmbedDim: 32 }))).toEqual([]);
  });
});

describe('crashes that became messages (exit 1)', () => {
  test('`run` with model.hidden [100000, 100000, 100000] exits 1 before allocating', async () => {
    const f = write(
      'wide.json',
      JSON.stringify({
        method: 'teacher',
        data: { kind: 'mixture', name: 'ring8' },
        model: { kind: 'mlp', hidden: [100000, 100000, 100000] },
      }),
    );
    const r = await run('run', f, '--out', path.join(tmp, 'wide'));
    expect([r.code, r.err]).toEqual([
      1,
      expect.stringContaining(
        'model.hidden[0]: expected PositiveInt ≤ 16,384 (a wider layer would not fit in memory), got 100000',
      ),
    ]);
    expect(fs.existsSync(path.join(tmp, 'wide'))).toBe(false);
  });

  test('`run` with sampler.steps 1e9 exits 1 (it ran out of V8 heap)', async () => {
    const f = write(
      'steps.json',
      JSON.stringify({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, sampler: { steps: 1e9 } }),
    );
    const r = await run('run', f, '--out', path.join(tmp, 'steps'));
    expect([r.code, r.err]).toEqual([1, expect.stringContaining('sampler.steps: expected PositiveInt ≤ 10,000')]);
  });

  test('`train --data` with 4-D images a U-Net cannot halve twice exits 1 with the shape (it exited 2)', async () => {
    const x = write('odd-images.npy', Buffer.alloc(0));
    writeNpy(x, new Float32Array(4 * 6 * 10 * 1), [4, 6, 10, 1]);
    const r = await run(
      'train',
      '--data',
      x,
      '--method',
      'teacher',
      '--out',
      path.join(tmp, 'odd-images'),
      '--budget',
      'quick',
    );
    expect([r.code, r.err]).toEqual([
      1,
      expect.stringContaining('images are 6×10 (H×W); the U-Net halves each side twice'),
    ]);
    expect(r.err).not.toContain('internal error');
  });
});

describe('sample --n in chunks', () => {
  let model: string;
  beforeAll(async () => {
    const f = write(
      'tiny-teacher.json',
      JSON.stringify({
        method: 'teacher',
        data: { kind: 'mixture', name: 'ring8' },
        model: { kind: 'mlp', hidden: [16], timeEmbedDim: 4 },
        steps: 2,
        batchSize: 8,
      }),
    );
    expect((await run('run', f, '--out', path.join(tmp, 'tiny'), '--no-report')).code).toBe(0);
    model = path.join(tmp, 'tiny', 'teacher.ckpt');
  });

  test(
    'a million samples are drawn (in chunks) and written; the first chunk holds what a small draw of the same ' +
      'seed gives',
    async () => {
      const big = path.join(tmp, 'million.npy');
      const labels = path.join(tmp, 'million-labels.npy');
      const r = await run(
        'sample',
        '--model',
        model,
        '--n',
        '1000000',
        '--steps',
        '1',
        '--out',
        big,
        '--labels-out',
        labels,
      );
      expect([r.code, r.err]).toEqual([
        0,
        expect.stringMatching(
          /^wrote 1000000 samples \(teacher, 1 steps, shape \[1000000, 2\].*\) to .*million\.npy\n$/,
        ),
      ]);
      const x = readNpy(big);
      const y = readNpy(labels);
      if (E.isLeft(x) || E.isLeft(y)) throw new Error('unreadable output');
      expect([x.right.shape, y.right.shape]).toEqual([[1000000, 2], [1000000]]);
      expect(Array.from(x.right.values as Float32Array).every(Number.isFinite)).toBe(true);
      const small = path.join(tmp, 'small.npy');
      expect((await run('sample', '--model', model, '--n', '1000', '--steps', '1', '--out', small)).code).toBe(0);
      const s = readNpy(small);
      if (E.isLeft(s)) throw s.left;
      // the same noise: equal up to float rounding (a larger batch may sum a matmul in another order)
      const first = (x.right.values as Float32Array).subarray(0, 2000);
      expect(Math.max(...Array.from(s.right.values as Float32Array, (v, i) => Math.abs(v - first[i])))).toBeLessThan(
        1e-5,
      );
    },
    120_000,
  );

  test('--n past the bound, and a figure of too many samples, are usage errors', async () => {
    expect(await run('sample', '--model', model, '--n', '1000000000', '--out', path.join(tmp, 'x.npy'))).toMatchObject({
      code: 1,
      err: expect.stringContaining('--n: expected 1…100,000,000 samples, got 1000000000'),
    });
    expect(await run('sample', '--model', model, '--n', '200000', '--out', path.join(tmp, 'x.png'))).toMatchObject({
      code: 1,
      err: expect.stringContaining('a figure shows at most 100,000 samples'),
    });
    expect(
      await run('sample', '--model', model, '--n', '10', '--steps', '1000000000', '--out', path.join(tmp, 'x.npy')),
    ).toMatchObject({ code: 1, err: expect.stringContaining('--steps: expected 1…10,000 sampler steps') });
  });
});
