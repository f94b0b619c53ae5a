/**
 * Config identity: sha256 of the canonical JSON (object keys sorted, no spaces) of a
 * config, so key order and formatting do not change the hash but any value does.
 */
import { createHash } from 'crypto';

/** JSON with object keys sorted at every level; undefined fields dropped, as JSON.stringify does. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as Record<string, unknown>)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  ) ?? 'null';

export const configHash = (config: unknown): string => createHash('sha256').update(canonicalJson(config)).digest('hex');

/** sha256 of float32 weights (name, shape and bytes of each, in order): a phase-end or checkpoint fingerprint. */
export const weightsDigest = (
  tensors: ReadonlyArray<{ readonly name: string; readonly shape: readonly number[]; readonly values: Float32Array }>,
): string => {
  const h = createHash('sha256');
  for (const t of tensors)
    h.update(`${t.name}[${t.shape.join(',')}]`).update(
      Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength),
    );
  return h.digest('hex');
};
