/**
 * NumPy `.npy` files: read (format versions 1–3, little-endian float16 / float32 / float64 /
 * int32 / int64 / uint8 / uint16, C order) and write (float32 / int32 / uint8 / uint16,
 * version 1, atomic), and a Dataset of user data: samples [N, D] or images [N, H, W, C],
 * optional int labels [N], scaled as lib/data/scaling.ts says.
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE in v1, uint32 LE in v2/v3),
 * a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }
 * padded with spaces and '\n' so the data starts on a 64-byte boundary, then the data.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { DataError } from './errors';
import { readDataFile } from './idx';
import { indexedDataset, IndexedDataset } from './indexed';
import { writeFileAtomic, writeFileAtomicWith } from '../util/atomicWrite';
import { chooseScaling, toModel, valueStats, StoredKind, DataScaling } from './scaling';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyDtype = 'float16' | 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'uint16';
const DESCRS: Record<string, NpyDtype> = {
  '<f2': 'float16',
  '<f4': 'float32',
  '<f8': 'float64',
  '<i4': 'int32',
  '<i8': 'int64',
  '|u1': 'uint8',
  '<u1': 'uint8',
  u1: 'uint8',
  '<u2': 'uint16',
};
const ITEM_BYTES: Record<NpyDtype, number> = {
  float16: 2,
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
};

/** IEEE 754 half → double: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals, ±Infinity and NaN kept. */
const halfToNumber = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
};

export interface NpyArray {
  readonly shape: readonly number[];
  readonly dtype: NpyDtype;
  /** The values in C order, in their stored type. */
  readonly values: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;
}

/** Parses the header dict; every field is required. */
const parseHeader = (
  header: string,
  file: string,
): E.Either<DataError, { descr: string; fortran: boolean; shape: number[] }> => {
  const fail = (what: string) =>
    E.left(new DataError(`${file}: malformed .npy header (${what}): ${JSON.stringify(header.trim().slice(0, 120))}`));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  if (descr === null) return fail("no 'descr'");
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (fortran === null) return fail("no 'fortran_order'");
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (shape === null) return fail("no 'shape'");
  const parts = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!parts.every((s) => /^\d+L?$/.test(s)))
    return fail(`shape (${shape[1]}) is not a tuple of non-negative integers`);
  return E.right({ descr: descr[1], fortran: fortran[1] === 'True', shape: parts.map((s) => parseInt(s, 10)) });
};

/** Parses a .npy byte buffer; `file` only names the source in errors. */
export const parseNpy = (bytes: Uint8Array, file: string): E.Either<DataError, NpyArray> => {
  const fail = (what: string) => E.left(new DataError(`${file}: ${what}`));
  if (bytes.length < 10 || !MAGIC.every((m, i) => bytes[i] === m))
    return fail('not a .npy file: expected the magic string "\\x93NUMPY" at the start');
  const major = bytes[6];
  if (major < 1 || major > 3)
    return fail(`unsupported .npy format version ${major}.${bytes[7]}; expected 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) return fail('truncated .npy header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (bytes.length < dataStart)
    return fail(`truncated .npy header: expected ${headerLen} header bytes, got ${bytes.length - 8 - lenBytes}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataStart));
  return pipe(
    parseHeader(header, file),
    E.chain(({ descr, fortran, shape }) => {
      const dtype = DESCRS[descr];
      if (dtype === undefined) {
        const why = descr.startsWith('>') ? 'big-endian data' : `dtype '${descr}'`;
        const known =
          "float16 ('<f2'), float32 ('<f4'), float64 ('<f8'), int32 ('<i4'), int64 ('<i8'), uint8 ('|u1') or uint16 " +
          "('<u2')";
        return fail(`unsupported ${why}; expected little-endian ${known}`);
      }
      if (fortran && shape.length > 1)
        return fail('fortran_order arrays are not supported; expected C order (save np.ascontiguousarray(x))');
      const count = shape.reduce((a, b) => a * b, 1);
      const need = count * ITEM_BYTES[dtype];
      const got = bytes.length - dataStart;
      if (got < need)
        return fail(`truncated .npy data: shape [${shape.join(', ')}] of ${dtype} needs ${need} bytes, got ${got}`);
      if (got > need)
        return fail(
          `malformed .npy data: shape [${shape.join(', ')}] of ${dtype} needs ${need} bytes, but ${got - need} ` +
            `extra bytes follow`,
        );
      // slice copies into a fresh, aligned buffer (the header need not leave the data 8-byte aligned)
      const buf = bytes.slice(dataStart, dataStart + need).buffer;
      const values =
        dtype === 'float16'
          ? Float32Array.from(new Uint16Array(buf), halfToNumber)
          : dtype === 'float32'
            ? new Float32Array(buf)
            : dtype === 'float64'
              ? new Float64Array(buf)
              : dtype === 'int32'
                ? new Int32Array(buf)
                : dtype === 'int64'
                  ? new BigInt64Array(buf)
                  : dtype === 'uint16'
                    ? new Uint16Array(buf)
                    : new Uint8Array(buf);
      return E.right({ shape, dtype, values });
    }),
  );
};

