/**
 * examples/byo-teacher.ts: teacher weights written outside phased-dmd (numpy here, as
 * examples/torch_teacher.py writes them from PyTorch) load into the matching architecture
 * and distil into a student that samples and exports.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { main } from '../../examples/byo-teacher';
import { buildModel } from '../../lib/models/build';
import { useBackend } from '../../lib/backend';
import { loadPortableCheckpoint } from '../../lib/portable/files';
import { openPortable } from '../../lib/portable/open';
import { MLP } from '../portable/fixtures';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdmd-byo-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a teacher from numpy-written safetensors distils into a student', async () => {
  // weights as another framework would hold them: plain arrays by parameter name
  const model = buildModel(MLP);
  const arrays = Object.fromEntries(
    model.params.read().map((t) => [t.name, { shape: t.shape, values: Array.from(t.values) }]),
  );
  model.dispose();
  const json = path.join(dir, 'weights.json');
  fs.writeFileSync(json, JSON.stringify(arrays));
  const weights = path.join(dir, 'teacher.safetensors');
  const py = spawnSync(
    'python3',
    [
      '-c',
      [
        'import json, sys, numpy as np',
        `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})`,
        'from phased_dmd_io import write_safetensors',
        `w = json.load(open(${JSON.stringify(json)}))`,
        'arrays = {k: np.array(v["values"], dtype=np.float32).reshape(v["shape"]) for k, v in w.items()}',
        `write_safetensors(${JSON.stringify(weights)}, arrays, {"source": "numpy"})`,
      ].join('\n'),
    ],
    { encoding: 'utf8' },
  );
  expect(py.stderr).toBe('');

  const before = tf.memory().numTensors;
  const student = await main(weights, path.join(dir, 'run'), {
    iterations: 4,
    architecture: MLP,
    log: () => undefined,
  });
  expect(tf.memory().numTensors).toBe(before);
  const portable = loadPortableCheckpoint(student);
  if (E.isLeft(portable)) throw portable.left;
  expect(portable.right.description.method).toBe('phased');
  expect(portable.right.description.grids).toHaveLength(2);
  const opened = openPortable(portable.right.description, portable.right.tensors);
  if (E.isLeft(opened)) throw opened.left;
  const s = opened.right.sample({ n: 32, seed: 1 });
  expect(s.x.shape).toEqual([32, 2]);
  expect(Array.from(s.x.dataSync()).every(Number.isFinite)).toBe(true);
  tf.dispose([s.x, s.labels!]);
  opened.right.dispose();
});

test('weights that do not match the architecture are refused by name', async () => {
  const weights = path.join(dir, 'teacher.safetensors');
  await expect(main(weights, path.join(dir, 'wrong'), { iterations: 2, log: () => undefined })).rejects.toThrow(
    /teacher\.safetensors\.dense0\.W: expected shape \[34,256\], got \[10,32\]/,
  );
  expect(fs.existsSync(path.join(dir, 'wrong'))).toBe(false);
});
