/**
 * Appending to a recording. Each event is one line written by a single write() on a
 * descriptor opened with O_APPEND, so a crash leaves at most a torn last line (which
 * the reader reports and skips). Lines are fsynced every `fsyncEvery` appends, on
 * `sync()` (the runner calls it at each checkpoint) and at close.
 *
 * A new recording's header is written atomically (temp file + rename); an existing
 * recording is never overwritten, only appended to after a resume whose config hash
 * matches the header's (unless forced) and whose lines all pass their checksums (unless
 * asked to cut the recording at the last good line).
 *
 * A failed append (a full disk) removes its partial bytes, throws a FileWriteError naming
 * the file and the reason, and ignores later appends: the run is stopping with that error,
 * and the recording ends at its last whole line.
 */
import * as fs from 'fs';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic, writeAll, writeFailure } from '../util/atomicWrite';
import { EVENT_CODECS, RecordedEvent, RecordingHeader, RECORDING_FORMAT, RECORDING_VERSION } from './events';
import { RecordingError, RawLine, rawLines, decodeHeader, eventDecoder } from './reader';
import { sealLine, storedSum, CHAINED_VERSION } from './chain';
import { configHash } from './hash';
import { packageVersion as ownPackageVersion } from '../util/packageRoot';

/** An event before the sink stamps its time. */
export type EventInput = RecordedEvent extends infer E
  ? E extends { at: number }
    ? Omit<E, 'at'> & { at?: number }
    : never
  : never;

/** Where `record(…)` writes: a file writer, or anything else that takes events (an array in a spec). */
export interface RecordingSink {
  append(event: EventInput): void;
  /** Makes what was appended durable (no-op for memory sinks). */
  sync(): void;
}

export interface WriterOptions {
  /** fsync after this many appended lines (default 64; 1 = every line). */
  readonly fsyncEvery?: number;
  /** Clock for `at` (ms); default performance.now. */
  readonly now?: () => number;
}

export interface ResumeAt {
  readonly config: unknown;
  readonly phase: number;
  readonly step: number;
  readonly force?: boolean;
  /** Cut a recording whose line fails to decode or breaks the checksum chain at its last good line (else refuse). */
  readonly truncate?: boolean;
  /** Told what a cut dropped (default: a warning on stderr). */
  readonly onDrop?: (message: string) => void;
}

/** One JSON line for an event (no newline). */
export const encodeEventLine = (e: RecordedEvent): string =>
  JSON.stringify((EVENT_CODECS[e.type] as unknown as { encode: (x: RecordedEvent) => unknown }).encode(e));

