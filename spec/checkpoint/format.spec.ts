/**
 * Checkpoints (lib/checkpoint/format.ts, lib/optim/adamState.ts): bit-exact round trips,
 * atomic writes, corrupt files refused with the file's name, and a resumed run that
 * equals the uninterrupted one bit for bit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import {
  saveCheckpoint,
  loadCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  CheckpointData,
  CheckpointError,
  tensorsUnder,
  withPrefix,
} from '../../lib/checkpoint/format';
import { encodeSafetensors } from '../../lib/checkpoint/safetensors';
import { captureAdamState, restoreAdamState } from '../../lib/optim/adamState';
import { fusedAdam } from '../../lib/optim/fusedAdam';
import { decodeOrThrow } from '../../lib/config/report';
import {
  TeacherConfig,
  resolveTeacherConfig,
  openTeacherRun,
  teacherSteps,
  saveTeacher,
} from '../../lib/teacher/teacher';

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdmd-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A version 1 file, as the previous release wrote it. */
const encodeVersion1 = (data: CheckpointData): Buffer => {
  let offset = 0;
  const tensors = data.tensors.map((t) => {
    const e = { name: t.name, dtype: 'float32', shape: t.shape, offset, length: t.values.length };
    offset += t.values.length * 4;
    return e;
  });
  const bytesOf = (t: { values: Float32Array }): Buffer =>
    Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
  const payload = Buffer.concat(data.tensors.map(bytesOf));
  const index = JSON.stringify({ meta: data.meta, tensors });
  const sha256 = createHash('sha256').update(index).update(payload).digest('hex');
  const header = JSON.stringify({
    format: 'phased-dmd-checkpoint',
    version: 1,
    payloadBytes: payload.length,
    sha256,
    index: JSON.parse(index),
  });
  return Buffer.concat([Buffer.from(`${header}\n`), payload]);
};

const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

const sample = (): CheckpointData => ({
  meta: {
    kind: 'test',
    step: 42,
    config: { lr: 1e-3, betas: [0.9, 0.999], name: 'ring8 ✓' },
    nested: { list: [1, null, 'x'] },
  },
  tensors: [
    // odd lengths so that tensors do not start on 8-byte boundaries; special values must survive
    { name: 'a/W', shape: [3], values: Float32Array.from([1.5, -0, Number.NaN]) },
    { name: 'a/b', shape: [1, 1], values: Float32Array.from([Number.POSITIVE_INFINITY]) },
    {
      name: 'c',
      shape: [2, 3],
      values: Float32Array.from([1e-45, -3.4028234663852886e38, 0.1, 2 / 3, -7, 123456.789]),
    },
    { name: 'empty', shape: [0], values: new Float32Array(0) },
  ],
});

const expectError = (r: E.Either<CheckpointError, CheckpointData>, file: string, fragment: string): void => {
  if (E.isRight(r)) throw new Error(`expected ${file} to be refused`);
  expect(r.left).toBeInstanceOf(CheckpointError);
  expect(r.left.message).toContain(file);
  expect(r.left.message).toContain(fragment);
};