export const readNpy = (file: string): E.Either<DataError, NpyArray> =>
  E.chain((b: Uint8Array) => parseNpy(b, file))(readDataFile(file));

/** The values as float32 (int64 via Number). */
export const npyToFloat32 = (a: NpyArray): Float32Array =>
  a.values instanceof Float32Array
    ? a.values
    : a.values instanceof BigInt64Array
      ? Float32Array.from(a.values, (v) => Number(v))
      : Float32Array.from(a.values);

/** The values as int32 labels: every value must be an integer in [0, 2³¹). */
export const npyToLabels = (a: NpyArray, file: string): E.Either<DataError, Int32Array> => {
  const out = new Int32Array(a.values.length);
  for (let i = 0; i < a.values.length; i++) {
    const v = Number(a.values[i]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)
      return E.left(new DataError(`${file}: label ${i} is ${v}, expected a non-negative integer class id`));
    out[i] = v;
  }
  return E.right(out);
};

/** What encodeNpy writes: float32, int32, uint8 or uint16 values. */
export type NpyWritable = Float32Array | Int32Array | Uint8Array | Uint16Array;

const descrOf = (data: NpyWritable): string =>
  data instanceof Float32Array
    ? '<f4'
    : data instanceof Int32Array
      ? '<i4'
      : data instanceof Uint16Array
        ? '<u2'
        : '|u1';

/** Encodes a C-order array as .npy (format 1.0, header padded to 64 bytes). */
export const encodeNpy = (data: NpyWritable, shape: readonly number[]): Uint8Array => {
  const header = encodeNpyHeader(descrOf(data), shape);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] needs ${count} values, got ${data.length}`);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
};

/** The .npy header (magic, version, padded dict) of a C-order array of numpy type `descr`. */
export const encodeNpyHeader = (descr: string, shape: readonly number[]): Uint8Array => {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] must hold non-negative integers`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const major = 10 + header.length + 1 <= 0xffff ? 1 : 2;
  const prefix = major === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(prefix + header.length);
  out.set(MAGIC);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  return out;
};

/** Writes a .npy file atomically (temp file, fsync, rename). */
export const writeNpy = (file: string, data: NpyWritable, shape: readonly number[]): void =>
  writeFileAtomic(file, encodeNpy(data, shape));

const storedKind = (dtype: NpyDtype): StoredKind =>
  dtype === 'uint8'
    ? 'uint8'
    : dtype === 'uint16'
      ? 'uint16'
      : dtype === 'int32' || dtype === 'int64'
        ? 'int'
        : 'float';

