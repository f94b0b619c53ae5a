/**
 * Appending to a recording. Each event is one line written by a single write() on a
 * descriptor opened with O_APPEND, so a crash leaves at most a torn last line (which
 * the reader reports and skips). Lines are fsynced every `fsyncEvery` appends, on
 * `sync()` (the runner calls it at each checkpoint) and at close.
 *
 * A new recording's header is written atomically (temp file + rename); an existing
 * recording is never overwritten, only appended to after a resume whose config hash
 * matches the header's (unless forced).
 */
import * as fs from 'fs';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../util/atomicWrite';
import { EVENT_CODECS, RecordedEvent, RecordingHeader, RECORDING_FORMAT, RECORDING_VERSION } from './events';
import { RecordingError, rawLines, decodeHeader } from './reader';
import { configHash } from './hash';
import { packageVersion as ownPackageVersion } from '../util/packageRoot';

/** An event before the sink stamps its time. */
export type EventInput = RecordedEvent extends infer E ? (E extends { at: number } ? Omit<E, 'at'> & { at?: number } : never) : never;

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

/** One JSON line for an event (no newline). */
export const encodeEventLine = (e: RecordedEvent): string => JSON.stringify((EVENT_CODECS[e.type] as unknown as { encode: (x: RecordedEvent) => unknown }).encode(e));

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
export const makeHeader = (h: { config: unknown; seed: number; kind?: string; backend?: string; versions?: Record<string, string> }): RecordingHeader =>
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
  private readonly fsyncEvery: number;
  private readonly now: () => number;
  private readonly t0: number;

  private constructor(readonly file: string, readonly header: RecordingHeader, fd: number, options: WriterOptions) {
    this.fd = fd;
    this.fsyncEvery = Math.max(1, options.fsyncEvery ?? 64);
    this.now = options.now ?? (() => performance.now());
    this.t0 = this.now();
  }

  /** Starts a new recording; refuses to overwrite an existing file. */
  static create(file: string, header: RecordingHeader, options: WriterOptions = {}): E.Either<RecordingError, RecordingWriter> {
    if (fs.existsSync(file)) return E.left(new RecordingError(file, 'already exists: resume it, or choose another path (an existing recording is never overwritten)'));
    try {
      writeFileAtomic(file, `${JSON.stringify(RecordingHeader.encode(header))}\n`);
      return E.right(new RecordingWriter(file, header, fs.openSync(file, 'a'), options));
    } catch (err) {
      return E.left(new RecordingError(file, `cannot create (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
    }
  }

  /**
   * Reopens a recording to continue a resumed run from (phase, step): checks the header's
   * config hash, cuts a torn last line (the bytes of an append the crash interrupted) and
   * appends a `resume` event that supersedes what the crashed attempt wrote past (phase, step).
   */
  static resume(file: string, at: { config: unknown; phase: number; step: number; force?: boolean }, options: WriterOptions = {}): E.Either<RecordingError, RecordingWriter> {
    if (!fs.existsSync(file)) return E.left(new RecordingError(file, 'file not found: nothing to resume'));
    let header: RecordingHeader;
    let cut = -1;
    let size = 0;
    try {
      size = fs.statSync(file).size;
      const it = rawLines(file);
      const first = it.next();
      const h = decodeHeader(file, first.done ? undefined : first.value);
      if (E.isLeft(h)) {
        it.return(undefined);
        return h;
      }
      header = h.right;
      for (const l of it) if (!l.complete) cut = l.offset;
    } catch (err) {
      return E.left(new RecordingError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
    }
    const hash = configHash(at.config);
    if (hash !== header.configHash && at.force !== true)
      return E.left(new RecordingError(file, `config hash mismatch: the recording was made with config ${header.configHash.slice(0, 12)}…, this run's config is ${hash.slice(0, 12)}… (continue anyway with --force (force: true))`));
    try {
      if (cut >= 0) fs.truncateSync(file, cut);
      const w = new RecordingWriter(file, header, fs.openSync(file, 'a'), options);
      w.append({ type: 'resume', phase: at.phase, step: at.step, ...(cut >= 0 ? { droppedBytes: size - cut } : {}), ...(hash !== header.configHash ? { forced: true } : {}) });
      w.sync();
      return E.right(w);
    } catch (err) {
      return E.left(new RecordingError(file, `cannot append (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`));
    }
  }

  append(event: EventInput): void {
    if (this.fd === null) throw new RecordingError(this.file, 'append after close');
    const stamped = { ...event, at: event.at ?? Math.round((this.now() - this.t0) * 1000) / 1000 } as RecordedEvent;
    const bytes = Buffer.from(`${encodeEventLine(stamped)}\n`, 'utf8');
    // one write() per line; a short write (rare on regular files) is completed, so only a crash can tear a line
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(this.fd, bytes, off);
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

/** An in-memory sink (specs, or piping events elsewhere). */
export const memorySink = (now: () => number = () => 0): RecordingSink & { readonly events: RecordedEvent[] } => {
  const events: RecordedEvent[] = [];
  return { events, append: (e) => void events.push({ ...e, at: e.at ?? now() } as RecordedEvent), sync: () => undefined };
};