let packageVersion: string | undefined;
const ownVersion = (): string => {
  if (packageVersion === undefined) {
    try {
      packageVersion = ownPackageVersion();
    } catch {
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
};

/** A header for a run of `config` (hash, backend, versions and time filled in). */
export const makeHeader = (h: {
  config: unknown;
  seed: number;
  kind?: string;
  backend?: string;
  versions?: Record<string, string>;
}): RecordingHeader =>
  ({
    type: 'header',
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    ...(h.kind === undefined ? {} : { kind: h.kind }),
    config: h.config,
    configHash: configHash(h.config),
    seed: h.seed,
    backend: h.backend ?? tf.getBackend(),
    versions: { 'phased-dmd': ownVersion(), 'tfjs-core': tf.version_core, node: process.versions.node, ...h.versions },
    createdAt: new Date().toISOString(),
  }) as RecordingHeader;

export class RecordingWriter implements RecordingSink {
  private fd: number | null;
  private unsynced = 0;
  /** The last line's chained sum (null: a version-1 recording, lines unchained). */
  private previous: string | null;
  /** Bytes of whole lines in the file: where a failed append is cut back to. */
  private size: number;
  private failed = false;
  private readonly fsyncEvery: number;
  private readonly now: () => number;
  private readonly t0: number;

  private constructor(
    readonly file: string,
    readonly header: RecordingHeader,
    fd: number,
    previous: string | null,
    options: WriterOptions,
  ) {
    this.fd = fd;
    this.previous = previous;
    this.size = fs.fstatSync(fd).size;
    this.fsyncEvery = Math.max(1, options.fsyncEvery ?? 64);
    this.now = options.now ?? (() => performance.now());
    this.t0 = this.now();
  }

  /** Starts a new recording; refuses to overwrite an existing file. */
  static create(
    file: string,
    header: RecordingHeader,
    options: WriterOptions = {},
  ): E.Either<RecordingError, RecordingWriter> {
    if (fs.existsSync(file))
      return E.left(
        new RecordingError(
          file,
          'already exists: resume it, or choose another path (an existing recording is never overwritten)',
        ),
      );
    try {
      const sealed = sealLine('', JSON.stringify(RecordingHeader.encode(header)));
      writeFileAtomic(file, `${sealed.text}\n`);
      return E.right(new RecordingWriter(file, header, fs.openSync(file, 'a'), sealed.sum, options));
    } catch (err) {
      if ((err as Error).name === 'FileWriteError')
        return E.left(new RecordingError(file, `cannot create: ${(err as Error).message}`));
      return E.left(
        new RecordingError(file, `cannot create (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`),
      );
    }
  }

  /**
   * Reopens a recording to continue a resumed run from (phase, step): checks the header's
   * config hash, cuts a torn last line (the bytes of an append the crash interrupted) and
   * appends a `resume` event that supersedes what the crashed attempt wrote past (phase, step).
   */
  static resume(file: string, at: ResumeAt, options: WriterOptions = {}): E.Either<RecordingError, RecordingWriter> {
    if (!fs.existsSync(file)) return E.left(new RecordingError(file, 'file not found: nothing to resume'));
    const scanned = scanForResume(file);
    if (E.isLeft(scanned)) return scanned;
    const { header, size, previous, torn, bad, lines } = scanned.right;
    const hash = configHash(at.config);
    if (hash !== header.configHash && at.force !== true)
      return E.left(
        new RecordingError(
          file,
          `config hash mismatch: the recording was made with config ${header.configHash.slice(0, 12)}…, this run's ` +
            `config is ${hash.slice(0, 12)}… (continue anyway with --force (force: true))`,
        ),
      );
    if (bad !== null && at.truncate !== true) {
      const hint =
        `cut it after line ${bad.line.line - 1}, its last good line, with --truncate-recording ` + `(truncate: true)`;
      return E.left(
        new RecordingError(file, `${bad.error.detail}; resume refuses a damaged recording (${hint})`, bad.line.line),
      );
    }
    const cut = bad !== null ? bad.line.offset : torn !== null ? torn.offset : -1;
    try {
      if (cut >= 0) fs.truncateSync(file, cut);
      if (bad !== null)
        (at.onDrop ?? warnDrop)(
          `recording ${file}: dropped lines ${bad.line.line}–${lines} (${size - cut} bytes) from the first bad line ` +
            `on (line ${bad.line.line}: ${bad.error.detail})`,
        );
      const w = new RecordingWriter(file, header, fs.openSync(file, 'a'), previous, options);
      const dropped = bad !== null ? { droppedLines: lines - bad.line.line + 1 } : {};
      w.append({
        type: 'resume',
        phase: at.phase,
        step: at.step,
        ...(cut >= 0 ? { droppedBytes: size - cut } : {}),
        ...dropped,
        ...(hash !== header.configHash ? { forced: true } : {}),
      });
      w.sync();
      return E.right(w);
    } catch (err) {
      return E.left(
        new RecordingError(file, `cannot append (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`),
      );
    }
  }

  append(event: EventInput): void {
    if (this.fd === null) throw new RecordingError(this.file, 'append after close');
    const stamped = { ...event, at: event.at ?? Math.round((this.now() - this.t0) * 1000) / 1000 } as RecordedEvent;
    if (this.failed) return;
    const body = encodeEventLine(stamped);
    const sealed = this.previous === null ? { text: body, sum: null } : sealLine(this.previous, body);
    const bytes = Buffer.from(`${sealed.text}\n`, 'utf8');
    // one write() per line; a short write is completed, so only a crash can tear a line
    try {
      writeAll(this.fd, bytes);
    } catch (err) {
      this.failed = true;
      try {
        fs.ftruncateSync(this.fd, this.size);
      } catch {
        // the reader reports a torn last line, and resume cuts it
      }
      throw writeFailure(this.file, err, '; the recording ends at its last whole line');
    }
    this.size += bytes.length;
    if (sealed.sum !== null) this.previous = sealed.sum;
    if (++this.unsynced >= this.fsyncEvery) this.sync();
  }

  sync(): void {
    if (this.fd === null || this.unsynced === 0) return;
    fs.fsyncSync(this.fd);
    this.unsynced = 0;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /** fsyncs and closes; idempotent. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.unsynced = Math.max(this.unsynced, 1);
      this.sync();
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}

const warnDrop = (message: string): void => {
  process.stderr.write(`warning: ${message}\n`);
};

interface Scanned {
  readonly header: RecordingHeader;
  readonly size: number;
  /** The sum of the last good line (null for a version-1 recording). */
  readonly previous: string | null;
  readonly torn: RawLine | null;
  /** The first line that does not decode or breaks the chain. */
  readonly bad: { line: RawLine; error: RecordingError } | null;
  /** Lines in the file (a torn one included). */
  readonly lines: number;
}

/** Reads a recording to resume it: its header, the chain up to the first bad line, a torn tail. */
const scanForResume = (file: string): E.Either<RecordingError, Scanned> => {
  try {
    const size = fs.statSync(file).size;
    const it = rawLines(file);
    const first = it.next();
    const h = decodeHeader(file, first.done ? undefined : first.value);
    if (E.isLeft(h)) {
      it.return(undefined);
      return h;
    }
    const header = h.right;
    const decode = eventDecoder(file, header, first.value as RawLine);
    let previous = header.version === CHAINED_VERSION ? storedSum((first.value as RawLine).text) : null;
    let torn: RawLine | null = null;
    let bad: Scanned['bad'] = null;
    let lines = 1;
    for (const l of it) {
      lines = l.line;
      if (bad !== null) continue;
      if (!l.complete) torn = l;
      else if (l.text.trim() !== '') {
        const e = decode(l);
        if (E.isLeft(e)) bad = { line: l, error: e.left };
        else if (previous !== null) previous = storedSum(l.text);
      }
    }
    return E.right({ header, size, previous, torn, bad, lines });
  } catch (err) {
    return E.left(
      err instanceof RecordingError
        ? err
        : new RecordingError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`),
    );
  }
};

/** An in-memory sink (specs, or piping events elsewhere). */
export const memorySink = (now: () => number = () => 0): RecordingSink & { readonly events: RecordedEvent[] } => {
  const events: RecordedEvent[] = [];
  return {
    events,
    append: (e) => void events.push({ ...e, at: e.at ?? now() } as RecordedEvent),
    sync: () => undefined,
  };
};