describe('checkpoint format', () => {
  it('round-trips tensors bit for bit, with names, shapes and meta', () => {
    const file = path.join(dir, 'roundtrip.ckpt');
    const data = sample();
    saveCheckpoint(file, data);
    const loaded = loadCheckpoint(file);
    if (E.isLeft(loaded)) throw loaded.left;
    expect(loaded.right.meta).toEqual(data.meta);
    expect(loaded.right.tensors.map((t) => [t.name, t.shape])).toEqual(data.tensors.map((t) => [t.name, t.shape]));
    loaded.right.tensors.forEach((t, i) => expect(bits(t.values)).toEqual(bits(data.tensors[i].values)));
  });

  it('writes atomically: no temp file is left, an overwrite replaces the file whole', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'atomic-'));
    const file = path.join(sub, 'model.ckpt');
    saveCheckpoint(file, sample());
    saveCheckpoint(file, { meta: { step: 2 }, tensors: [{ name: 'x', shape: [1], values: Float32Array.from([2]) }] });
    expect(fs.readdirSync(sub)).toEqual(['model.ckpt']);
    const loaded = loadCheckpoint(file);
    expect(E.isRight(loaded) && loaded.right.meta).toEqual({ step: 2 });
    // a missing directory is created
    const deep = path.join(sub, 'a', 'b', 'c.ckpt');
    saveCheckpoint(deep, sample());
    expect(fs.existsSync(deep)).toBe(true);
  });

  it('refuses a missing file', () => {
    const file = path.join(dir, 'nope.ckpt');
    expectError(loadCheckpoint(file), file, 'file not found');
  });

  it('is a safetensors file: 8-byte little-endian header length, JSON header, then the tensor bytes', () => {
    const bytes = encodeCheckpoint(sample());
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header.__metadata__.format).toBe('phased-dmd-checkpoint');
    expect(header.__metadata__.format_version).toBe('2');
    expect(header.__metadata__.sha256).toMatch(/^[0-9a-f]{64}$/);
    // the run's meta: one string per key, each JSON text
    expect(Object.values(header.__metadata__).every((v) => typeof v === 'string')).toBe(true);
    expect(JSON.parse(header.__metadata__.config)).toEqual(sample().meta.config);
    expect(header.c).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [16, 40] });
    const c = sample().tensors[2].values;
    const start = 8 + n + 16;
    expect(bits(new Float32Array(new Uint8Array(bytes.subarray(start, start + 24)).buffer))).toEqual(bits(c));
    expect(bytes.length).toBe(8 + n + 40);
  });

  it('refuses a truncated file (data cut, or cut inside the header)', () => {
    const bytes = encodeCheckpoint(sample());
    const cut = path.join(dir, 'cut.ckpt');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
    expectError(loadCheckpoint(cut), cut, 'truncated or padded');
    const header = path.join(dir, 'header-cut.ckpt');
    fs.writeFileSync(header, bytes.subarray(0, 40));
    expectError(loadCheckpoint(header), header, 'does not fit the file');
    const empty = path.join(dir, 'empty.ckpt');
    fs.writeFileSync(empty, '');
    expectError(loadCheckpoint(empty), empty, 'empty file');
  });

  it('refuses a flipped byte in the data or in the header', () => {
    const bytes = encodeCheckpoint(sample());
    const inPayload = Buffer.from(bytes);
    inPayload[inPayload.length - 3] ^= 0x10;
    expectError(decodeCheckpoint('p.ckpt', inPayload), 'p.ckpt', 'checksum mismatch');
    // the meta's step 42 → 43: still valid JSON, so only the checksum can tell
    const inHeader = Buffer.from(bytes.toString('latin1').replace('"step":"42"', '"step":"43"'), 'latin1');
    expect(inHeader.length).toBe(bytes.length);
    expect(inHeader.equals(bytes)).toBe(false);
    expectError(decodeCheckpoint('h.ckpt', inHeader), 'h.ckpt', 'checksum mismatch');
    // a byte flip that breaks the JSON
    const broken = Buffer.from(bytes);
    broken[9] ^= 0x01;
    expectError(decodeCheckpoint('j.ckpt', broken), 'j.ckpt', 'header is not valid JSON');
  });

  it('refuses a file of another format or version', () => {
    const other = path.join(dir, 'other.safetensors');
    const foreign = encodeSafetensors({ metadata: { format: 'pt' }, tensors: sample().tensors.slice(0, 1) });
    fs.writeFileSync(other, foreign);
    expectError(loadCheckpoint(other), other, '__metadata__.format: expected "phased-dmd-checkpoint", got "pt"');
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello\nworld\n');
    expectError(loadCheckpoint(text), text, 'not a checkpoint: the file is corrupt or of another kind');
    const bytes = encodeCheckpoint(sample()).toString('latin1').replace('"format_version":"2"', '"format_version":"9"');
    const v9 = Buffer.from(bytes, 'latin1');
    expectError(decodeCheckpoint('v.ckpt', v9), 'v.ckpt', '__metadata__.format_version: expected "2", got "9"');
  });

  it('still reads version 1 files (a JSON header line, then float32 data) and refuses damaged ones', () => {
    const data = sample();
    const v1 = encodeVersion1(data);
    const loaded = decodeCheckpoint('old.ckpt', v1);
    if (E.isLeft(loaded)) throw loaded.left;
    expect(loaded.right.meta).toEqual(data.meta);
    loaded.right.tensors.forEach((t, i) => expect(bits(t.values)).toEqual(bits(data.tensors[i].values)));
    const flipped = Buffer.from(v1);
    flipped[flipped.length - 3] ^= 0x10;
    const why = 'checksum mismatch: the file is corrupt (a format version 1 file)';
    expectError(decodeCheckpoint('old.ckpt', flipped), 'old.ckpt', why);
    const cut = v1.subarray(0, v1.length - 4);
    expectError(decodeCheckpoint('old.ckpt', cut), 'old.ckpt', 'truncated or padded');
  });

  it('prefixes group tensors by role', () => {
    const data: CheckpointData = {
      meta: {},
      tensors: [
        ...withPrefix('teacher/', sample().tensors.slice(0, 2)),
        ...withPrefix('opt/teacher/', sample().tensors.slice(2, 3)),
      ],
    };
    expect(data.tensors.map((t) => t.name)).toEqual(['teacher/a/W', 'teacher/a/b', 'opt/teacher/c']);
    expect(tensorsUnder(data, 'teacher/').map((t) => t.name)).toEqual(['a/W', 'a/b']);
    expect(tensorsUnder(data, 'opt/teacher/').map((t) => t.name)).toEqual(['c']);
  });
});

