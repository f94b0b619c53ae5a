/**
 * .npy read/write: round trips, every readable dtype and header version, every
 * malformed case refused with the path and what was expected, the Dataset built from
 * user files, and a cross-check with Python numpy when it is installed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { encodeNpy, parseNpy, readNpy, writeNpy, npyToFloat32, loadNpyDataset } from '../../lib/data/npy';
import { loadDataset, DataError } from '../../lib/data/config';
import { rangeScaling } from '../../lib/data/scaling';

const leftMessage = <A>(r: E.Either<DataError, A>): string => {
  if (E.isRight(r)) throw new Error('expected a DataError');
  expect(r.left).toBeInstanceOf(DataError);
  return r.left.message;
};

/** A hand-built .npy file: any descr, header text, version. */
const npyBytes = (
  descr: string,
  shape: string,
  payload: Uint8Array,
  opts: { version?: number; fortran?: string; header?: string } = {},
): Uint8Array => {
  const version = opts.version ?? 1;
  const prefix = version === 1 ? 10 : 12;
  let header = opts.header ?? `{'descr': '${descr}', 'fortran_order': ${opts.fortran ?? 'False'}, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(prefix + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), prefix);
  out.set(payload, prefix + header.length);
  return out;
};
const le = (arr: ArrayBufferView): Uint8Array => new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'npy-spec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('writeNpy / readNpy', () => {
  it.each([
    ['float32 [N, D]', new Float32Array([1.5, -2, 3.25, 0, 1e-8, -7]), [3, 2]],
    ['int32 [N]', new Int32Array([3, 0, 9, -4]), [4]],
    ['float32 [N, H, W, C]', Float32Array.from({ length: 2 * 3 * 3 * 2 }, (_, i) => i / 7), [2, 3, 3, 2]],
  ])('round-trips %s atomically, header padded to 64 bytes', (_what, data, shape) => {
    const f = path.join(dir, 'sub', `rt-${shape.length}.npy`);
    writeNpy(f, data, shape);
    const bytes = fs.readFileSync(f);
    expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
    const r = readNpy(f);
    if (E.isLeft(r)) throw r.left;
    expect(r.right.shape).toEqual(shape);
    expect(r.right.dtype).toBe(data instanceof Float32Array ? 'float32' : 'int32');
    expect(Array.from(npyToFloat32(r.right))).toEqual(Array.from(data));
    expect(fs.readdirSync(path.dirname(f)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to write data that does not fill its shape', () => {
    expect(() => writeNpy(path.join(dir, 'x.npy'), new Float32Array(5), [2, 3])).toThrow(
      /shape \[2, 3\] needs 6 values, got 5/,
    );
    expect(() => encodeNpy(new Float32Array(0), [-1])).toThrow(/shape \[-1\] must hold non-negative integers/);
  });

  it('reads float64, int64 and uint8 as float32, and version 2 and 3 headers', () => {
    const f64 = parseNpy(npyBytes('<f8', '(2,)', le(new Float64Array([0.5, -1.25]))), 'a');
    const i64 = parseNpy(npyBytes('<i8', '(3,)', le(new BigInt64Array([1n, -2n, 3n])), { version: 2 }), 'b');
    const u8 = parseNpy(npyBytes('|u1', '(2, 2)', Uint8Array.from([0, 1, 254, 255]), { version: 3 }), 'c');
    for (const r of [f64, i64, u8]) if (E.isLeft(r)) throw r.left;
    const values = [f64, i64, u8].map((r) => (E.isRight(r) ? Array.from(npyToFloat32(r.right)) : []));
    expect(values).toEqual([
      [0.5, -1.25],
      [1, -2, 3],
      [0, 1, 254, 255],
    ]);
    // an unaligned start (header length not a multiple of 8) is copied, not viewed
    const odd = npyBytes('<f8', '(1,)', le(new Float64Array([2.5])), {
      header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
    });
    const shifted = new Uint8Array(odd.length + 1).subarray(1);
    shifted.set(odd);
    const r = parseNpy(shifted, 'd');
    expect(E.isRight(r) && Array.from(npyToFloat32(r.right))).toEqual([2.5]);
  });

  it('reads float16 data, as --help promises any float dtype: normals, subnormals, ±0, ±Infinity exactly', () => {
    // half bits: 1, -2, 0.5, 65504 (largest), 2⁻²⁴ (smallest subnormal), -0, Infinity
    const halves = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00]);
    const r = parseNpy(npyBytes('<f2', '(7,)', new Uint8Array(halves.buffer)), 'h.npy');
    if (E.isLeft(r)) throw r.left;
    expect(r.right.dtype).toBe('float16');
    expect(Array.from(npyToFloat32(r.right))).toEqual([1, -2, 0.5, 65504, 2 ** -24, -0, Infinity]);
  });

  const f4 = le(new Float32Array([1, 2, 3, 4]));
  it.each([
    [
      'bad magic',
      Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x58, 1, 0, 0, 0]),
      /f\.npy: not a \.npy file: expected the magic string/,
    ],
    ['a too-short file', Uint8Array.from([0x93, 0x4e]), /not a \.npy file/],
    [
      'an unknown version',
      (() => {
        const b = npyBytes('<f4', '(4,)', f4);
        b[6] = 9;
        return b;
      })(),
      /unsupported \.npy format version 9\.0; expected 1\.0, 2\.0 or 3\.0/,
    ],
    [
      'a truncated header',
      npyBytes('<f4', '(4,)', f4).subarray(0, 40),
      /truncated \.npy header: expected \d+ header bytes, got 30/,
    ],
    [
      'a header without shape',
      npyBytes('<f4', '', f4, { header: "{'descr': '<f4', 'fortran_order': False, }" }),
      /malformed \.npy header \(no 'shape'\)/,
    ],
    [
      'a non-integer shape',
      npyBytes('<f4', '(2.5, 2)', f4),
      /malformed \.npy header \(shape \(2\.5, 2\) is not a tuple of non-negative integers\)/,
    ],
    [
      'an unsupported dtype',
      npyBytes('<c8', '(2,)', f4),
      /unsupported dtype '<c8'; expected little-endian float16 \('<f2'\), float32 \('<f4'\)/,
    ],
    ['big-endian data', npyBytes('>f4', '(4,)', f4), /unsupported big-endian data; expected little-endian/],
    ['an object array', npyBytes('|O', '(4,)', f4), /unsupported dtype '\|O'/],
    [
      'fortran order',
      npyBytes('<f4', '(2, 2)', f4, { fortran: 'True' }),
      /fortran_order arrays are not supported; expected C order/,
    ],
    [
      'truncated data',
      npyBytes('<f4', '(2, 3)', f4),
      /truncated \.npy data: shape \[2, 3\] of float32 needs 24 bytes, got 16/,
    ],
    ['trailing data', npyBytes('<f4', '(3,)', f4), /shape \[3\] of float32 needs 12 bytes, but 4 extra bytes follow/],
  ])('refuses %s', (_what, bytes, message) => {
    expect(leftMessage(parseNpy(bytes, 'f.npy'))).toMatch(message);
  });

  it('names a missing file', () => {
    const f = path.join(dir, 'absent.npy');
    expect(leftMessage(readNpy(f))).toBe(`${f}: file not found`);
  });
});

describe('loadNpyDataset', () => {
  const put = (name: string, bytes: Uint8Array): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  it(
    'serves [N, D] samples with labels [N] (numClasses = max + 1), deterministically per seed, via data.kind ' +
      '"npy"',
    () => {
      const x = path.join(dir, 'x.npy');
      const y = path.join(dir, 'y.npy');
      writeNpy(
        x,
        Float32Array.from({ length: 5 * 3 }, (_, i) => i),
        [5, 3],
      );
      writeNpy(y, new Int32Array([0, 2, 1, 2, 0]), [5]);
      const r = loadDataset({ kind: 'npy', path: x, labels: y });
      if (E.isLeft(r)) throw r.left;
      expect([r.right.size, r.right.sampleShape, r.right.numClasses]).toEqual([5, [3], 3]);
      const a = r.right.sample(8, 3);
      const b = r.right.sample(8, 3);
      expect(a.x0.shape).toEqual([8, 3]);
      expect(Array.from(a.x0.dataSync())).toEqual(Array.from(b.x0.dataSync()));
      // each row is a stored row with its own label
      const rows = a.x0.arraySync() as number[][];
      const labels = Array.from(a.labels!.dataSync());
      rows.forEach((row, k) => {
        const i = row[0] / 3;
        expect(row).toEqual([3 * i, 3 * i + 1, 3 * i + 2]);
        expect(labels[k]).toBe([0, 2, 1, 2, 0][i]);
      });
      tf.dispose([a.x0, a.labels!, b.x0, b.labels!]);
    },
  );

  it('serves [N, H, W, C] images unlabelled, and int64 / float64 inputs as numpy writes them by default', () => {
    const x = put('img.npy', npyBytes('<f8', '(2, 2, 2, 1)', le(Float64Array.from({ length: 8 }, (_, i) => i / 8))));
    const y = put('img-labels.npy', npyBytes('<i8', '(2,)', le(new BigInt64Array([1n, 0n]))));
    const plain = loadNpyDataset(x);
    if (E.isLeft(plain)) throw plain.left;
    expect([plain.right.sampleShape, plain.right.numClasses]).toEqual([[2, 2, 1], 0]);
    const b = plain.right.gather([1]);
    expect(b.labels).toBeNull();
    expect(Array.from(b.x0.dataSync())).toEqual([0.5, 0.625, 0.75, 0.875]);
    const labelled = loadNpyDataset(x, { labels: y });
    expect(E.isRight(labelled) && labelled.right.numClasses).toBe(2);
    b.x0.dispose();
  });

  it(
    'maps uint8 images onto [−1, 1] and says so (dataset.scaling); --normalise standardises; floats in [0, 255] ' +
      'are warned about',
    () => {
      const x = path.join(dir, 'u8.npy');
      writeNpy(x, Uint8Array.from([0, 255, 51, 102]), [1, 2, 2, 1]);
      const d = loadNpyDataset(x);
      if (E.isLeft(d)) throw d.left;
      expect(d.right.scaling).toEqual(rangeScaling(8));
      expect(d.right.notes).toEqual([]);
      const b = d.right.gather([0]);
      expect(Array.from(b.x0.dataSync())).toEqual([-1, 1, 51 / 127.5 - 1, 102 / 127.5 - 1].map(Math.fround));
      b.x0.dispose();
      expect(readNpy(x)).toMatchObject({ right: { dtype: 'uint8', shape: [1, 2, 2, 1] } });

      const z = loadNpyDataset(x, { normalise: true });
      expect(E.isRight(z) && z.right.scaling?.mapping).toBe('standardise');

      const f = path.join(dir, 'pixels-as-floats.npy');
      writeNpy(f, Float32Array.from([0, 255, 51, 102]), [1, 2, 2, 1]);
      const fl = loadNpyDataset(f);
      expect(E.isRight(fl) && fl.right.scaling?.mapping).toBe('none');
      expect(E.isRight(fl) && fl.right.notes).toEqual([
        expect.stringMatching(/pixels-as-floats\.npy: float data used as given, but its values lie in \[0, 255\]/),
      ]);
    },
  );

  it.each([
    ['a missing data file', () => loadNpyDataset(path.join(dir, 'none.npy')), /none\.npy: file not found/],
    [
      'data of rank 3',
      () => loadNpyDataset(put('r3.npy', npyBytes('<f4', '(1, 2, 2)', le(new Float32Array(4))))),
      /r3\.npy: expected data of shape \[N, D\] or \[N, H, W, C\], got \[1, 2, 2\]/,
    ],
    [
      'zero samples',
      () => loadNpyDataset(put('empty.npy', npyBytes('<f4', '(0, 3)', new Uint8Array(0)))),
      /empty\.npy: expected at least one sample/,
    ],
    [
      'a NaN',
      () => loadNpyDataset(put('nan.npy', npyBytes('<f4', '(2, 2)', le(new Float32Array([0, 1, NaN, 2]))))),
      /nan\.npy: value 2 \(sample 1\) is NaN, expected finite numbers/,
    ],
    [
      'an N mismatch',
      () => {
        const x = path.join(dir, 'n.npy');
        writeNpy(x, new Float32Array(6), [3, 2]);
        return loadNpyDataset(x, { labels: put('n-l.npy', npyBytes('<i4', '(2,)', le(new Int32Array([0, 1])))) });
      },
      /n-l\.npy: expected labels of shape \[3\] \(one per sample in .*n\.npy\), got \[2\]/,
    ],
    [
      'non-integer labels',
      () => {
        const x = path.join(dir, 'm.npy');
        writeNpy(x, new Float32Array(4), [2, 2]);
        return loadNpyDataset(x, { labels: put('m-l.npy', npyBytes('<f4', '(2,)', le(new Float32Array([0, 1.5])))) });
      },
      /m-l\.npy: label 1 is 1\.5, expected a non-negative integer class id/,
    ],
    [
      'negative labels',
      () => {
        const x = path.join(dir, 'k.npy');
        writeNpy(x, new Float32Array(4), [2, 2]);
        return loadNpyDataset(x, { labels: put('k-l.npy', npyBytes('<i4', '(2,)', le(new Int32Array([0, -1])))) });
      },
      /k-l\.npy: label 1 is -1/,
    ],
  ])('refuses %s', (_what, load, message) => {
    expect(leftMessage(load())).toMatch(message);
  });
});

const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasNumpy) console.warn('npy.spec: Python numpy is not available; skipping the numpy cross-check');

describe('numpy cross-check', () => {
  (hasNumpy ? it : it.skip)(
    'numpy reads what we write, and we read what numpy writes (skipped without python3 numpy)',
    () => {
      const ours = path.join(dir, 'ours.npy');
      writeNpy(
        ours,
        Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1),
        [2, 3, 2],
      );
      writeNpy(path.join(dir, 'ours-i.npy'), new Int32Array([5, -6, 7]), [3]);
      const theirs = path.join(dir, 'theirs.npy');
      const script = [
        'import numpy as np, sys, json',
        `a = np.load(${JSON.stringify(ours)}); b = np.load(${JSON.stringify(path.join(dir, 'ours-i.npy'))})`,
        `np.save(${JSON.stringify(theirs)}, np.arange(6, dtype=np.float64).reshape(3, 2) / 4)`,
        'print(json.dumps({"shape": a.shape, "dtype": str(a.dtype), "values": a.ravel().tolist(), "ints": ' +
          'b.tolist(), "idtype": str(b.dtype)}))',
      ].join('\n');
      const out = JSON.parse(execFileSync('python3', ['-c', script]).toString());
      expect(out).toEqual({
        shape: [2, 3, 2],
        dtype: 'float32',
        values: Array.from({ length: 12 }, (_, i) => i * 0.5 - 1),
        ints: [5, -6, 7],
        idtype: 'int32',
      });
      const r = readNpy(theirs);
      if (E.isLeft(r)) throw r.left;
      expect([r.right.dtype, r.right.shape, Array.from(npyToFloat32(r.right))]).toEqual([
        'float64',
        [3, 2],
        [0, 0.25, 0.5, 0.75, 1, 1.25],
      ]);
    },
  );
});
