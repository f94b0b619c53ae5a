/**
 * Checkpoint files, version 2: the safetensors layout (./safetensors.ts), so any
 * safetensors reader (Python's `safetensors`, a few lines of numpy) opens them.
 * `__metadata__` holds
 *   format          "phased-dmd-checkpoint"
 *   format_version  "2"
 *   sha256          hex SHA-256 of the header JSON without this key, then the tensor bytes
 *   <key>           for every key of the run's meta (kind, config, step, …): its value as JSON text
 * The checksum makes any truncation or flipped byte a refusal on load.
 *
 * Version 1 files (a JSON header line, then the float32 payload) are still read.
 */
import { createHash } from 'crypto';
import * as E from 'fp-ts/Either';
import type { NamedTensorData } from '../models/params';
import { writeFileAtomic } from '../util/atomicWrite';
import { encodeSafetensors, decodeSafetensors, safetensorsHeader } from './safetensors';
import { readRegularFile } from '../util/readFile';

export const CHECKPOINT_FORMAT = 'phased-dmd-checkpoint';
export const CHECKPOINT_VERSION = 2;
/** `__metadata__` keys the format itself uses; the run's meta may not. */
export const RESERVED_META_KEYS: readonly string[] = ['format', 'format_version', 'sha256'];

export interface CheckpointData {
  /** Anything JSON: config, step, phase, config hash, RNG position, … */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly tensors: readonly NamedTensorData[];
}

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`checkpoint ${file}: ${message}`);
    this.name = 'CheckpointError';
  }
}

const sha256 = (...parts: Array<string | Uint8Array>): string => {
  const h = createHash('sha256');
  parts.forEach((p) => h.update(p));
  return h.digest('hex');
};

/** The checksummed text: the header as written, less the sha256 entry (JSON.parse keeps key order). */
const checksummedHeader = (header: Record<string, unknown>): string => {
  const meta = { ...(header.__metadata__ as Record<string, string>) };
  delete meta.sha256;
  return JSON.stringify({ ...header, __metadata__: meta });
};

/** The run's meta as `__metadata__` strings (each value as JSON text). */
const metadataOf = (meta: Readonly<Record<string, unknown>>): Record<string, string> => {
  const out: Record<string, string> = { format: CHECKPOINT_FORMAT, format_version: String(CHECKPOINT_VERSION) };
  for (const [k, v] of Object.entries(meta)) {
    if (RESERVED_META_KEYS.includes(k)) throw new Error(`checkpoint meta.${k}: the key is reserved by the file format`);
    if (v !== undefined) out[k] = JSON.stringify(v);
  }
  return out;
};

export const encodeCheckpoint = (data: CheckpointData): Buffer => {
  const metadata = metadataOf(data.meta);
  const { header } = safetensorsHeader({ metadata, tensors: data.tensors });
  const bytes = data.tensors.map((t) => new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  const digest = sha256(checksummedHeader(header), ...bytes);
  return Buffer.from(encodeSafetensors({ metadata: { ...metadata, sha256: digest }, tensors: data.tensors }));
};

const LEGACY_PREFIX = `{"format":"${CHECKPOINT_FORMAT}"`;

/** Version 1: a JSON header line {format, version, payloadBytes, sha256, index: {meta, tensors}}, then float32 data. */
const decodeLegacy = (file: string, bytes: Buffer): E.Either<CheckpointError, CheckpointData> => {
  const fail = (m: string) => E.left(new CheckpointError(file, `${m} (a format version 1 file)`));
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return fail('no header line: the file is truncated');
  let header: {
    version?: unknown;
    payloadBytes?: unknown;
    sha256?: unknown;
    index?: { meta?: unknown; tensors?: unknown };
  };
  try {
    header = JSON.parse(bytes.subarray(0, nl).toString('utf8'));
  } catch {
    return fail('header is not valid JSON: the file is corrupt');
  }
  if (header.version !== 1) return fail(`header.version: expected 1, got ${JSON.stringify(header.version)}`);
  const payload = bytes.subarray(nl + 1);
  if (payload.length !== header.payloadBytes)
    return fail(`truncated or padded: payload has ${payload.length} bytes, header says ${String(header.payloadBytes)}`);
  const index = header.index;
  if (typeof index !== 'object' || index === null || !Array.isArray(index.tensors))
    return fail('header.index.tensors: expected an array');
  if (sha256(JSON.stringify(index), payload) !== header.sha256) return fail('checksum mismatch: the file is corrupt');
  const aligned = new Uint8Array(payload); // copy: Float32Array needs 4-byte alignment
  const tensors = (index.tensors as Array<{ name: string; shape: number[]; offset: number; length: number }>).map(
    (e) => ({
      name: e.name,
      shape: e.shape,
      values: new Float32Array(aligned.buffer, e.offset, e.length),
    }),
  );
  return E.right({ meta: (index.meta ?? {}) as Record<string, unknown>, tensors });
};

/** The run's meta back from `__metadata__` (every key but the format's own, JSON-decoded). */
const metaOf = (
  file: string,
  metadata: Readonly<Record<string, string>>,
): E.Either<CheckpointError, Record<string, unknown>> => {
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (RESERVED_META_KEYS.includes(k)) continue;
    try {
      meta[k] = JSON.parse(v);
    } catch {
      return E.left(
        new CheckpointError(file, `__metadata__.${k}: expected JSON text, got ${JSON.stringify(v.slice(0, 40))}`),
      );
    }
  }
  return E.right(meta);
};

