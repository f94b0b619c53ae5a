/**
 * Config identity: sha256 of the canonical JSON (object keys sorted, no spaces) of a
 * config, so key order and formatting do not change the hash but any value does.
 */
import { createHash } from 'crypto';
import * as path from 'path';

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

const segments = (p: string): string[] => p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');

/**
 * Whether a stored config (a recording's header, a sweep cell's marker) is the config about
 * to run in `runDir`, allowing for where that directory is now. A distillation config names
 * its teacher by file path, written as the run was started: absolute, or relative to the
 * shell's directory then. Moving or copying the run directory, or starting the run from
 * another directory, changes that path but not the teacher. So when the teacher lies inside
 * the run directory, the two configs are the same if they agree in every other field and the
 * stored path ends with the teacher's path within the run directory (an experiment's is
 * `teachers/<key>/teacher.ckpt`, the key itself a hash of the teacher's config). A teacher
 * outside the run directory must match as written.
 */
export const sameRunConfig = (stored: unknown, current: unknown, runDir: string): boolean => {
  if (configHash(stored) === configHash(current)) return true;
  const teacherOf = (c: unknown): string | undefined =>
    c !== null && typeof c === 'object' && typeof (c as { teacher?: unknown }).teacher === 'string'
      ? (c as { teacher: string }).teacher
      : undefined;
  const now = teacherOf(current);
  const then = teacherOf(stored);
  if (now === undefined || then === undefined) return false;
  const within = path.relative(path.resolve(runDir), path.resolve(now));
  if (within === '' || within.startsWith('..') || path.isAbsolute(within)) return false;
  const tail = segments(within);
  const stem = segments(then);
  if (stem.length < tail.length || stem.slice(-tail.length).join('/') !== tail.join('/')) return false;
  const at = tail.join('/');
  return configHash({ ...(stored as object), teacher: at }) === configHash({ ...(current as object), teacher: at });
};