/** Writes a .npy file atomically from row chunks (never the whole array in memory); the chunks must fill `shape`. */
export const writeNpyChunks = (
  file: string,
  dtype: 'float32' | 'int32',
  shape: readonly number[],
  chunks: Iterable<Float32Array | Int32Array>,
): void =>
  writeFileAtomicWith(file, (write) => {
    const count = shape.reduce((a, b) => a * b, 1);
    let got = 0;
    write(encodeNpyHeader(dtype === 'float32' ? '<f4' : '<i4', shape));
    for (const c of chunks) {
      write(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
      got += c.length;
    }
    if (got !== count)
      throw new Error(`writeNpyChunks: shape [${shape.join(', ')}] needs ${count} values, the chunks held ${got}`);
  });

/**
 * An array's values in the model's scale by the default map (integer images onto [−1, 1],
 * everything else as given), with the map used: what `train` does without `--normalise`.
 */
export const npyToModel = (
  a: NpyArray,
  file: string,
): E.Either<DataError, { values: Float32Array; scaling: DataScaling }> => {
  const raw = npyToFloat32(a);
  const channels = a.shape.length > 1 ? a.shape[a.shape.length - 1] : 1;
  const input = { kind: storedKind(a.dtype), image: a.shape.length === 4, normalise: false, what: file };
  const choice = chooseScaling({ ...input, stats: valueStats(raw, channels) });
  if (E.isLeft(choice)) return E.left(new DataError(choice.left));
  const { scaling } = choice.right;
  return E.right({ values: scaling.mapping === 'none' ? raw : toModel(scaling, raw, channels), scaling });
};

export interface NpyDatasetOptions {
  /** Int labels [N] (numClasses = max label + 1). */
  readonly labels?: string;
  /** Standardise each channel instead of the default map (lib/data/scaling.ts). */
  readonly normalise?: boolean;
}

/**
 * User data as a Dataset: `path` holds samples [N, D] or images [N, H, W, C] of any
 * readable dtype, mapped to the model's scale by `chooseScaling` (integer images onto
 * [−1, 1], floats as given or standardised); the map travels as `dataset.scaling`.
 */
export const loadNpyDataset = (path: string, options: NpyDatasetOptions = {}): E.Either<DataError, IndexedDataset> =>
  pipe(
    readNpy(path),
    E.chain((data) => {
      const [n, ...sampleShape] = data.shape;
      if (data.shape.length !== 2 && data.shape.length !== 4)
        return E.left(
          new DataError(`${path}: expected data of shape [N, D] or [N, H, W, C], got [${data.shape.join(', ')}]`),
        );
      if (n === 0 || sampleShape.some((d) => d === 0))
        return E.left(
          new DataError(`${path}: expected at least one sample with non-empty shape, got [${data.shape.join(', ')}]`),
        );
      const raw = npyToFloat32(data);
      const bad = raw.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        return E.left(
          new DataError(
            `${path}: value ${bad} (sample ${Math.floor(bad / (raw.length / n))}) is ${raw[bad]}, ` +
              'expected finite numbers',
          ),
        );
      const channels = sampleShape[sampleShape.length - 1];
      const input = {
        kind: storedKind(data.dtype),
        image: sampleShape.length === 3,
        normalise: options.normalise === true,
        what: path,
      };
      const choice = chooseScaling({ ...input, stats: valueStats(raw, channels) });
      if (E.isLeft(choice)) return E.left(new DataError(choice.left));
      const { scaling, notes } = choice.right;
      return E.right({
        n,
        sampleShape,
        scaling,
        notes,
        values: scaling.mapping === 'none' ? raw : toModel(scaling, raw, channels),
      });
    }),
    E.bind('labels', ({ n }) => (options.labels === undefined ? E.right(null) : readLabels(options.labels, n, path))),
    E.map(({ n, sampleShape, values, labels, scaling, notes }) => {
      const rowSize = values.length / n;
      return indexedDataset({
        name: path,
        sampleShape,
        numClasses: labels === null ? 0 : labels.reduce((m, l) => Math.max(m, l + 1), 0),
        size: n,
        labels,
        scaling,
        notes,
        copyRow: (i, out, at) => out.set(values.subarray(i * rowSize, (i + 1) * rowSize), at),
      });
    }),
  );

const readLabels = (file: string, n: number, dataPath: string): E.Either<DataError, Int32Array> =>
  pipe(
    readNpy(file),
    E.chain((a) =>
      a.shape.length !== 1 || a.shape[0] !== n
        ? E.left(
            new DataError(
              `${file}: expected labels of shape [${n}] (one per sample in ${dataPath}), got [${a.shape.join(', ')}]`,
            ),
          )
        : npyToLabels(a, file),
    ),
  );