describe('optimiser state', () => {
  const variables = () => [
    tf.variable(tf.tensor1d([1, -2, 0.5])),
    tf.variable(
      tf.tensor2d([
        [0.3, 0.1],
        [2, -1],
      ]),
    ),
  ];
  const step = (opt: tf.Optimizer, vs: tf.Variable[]): void => {
    const { value, grads } = tf.variableGrads(
      () => tf.add(tf.sum(tf.square(tf.sin(vs[0]))), tf.sum(tf.square(vs[1]))) as tf.Scalar,
      vs,
    );
    opt.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  };
  const same = (a: tf.Variable[], b: tf.Variable[]) =>
    a.every((v, i) => bits(v.dataSync() as Float32Array).join() === bits(b[i].dataSync() as Float32Array).join());

  // the stock optimiser, and the fused one (one native kernel per variable, β powers mirrored on the host)
  const optimisers = {
    'tf.train.adam': () => tf.train.adam(0.01, 0.9, 0.999),
    fusedAdam: () => fusedAdam(0.01, 0.9, 0.999),
  };
  it.each([
    [1, 'tf.train.adam'],
    [30, 'tf.train.adam'],
    [30, 'fusedAdam'],
  ] as const)('after %i steps of %s, a restored optimiser takes the same next step bit for bit', (k, kind) => {
    const a = variables();
    const optA = optimisers[kind]();
    for (let i = 0; i < k; i++) step(optA, a);
    // through a file, as a resume would
    const file = path.join(dir, `adam-${kind}-${k}.ckpt`);
    const n0 = tf.memory().numTensors;
    const state = captureAdamState(optA);
    expect(tf.memory().numTensors).toBe(n0); // reading leaves nothing behind
    saveCheckpoint(file, {
      meta: {},
      tensors: [
        ...withPrefix(
          'w/',
          a.map((v, i) => ({ name: String(i), shape: v.shape.slice(), values: v.dataSync() as Float32Array })),
        ),
        ...withPrefix('opt/', state),
      ],
    });
    const loaded = loadCheckpoint(file);
    if (E.isLeft(loaded)) throw loaded.left;
    const b = tensorsUnder(loaded.right, 'w/').map((d) => tf.variable(tf.tensor(d.values, d.shape)));
    const optB = optimisers[kind]();
    const n1 = tf.memory().numTensors;
    restoreAdamState(optB, tensorsUnder(loaded.right, 'opt/'), b);
    expect(tf.memory().numTensors).toBe(n1 + 2 * a.length); // exactly the two moments per variable
    expect(same(a, b)).toBe(true);
    for (let i = 0; i < 3; i++) {
      step(optA, a);
      step(optB, b);
      expect(same(a, b)).toBe(true);
    }
    [optA, optB].forEach((o) => o.dispose());
    tf.dispose([...a, ...b]);
  });

  it('a resumed teacher run equals the uninterrupted run bit for bit (losses and weights)', async () => {
    const input = {
      method: 'teacher',
      data: { kind: 'mixture', name: 'ring8' },
      model: { kind: 'mlp', hidden: [32, 32], timeEmbedDim: 8 },
      steps: 12,
      batchSize: 32,
      seed: 5,
    };
    const config = resolveTeacherConfig(decodeOrThrow(TeacherConfig, input, 'teacher config'));
    // uninterrupted: steps 0…11, with a checkpoint written after step 5
    const full = openTeacherRun(config);
    const first = await lastValueFrom(teacherSteps(full, { ...config, steps: 6 }).pipe(toArray()));
    const file = path.join(dir, 'teacher-resume.ckpt');
    saveTeacher(file, {
      model: full.model,
      modelConfig: full.modelConfig,
      config,
      input,
      trainer: full.trainer,
      step: 6,
    });
    const rest = await lastValueFrom(teacherSteps(full, config, 6).pipe(toArray()));
    // resumed: a fresh run restored from the checkpoint, steps 6…11
    const loaded = loadCheckpoint(file);
    if (E.isLeft(loaded)) throw loaded.left;
    expect(loaded.right.meta.step).toBe(6);
    const resumed = openTeacherRun(config);
    resumed.model.params.write(tensorsUnder(loaded.right, 'teacher/'));
    restoreAdamState(resumed.trainer.optimizer, tensorsUnder(loaded.right, 'opt/teacher/'), resumed.trainer.variables);
    const again = await lastValueFrom(teacherSteps(resumed, config, 6).pipe(toArray()));
    expect(first.length + rest.length).toBe(12);
    expect(again.map((m) => m.key.step)).toEqual(rest.map((m) => m.key.step));
    expect(again.map((m) => m.loss)).toEqual(rest.map((m) => m.loss));
    const wA = full.model.params.read();
    const wB = resumed.model.params.read();
    wA.forEach((p, i) => expect(bits(wB[i].values)).toEqual(bits(p.values)));
    for (const r of [full, resumed]) {
      r.trainer.optimizer.dispose();
      r.model.dispose();
    }
  });
});
