/**
 * Messages that tell a user what to do next: a student config whose teacher checkpoint is
 * missing names the command that makes it; `eval --labels` without `--classifier` says
 * what it computes and what it cannot; `serve --help` gives the default port; `train --help` says
 * what images cost before a user starts a run of tens of minutes.
 */
import { runCli } from '../helpers/runCli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeTeacherHint } from '../../lib/train/preflight';
import { writeNpy } from '../../lib/data/npy';
import { useBackend } from '../../lib/backend';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'messages-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

beforeAll(async () => {
  await useBackend('wasm');
});

describe('a student whose teacher checkpoint is missing', () => {
  it('`run` refuses it before training and names the commands that make the checkpoint there', async () => {
    const teacher = path.join(tmp, 'teacher-run', 'teacher.ckpt');
    const config = path.join(tmp, 'student.json');
    fs.writeFileSync(config, JSON.stringify({ method: 'sgts', teacher, steps: 4, iterations: 4 }));
    const r = await run('run', config, '--out', path.join(tmp, 'student'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`teacher: expected a teacher checkpoint, file not found: ${teacher}; make it with`);
    expect(r.err).toContain(`\`phased-dmd run <teacher config> --out ${path.dirname(teacher)}\``);
    expect(r.err).toContain(`\`phased-dmd train --data <x.npy> --method teacher --out ${path.dirname(teacher)}\``);
    expect(fs.existsSync(path.join(tmp, 'student', 'student.ckpt'))).toBe(false);
  });

  it("the examples' teacher path points at the example teacher config (its default run directory)", () => {
    expect(makeTeacherHint('runs/teacher-ring8/teacher.ckpt')).toBe(
      'make it with `phased-dmd run pipelines/configs/teacher-ring8.json`',
    );
    expect(makeTeacherHint('elsewhere/teacher-ring8/teacher.ckpt')).toBe(
      'make it with `phased-dmd run pipelines/configs/teacher-ring8.json --out elsewhere/teacher-ring8`',
    );
  });

  it('a checkpoint named otherwise: where the commands write it', () => {
    expect(makeTeacherHint('x/mine.ckpt')).toMatch(/\(they write x\/teacher\.ckpt: point "teacher" there\)$/);
  });
});

it(
  'eval --labels without --classifier says what it computes and what needs the classifier; stdout ' + 'stays JSON',
  async () => {
    const n = 40;
    const x = Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i * 1.7));
    writeNpy(path.join(tmp, 'a.npy'), x, [n, 2]);
    writeNpy(
      path.join(tmp, 'b.npy'),
      x.map((v) => v * 0.9),
      [n, 2],
    );
    writeNpy(
      path.join(tmp, 'y.npy'),
      Int32Array.from({ length: n }, (_, i) => i % 4),
      [n],
    );
    const r = await run(
      'eval',
      '--samples',
      path.join(tmp, 'a.npy'),
      '--reference',
      path.join(tmp, 'b.npy'),
      '--labels',
      path.join(tmp, 'y.npy'),
      '--mixture',
      'ring8',
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      new RegExp(
        /^eval: --labels without --classifier: the labels are checked but not used\. Computed: distances /.source +
          /.*, mode coverage\. Not computed: per-class diversity and class accuracy, which need --classifier/.source,
      ),
    );
    const json = JSON.parse(r.out);
    expect(json.distances).toBeDefined();
    expect(json.mixture).toBeDefined();
    expect(json.classAccuracy).toBeUndefined();
    expect(json.diversity).toBeUndefined();
    // without --labels nothing is said
    expect((await run('eval', '--samples', path.join(tmp, 'a.npy'), '--reference', path.join(tmp, 'b.npy'))).err).toBe(
      '',
    );
  },
);

it('serve --help gives the default port', async () => {
  const r = await run('serve', '--help');
  expect(r.out).toMatch(/--port <n> +port to listen on \(default 8765; 0 = any free port\)/);
});

it('train --help gives the image defaults and what they cost', async () => {
  const r = await run('train', '--help');
  expect(r.out.replace(/\s+/g, ' ')).toContain(
    'images → a U-Net teacher (1500 steps of 64) and students of 300 iterations of 32',
  );
});
