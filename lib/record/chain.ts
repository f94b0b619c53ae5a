/**
 * Chained line checksums (recording format 2). Every line, the header included, ends
 * with `"sum":"<16 hex>"}`, where
 *
 *   sumₖ = sha256(sumₖ₋₁ ‖ bodyₖ)[0..16 hex],   sum₀ = ""
 *
 * and bodyₖ is the line's JSON without its `,"sum":…` member: the bytes as written, never
 * re-serialised, so a reader checks exactly what the writer hashed. An edited value (still
 * valid JSON), a deleted or reordered line, or a line spliced in from another recording
 * breaks the chain at that line; version-1 recordings (no checksums) are still readable.
 */
import { createHash } from 'crypto';

/** The recording version whose lines carry chained checksums. */
export const CHAINED_VERSION = 2;

const SUM = /,"sum":"([0-9a-f]{16})"\}$/;

/** sumₖ = sha256(sumₖ₋₁ ‖ bodyₖ), first 16 hex digits. */
export const chainSum = (previous: string, body: string): string =>
  createHash('sha256').update(previous).update(body).digest('hex').slice(0, 16);

/** The line for `body` (a JSON object's text) after `previous`: its text and its sum. */
export const sealLine = (previous: string, body: string): { text: string; sum: string } => {
  const sum = chainSum(previous, body);
  return { text: `${body.slice(0, -1)},"sum":"${sum}"}`, sum };
};

/** The sum a line carries (null when it has none). */
export const storedSum = (text: string): string | null => SUM.exec(text)?.[1] ?? null;

/**
 * Checks one line against the chain: Right(its sum) when it continues `previous`, else
 * Left(why) in words that never quote the line's contents.
 */
export const checkLine = (
  previous: string,
  text: string,
): { ok: true; sum: string } | { ok: false; why: string; sum: string | null } => {
  const m = SUM.exec(text);
  if (m === null)
    return {
      ok: false,
      why:
        'no checksum: the line does not end with its "sum" member (edited, or not written by this recording\'s ' +
        'writer)',
      sum: null,
    };
  const body = `${text.slice(0, m.index)}}`;
  const want = chainSum(previous, body);
  if (want !== m[1])
    return {
      ok: false,
      why:
        'checksum mismatch: the line was changed, or a line before it was removed or reordered, after it was ' +
        'written',
      sum: m[1],
    };
  return { ok: true, sum: m[1] };
};