export const decodeCheckpoint = (file: string, bytes: Buffer): E.Either<CheckpointError, CheckpointData> => {
  const fail = (m: string) => E.left(new CheckpointError(file, m));
  if (bytes.subarray(0, LEGACY_PREFIX.length).toString('latin1') === LEGACY_PREFIX) return decodeLegacy(file, bytes);
  if (bytes.length === 0) return fail('empty file: truncated, or not a checkpoint');
  if (bytes.length < 9 || bytes[8] !== 0x7b) {
    return fail(
      'not a checkpoint: the file is corrupt or of another kind ' +
        '(a checkpoint starts with an 8-byte header length, then a JSON header)',
    );
  }
  const parsed = decodeSafetensors(bytes);
  if (E.isLeft(parsed)) return fail(parsed.left);
  const { metadata, tensors, headerText } = parsed.right;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    return fail(
      `__metadata__.format: expected "${CHECKPOINT_FORMAT}", got ${JSON.stringify(metadata.format)} ` +
        '(a safetensors file from elsewhere: read its tensors with readSafetensorsFile)',
    );
  }
  if (metadata.format_version !== String(CHECKPOINT_VERSION)) {
    return fail(
      `__metadata__.format_version: expected "${CHECKPOINT_VERSION}", got ${JSON.stringify(metadata.format_version)}`,
    );
  }
  const dataStart = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(headerText) as Record<string, unknown>;
  if (sha256(checksummedHeader(header), bytes.subarray(dataStart)) !== metadata.sha256)
    return fail('checksum mismatch: the file is corrupt');
  return E.map((meta: Record<string, unknown>) => ({ meta, tensors }))(metaOf(file, metadata));
};

/** The largest checkpoint read (one buffer). */
export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;

/** Atomic write (temp file, fsync, rename). */
export const saveCheckpoint = (file: string, data: CheckpointData): void =>
  writeFileAtomic(file, encodeCheckpoint(data));

/** The file's bytes: a regular file only (a device such as /dev/zero would never end), at most MAX_CHECKPOINT_BYTES. */
const readBytes = (file: string): E.Either<CheckpointError, Buffer> => {
  const bytes = readRegularFile(file, MAX_CHECKPOINT_BYTES);
  return E.isLeft(bytes) ? E.left(new CheckpointError(file, bytes.left)) : E.right(bytes.right);
};

export const loadCheckpoint = (file: string): E.Either<CheckpointError, CheckpointData> =>
  E.chain((b: Buffer) => decodeCheckpoint(file, b))(readBytes(file));

/** Any safetensors file's tensors and string metadata (weights from PyTorch, an export). */
export const readSafetensorsFile = (
  file: string,
): E.Either<CheckpointError, { metadata: Readonly<Record<string, string>>; tensors: NamedTensorData[] }> =>
  E.chain((b: Buffer) => {
    const r = decodeSafetensors(b);
    return E.isLeft(r)
      ? E.left(new CheckpointError(file, r.left))
      : E.right({ metadata: r.right.metadata, tensors: [...r.right.tensors] });
  })(readBytes(file));

/** Tensors under a prefix ("teacher/"), with the prefix stripped. */
export const tensorsUnder = (data: CheckpointData, prefix: string): NamedTensorData[] =>
  data.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: t.name.slice(prefix.length) }));

export const withPrefix = (prefix: string, tensors: readonly NamedTensorData[]): NamedTensorData[] =>
  tensors.map((t) => ({ ...t, name: prefix + t.name }));
