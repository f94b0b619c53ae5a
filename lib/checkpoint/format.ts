/**
 * Checkpoint file format (version 1):
 *   line 1: JSON header {format, version, payloadBytes, sha256, meta, tensors: [{name, dtype, shape, offset, length}]}
 *   then:   the float32 payload, little-endian, tensors back to back.
 * sha256 covers the JSON of {meta, tensors} and the payload, so any truncation or
 * flipped byte is refused on load.
 */
import * as fs from 'fs';
import { createHash } from 'crypto';
import * as E from 'fp-ts/Either';
import type { NamedTensorData } from '../models/params';
import { writeFileAtomic } from '../util/atomicWrite';

export const CHECKPOINT_FORMAT = 'phased-dmd-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointData {
  /** Anything JSON: config, step, phase, config hash, RNG position, … */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly tensors: readonly NamedTensorData[];
}

export class CheckpointError extends Error {
  constructor(readonly file: string, message: string) {
    super(`checkpoint ${file}: ${message}`);
    this.name = 'CheckpointError';
  }
}

interface TensorEntry {
  name: string;
  dtype: 'float32';
  shape: number[];
  offset: number;
  length: number;
}

const digest = (index: string, payload: Uint8Array): string => createHash('sha256').update(index).update(payload).digest('hex');

export const encodeCheckpoint = (data: CheckpointData): Buffer => {
  let offset = 0;
  const entries: TensorEntry[] = data.tensors.map((t) => {
    const e = { name: t.name, dtype: 'float32' as const, shape: t.shape, offset, length: t.values.length };
    offset += t.values.length * 4;
    return e;
  });
  const payload = Buffer.alloc(offset);
  data.tensors.forEach((t, i) => Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).copy(payload, entries[i].offset));
  const index = JSON.stringify({ meta: data.meta, tensors: entries });
  const header = JSON.stringify({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, payloadBytes: payload.length, sha256: digest(index, payload), index: JSON.parse(index) });
  return Buffer.concat([Buffer.from(`${header}\n`), payload]);
};

export const decodeCheckpoint = (file: string, bytes: Buffer): E.Either<CheckpointError, CheckpointData> => {
  const fail = (m: string) => E.left(new CheckpointError(file, m));
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return fail('not a phased-dmd checkpoint (no header line); the file is truncated or of another kind');
  let header: { format?: unknown; version?: unknown; payloadBytes?: unknown; sha256?: unknown; index?: { meta?: unknown; tensors?: unknown } };
  try {
    header = JSON.parse(bytes.subarray(0, nl).toString('utf8'));
  } catch {
    return fail('header is not valid JSON: the file is corrupt or not a checkpoint');
  }
  if (header.format !== CHECKPOINT_FORMAT) return fail(`header.format: expected "${CHECKPOINT_FORMAT}", got ${JSON.stringify(header.format)}`);
  if (header.version !== CHECKPOINT_VERSION) return fail(`header.version: expected ${CHECKPOINT_VERSION}, got ${JSON.stringify(header.version)}`);
  const payload = bytes.subarray(nl + 1);
  if (payload.length !== header.payloadBytes) return fail(`truncated or padded: payload has ${payload.length} bytes, header says ${String(header.payloadBytes)}`);
  const index = header.index;
  if (typeof index !== 'object' || index === null || !Array.isArray(index.tensors)) return fail('header.index.tensors: expected an array');
  if (digest(JSON.stringify(index), payload) !== header.sha256) return fail('checksum mismatch: the file is corrupt');
  const aligned = new Uint8Array(payload); // copy: Float32Array needs 4-byte alignment
  const tensors: NamedTensorData[] = (index.tensors as TensorEntry[]).map((e) => ({
    name: e.name,
    shape: e.shape,
    values: new Float32Array(aligned.buffer, e.offset, e.length),
  }));
  return E.right({ meta: (index.meta ?? {}) as Record<string, unknown>, tensors });
};

/** Atomic write (temp file, fsync, rename). */
export const saveCheckpoint = (file: string, data: CheckpointData): void => writeFileAtomic(file, encodeCheckpoint(data));

export const loadCheckpoint = (file: string): E.Either<CheckpointError, CheckpointData> => {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return E.left(new CheckpointError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (err as Error).message})`));
  }
  return decodeCheckpoint(file, bytes);
};

/** Tensors under a prefix ("teacher/"), with the prefix stripped. */
export const tensorsUnder = (data: CheckpointData, prefix: string): NamedTensorData[] =>
  data.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: t.name.slice(prefix.length) }));

export const withPrefix = (prefix: string, tensors: readonly NamedTensorData[]): NamedTensorData[] => tensors.map((t) => ({ ...t, name: prefix + t.name }));
