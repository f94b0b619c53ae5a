/**
 * `phased-dmd export`: teacher and student checkpoints to safetensors and tfjs, read back
 * by the library (same samples as the checkpoint, bit for bit) and by numpy (same
 * tensors); broken input refused by name, nothing written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { runCli } from '../helpers/runCli';
import { useBackend } from '../../lib/backend';
import { loadModel } from '../../cli/models';
import { loadExport, readExport, teacherFromSafetensors, sampleKindOf } from '../../lib/portable/files';
import { loadCheckpoint, tensorsUnder } from '../../lib/checkpoint/format';
import { encodeSafetensors } from '../../lib/checkpoint/safetensors';
import { writeCheckpoints, MLP, TEACHER_SAMPLER } from './fixtures';
import type { ModelConfig } from '../../lib/models/config';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;
let ckpt: { teacher: string; student: string };

const run = runCli;

const bits = (x: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(x).buffer));

beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdmd-export-'));
  ckpt = writeCheckpoints(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('phased-dmd export', () => {
  for (const kind of ['teacher', 'student'] as const) {
    for (const format of ['safetensors', 'tfjs'] as const) {
      it(`a ${kind} as ${format} samples exactly as its checkpoint does`, async () => {
        const out = path.join(dir, `${kind}-${format}${format === 'safetensors' ? '.safetensors' : ''}`);
        const r = await run('export', '--model', ckpt[kind], '--format', format, '--out', out);
        expect(r.err).toContain(`exported the ${kind}`);
        expect(r.code).toBe(0);
        const before = tf.memory().numTensors;
        const opened = loadExport(out);
        if (E.isLeft(opened)) throw opened.left;
        expect(opened.right.description.kind).toBe(kind);
        expect(opened.right.description.model).toEqual(MLP);
        if (kind === 'teacher') expect(opened.right.description.sampler).toEqual(TEACHER_SAMPLER);
        else
          expect(opened.right.description.grids).toEqual([
            [1, 0.9, 0.6],
            [0.6, 0.3, 0],
          ]);
        const fromExport = opened.right.sample({ n: 64, seed: 5 });
        const fromCheckpoint = loadModel(ckpt[kind]);
        const reference = fromCheckpoint.sample(64, 5, undefined);
        expect(bits(fromExport.x.dataSync())).toEqual(bits(reference.values));
        expect(Array.from(fromExport.labels!.dataSync())).toEqual(Array.from(reference.labels!));
        tf.dispose([fromExport.x, fromExport.labels!]);
        opened.right.dispose();
        fromCheckpoint.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }

  it('numpy reads both formats: the same tensors, names and config (python/phased_dmd_io.py)', async () => {
    const st = path.join(dir, 'np-student.safetensors');
    const tfjsDir = path.join(dir, 'np-student');
    expect((await run('export', '--model', ckpt.student, '--format', 'safetensors', '--out', st)).code).toBe(0);
    expect((await run('export', '--model', ckpt.student, '--format', 'tfjs', '--out', tfjsDir)).code).toBe(0);
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})`,
      'from phased_dmd_io import read_safetensors, read_tfjs',
      `meta, a = read_safetensors(${JSON.stringify(st)})`,
      `desc, b = read_tfjs(${JSON.stringify(tfjsDir)})`,
      'assert sorted(a) == sorted(b), (sorted(a), sorted(b))',
      'assert all((a[k] == b[k]).all() for k in a)',
      'facts = {k: {"shape": list(v.shape), "sum": float(v.astype("float64").sum()), "first": float(v.flat[0])}',
      '         for k, v in a.items()}',
      'print(json.dumps({"meta": meta, "desc": desc, "tensors": facts}))',
    ].join('\n');
    const py = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    const got = JSON.parse(py.stdout) as {
      meta: Record<string, unknown>;
      desc: Record<string, unknown>;
      tensors: Record<string, { shape: number[]; sum: number; first: number }>;
    };
    expect(got.meta.format).toBe('phased-dmd-model');
    expect(got.meta.kind).toBe('student');
    expect(got.meta.grids).toEqual([
      [1, 0.9, 0.6],
      [0.6, 0.3, 0],
    ]);
    expect(got.desc.model).toEqual(MLP);
    const data = loadCheckpoint(ckpt.student);
    if (E.isLeft(data)) throw data.left;
    expect(Object.keys(got.tensors).sort()).toEqual(data.right.tensors.map((t) => t.name).sort());
    for (const t of data.right.tensors) {
      const sum = t.values.reduce((s, v) => s + v, 0);
      expect(got.tensors[t.name].shape).toEqual(t.shape);
      expect(got.tensors[t.name].first).toBe(t.values[0]);
      expect(got.tensors[t.name].sum).toBeCloseTo(sum, 3);
    }
  });

  it('numpy reads a training checkpoint too (it is safetensors), with the run meta as JSON', () => {
    const script = [
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})`,
      'from phased_dmd_io import read_safetensors',
      `m, t = read_safetensors(${JSON.stringify(ckpt.teacher)})`,
      'print(m["format"], m["kind"], m["config"]["sampler"]["guidance"], sorted(t)[0], t["teacher/out.W"].shape)',
    ].join('\n');
    const py = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe('phased-dmd-checkpoint teacher 2 teacher/classEmbedding (32, 2)');
  });

  it('a teacher from safetensors weights written elsewhere (numpy) is the same model', async () => {
    const data = loadCheckpoint(ckpt.teacher);
    if (E.isLeft(data)) throw data.left;
    const plain = path.join(dir, 'plain-teacher.safetensors');
    const script = [
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})`,
      'from phased_dmd_io import read_safetensors, write_safetensors',
      `m, t = read_safetensors(${JSON.stringify(ckpt.teacher)})`,
      'plain = {k[len("teacher/"):]: v for k, v in t.items()}',
      `write_safetensors(${JSON.stringify(plain)}, plain, {"source": "numpy"})`,
    ].join('\n');
    const py = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    const model = teacherFromSafetensors(plain, MLP);
    if (E.isLeft(model)) throw model.left;
    const expected = tensorsUnder(data.right, 'teacher/');
    const read = model.right.params.read();
    expect(read.map((t) => t.name).sort()).toEqual(expected.map((t) => t.name).sort());
    for (const t of read) expect(bits(t.values)).toEqual(bits(expected.find((e) => e.name === t.name)!.values));
    model.right.dispose();
    const wrong = teacherFromSafetensors(plain, { ...MLP, hidden: [16, 16] } as ModelConfig);
    expect(E.isLeft(wrong) && wrong.left.message).toMatch(
      /plain-teacher\.safetensors\.dense0\.W: expected shape \[10,16\], got \[10,32\]/,
    );
  });

  it('refuses bad input by name and writes nothing', async () => {
    const notCkpt = path.join(dir, 'notes.txt');
    fs.writeFileSync(notCkpt, 'hello');
    const out = path.join(dir, 'never');
    const r1 = await run('export', '--model', notCkpt, '--format', 'tfjs', '--out', out);
    expect(r1.code).toBe(1);
    expect(r1.err).toContain(notCkpt);
    const r2 = await run('export', '--model', ckpt.student, '--format', 'onnx', '--out', out);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain('--format');
    const r3 = await run(
      'export',
      '--model',
      ckpt.student,
      '--format',
      'safetensors',
      '--out',
      path.join(dir, 'x.bin'),
    );
    expect(r3.err).toContain('--out: expected a .safetensors file');
    const r4 = await run(
      'export',
      '--model',
      ckpt.student,
      '--format',
      'safetensors',
      '--page',
      '--out',
      path.join(dir, 'x.safetensors'),
    );
    expect(r4.err).toContain('--page: the web page loads tfjs exports');
    // a student whose expert tensors do not match its architecture
    const data = loadCheckpoint(ckpt.student);
    if (E.isLeft(data)) throw data.left;
    const broken = path.join(dir, 'broken-student.ckpt');
    const { saveCheckpoint } = await import('../../lib/checkpoint/format');
    saveCheckpoint(broken, {
      meta: data.right.meta,
      tensors: data.right.tensors.filter((t) => t.name !== 'expert1/out.b'),
    });
    const r5 = await run('export', '--model', broken, '--format', 'tfjs', '--out', out);
    expect(r5.code).toBe(1);
    expect(r5.err).toContain('expert1: missing parameter out.b');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('reading a damaged export names the file and the problem', () => {
    const foreign = path.join(dir, 'foreign.safetensors');
    fs.writeFileSync(
      foreign,
      encodeSafetensors({ metadata: {}, tensors: [{ name: 'w', shape: [1], values: Float32Array.from([1]) }] }),
    );
    const r = readExport(foreign);
    expect(E.isLeft(r) && r.left.message).toContain(`${foreign}: __metadata__.format: expected "phased-dmd-model"`);
    const tfjsDir = path.join(dir, 'student-tfjs');
    const cut = path.join(dir, 'cut-tfjs');
    fs.mkdirSync(cut);
    fs.copyFileSync(path.join(tfjsDir, 'model.json'), path.join(cut, 'model.json'));
    fs.writeFileSync(
      path.join(cut, 'weights.bin'),
      fs.readFileSync(path.join(tfjsDir, 'weights.bin')).subarray(0, 100),
    );
    const c = readExport(cut);
    expect(E.isLeft(c) && c.left.message).toMatch(/model\.json: weight .* runs past the end/);
  });

  it('names what samples are from the architecture', () => {
    expect(sampleKindOf(MLP)).toBe('points');
    expect(sampleKindOf({ kind: 'unet', size: 28, channels: 1 } as ModelConfig)).toBe('images');
    expect(sampleKindOf({ kind: 'mlp', dim: 8 } as ModelConfig)).toBe('vectors');
  });
});
