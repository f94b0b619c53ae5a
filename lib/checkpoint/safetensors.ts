/**
 * The safetensors layout, read and written without Node APIs (it also runs in a browser):
 *
 *   bytes 0‥8     N, the header length, unsigned 64-bit little-endian
 *   bytes 8‥8+N   a JSON header: { "__metadata__": { string: string },
 *                                  name: { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }, … }
 *                 padded with spaces so the data starts on an 8-byte boundary
 *   then          the tensor bytes, little-endian, offsets relative to the end of the header
 *
 * Tensors are written in order, back to back, and must cover the data exactly on read
 * (as the reference implementation demands). Only float32 is written; float32, float16,
 * bfloat16 and float64 are read (converted to float32), so weights saved by PyTorch load too.
 */
import * as E from 'fp-ts/Either';
import type { NamedTensorData } from '../models/params';

export interface SafetensorsData {
  /** `__metadata__`: string values only (the format allows nothing else). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: readonly NamedTensorData[];
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** The header object for tensors in order (offsets relative to the data start) and the data length. */
export const safetensorsHeader = (data: SafetensorsData): { header: Record<string, unknown>; bytes: number } => {
  const header: Record<string, unknown> = { __metadata__: { ...data.metadata } };
  let offset = 0;
  for (const t of data.tensors) {
    if (t.name === '__metadata__' || t.name in header)
      throw new Error(`safetensors: tensor name "${t.name}" is reserved or repeated`);
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.values.length)
      throw new Error(`safetensors: tensor ${t.name} has ${t.values.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  return { header, bytes: offset };
};

export const encodeSafetensors = (data: SafetensorsData): Uint8Array => {
  for (const [k, v] of Object.entries(data.metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors: __metadata__.${k} must be a string, got ${typeof v}`);
  }
  const { header, bytes } = safetensorsHeader(data);
  let json = JSON.stringify(header);
  const unpadded = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - ((8 + unpadded) % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + bytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  // every host tfjs runs on is little-endian, so a Float32Array's bytes are the file's bytes
  for (const t of data.tensors) {
    out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), at);
    at += t.values.byteLength;
  }
  return out;
};

const f16 = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
};

/** Float32 values of one tensor's bytes (little-endian, any alignment). */
const readValues = (view: DataView, dtype: string, n: number): Float32Array => {
  // a copy: Float32Array needs 4-byte alignment, and the caller may reuse the file's buffer
  if (dtype === 'F32')
    return new Float32Array(new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F64') out[i] = view.getFloat64(8 * i, true);
    else if (dtype === 'F16') out[i] = f16(view.getUint16(2 * i, true));
    else {
      const w = new DataView(new ArrayBuffer(4));
      w.setUint32(0, view.getUint16(2 * i, true) << 16, true);
      out[i] = w.getFloat32(0, true);
    }
  }
  return out;
};

const isEntry = (v: unknown): v is HeaderEntry => {
  const e = v as HeaderEntry;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.dtype === 'string' &&
    Array.isArray(e.shape) &&
    e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    Array.isArray(e.data_offsets) &&
    e.data_offsets.length === 2 &&
    e.data_offsets.every((o) => Number.isInteger(o) && o >= 0)
  );
};

/** Parses safetensors bytes; every refusal says what is wrong and where. Tensors come in file order. */
export const decodeSafetensors = (
  bytes: Uint8Array,
): E.Either<string, SafetensorsData & { readonly headerText: string }> => {
  if (bytes.length < 8)
    return E.left(`${bytes.length} bytes: too short for a safetensors file (8-byte header length missing)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n < 2 || 8 + n > bytes.length)
    return E.left(
      `header length ${n} does not fit the file's ${bytes.length} bytes: the file is truncated or not safetensors`,
    );
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(headerText) as Record<string, unknown>;
  } catch {
    return E.left('header is not valid JSON: the file is corrupt or not safetensors');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    return E.left('header: expected a JSON object');
  const metadata = (header.__metadata__ ?? {}) as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((v) => typeof v !== 'string')) {
    return E.left('header.__metadata__: expected an object of strings');
  }
  const dataStart = 8 + n;
  const dataBytes = bytes.length - dataStart;
  const entries: Array<[string, HeaderEntry]> = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isEntry(v)) return E.left(`header["${name}"]: expected {dtype, shape, data_offsets: [begin, end]}`);
    const width = BYTES[v.dtype];
    if (width === undefined)
      return E.left(`header["${name}"].dtype: ${v.dtype} is not supported (expected F32, F16, BF16 or F64)`);
    const [begin, end] = v.data_offsets;
    const count = v.shape.reduce((a, d) => a * d, 1);
    if (end - begin !== count * width)
      return E.left(
        `header["${name}"]: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ` +
          `shape [${v.shape}] of ${v.dtype} needs ${count * width}`,
      );
    entries.push([name, v]);
  }
  // the tensors must tile the data: no gaps, no overlaps, nothing after the last one
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expected = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] !== expected)
      return E.left(
        `header["${name}"]: data_offsets start at ${e.data_offsets[0]}, expected ${expected} (gap or overlap)`,
      );
    expected = e.data_offsets[1];
  }
  if (expected !== dataBytes)
    return E.left(`truncated or padded: the tensors cover ${expected} bytes of data, the file holds ${dataBytes}`);
  const tensors = entries.map(([name, e]) => {
    const count = e.shape.reduce((a, d) => a * d, 1);
    const slice = new DataView(
      bytes.buffer,
      bytes.byteOffset + dataStart + e.data_offsets[0],
      e.data_offsets[1] - e.data_offsets[0],
    );
    return { name, shape: [...e.shape], values: readValues(slice, e.dtype, count) };
  });
  return E.right({ metadata: metadata as Record<string, string>, tensors, headerText });
};
