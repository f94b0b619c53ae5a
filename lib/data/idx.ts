/**
 * The IDX format (MNIST, Fashion-MNIST): a big-endian header
 *   0x00 0x00 <type> <rank>, then <rank> uint32 dimensions, then the row-major data.
 * Only unsigned bytes (type 0x08) are read — every MNIST-style file uses them.
 * Files may be gzipped (`.gz`), as Debian ships Fashion-MNIST.
 */
import * as zlib from 'zlib';
import * as E from 'fp-ts/Either';
import { DataError } from './errors';
import { readRegularFile } from '../util/readFile';

export interface IdxArray {
  readonly dims: readonly number[];
  /** Row-major unsigned bytes, length = ∏ dims. */
  readonly data: Uint8Array;
}

const IDX_UBYTE = 0x08;
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (n: number, width = 2): string => `0x${n.toString(16).padStart(width, '0')}`;

/** Parses an IDX byte buffer; `file` only names the source in errors. */
export const parseIdx = (bytes: Uint8Array, file: string): E.Either<DataError, IdxArray> => {
  const fail = (what: string) => E.left(new DataError(`${file}: ${what}`));
  if (bytes.length < 4) return fail(`truncated IDX header: expected at least 4 bytes, got ${bytes.length}`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    return fail(`not an IDX file: expected magic bytes 0x00 0x00, got ${hex(bytes[0])} ${hex(bytes[1])}`);
  const type = bytes[2];
  if (type !== IDX_UBYTE)
    return fail(
      `unsupported IDX element type ${hex(type)} (${IDX_TYPE_NAMES[type] ?? 'unknown'}); expected ${hex(IDX_UBYTE)} ` +
        `(unsigned byte)`,
    );
  const rank = bytes[3];
  if (rank === 0) return fail('IDX rank 0: expected at least one dimension');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    return fail(`truncated IDX header: rank ${rank} needs ${headerBytes} header bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const got = bytes.length - headerBytes;
  if (got < expected)
    return fail(`truncated IDX data: dimensions [${dims.join(', ')}] need ${expected} bytes, got ${got}`);
  if (got > expected)
    return fail(
      `malformed IDX file: dimensions [${dims.join(', ')}] need ${expected} bytes, but ${got - expected} extra ` +
        `bytes follow`,
    );
  return E.right({ dims, data: bytes.subarray(headerBytes) });
};

/** The largest data file read, gunzipped or not (one buffer; larger data would not fit in memory as float32 either). */
export const MAX_DATA_BYTES = 2 ** 31 - 1;

/** Reads a file's bytes, gunzipping `.gz`; a missing or unreadable file is a DataError naming it. */
export const readDataFile = (file: string): E.Either<DataError, Uint8Array> => {
  const read = readRegularFile(file, MAX_DATA_BYTES);
  if (E.isLeft(read)) return E.left(new DataError(`${file}: ${read.left}`));
  const raw = read.right;
  if (!file.endsWith('.gz')) return E.right(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  try {
    const out = zlib.gunzipSync(raw, { maxOutputLength: MAX_DATA_BYTES });
    return E.right(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  } catch (err) {
    return E.left(new DataError(`${file}: not a valid gzip file (${(err as Error).message})`));
  }
};

export const readIdxFile = (file: string): E.Either<DataError, IdxArray> =>
  E.chain((b: Uint8Array) => parseIdx(b, file))(readDataFile(file));

/** Encodes unsigned bytes as IDX (for fixtures and exports). */
export const encodeIdx = (dims: readonly number[], data: Uint8Array): Uint8Array => {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length)
    throw new Error(`encodeIdx: dimensions [${dims.join(', ')}] need ${n} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const view = new DataView(out.buffer);
  out[2] = IDX_UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
};
