/**
 * Reading recordings: line by line (pull, in chunks), each line decoded by io-ts at the
 * edge. A header that does not decode refuses the whole file; a line that does not
 * decode is an error naming its line number; a last line without its newline is a
 * torn append from a crash: reported as an issue and skipped.
 */
import * as fs from 'fs';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { issuesOf, formatIssues } from '../config/report';
import {
  EVENT_CODECS,
  EVENT_TYPES,
  EventType,
  RecordedEvent,
  RecordingHeader,
  RECORDING_FORMAT,
  READABLE_VERSIONS,
} from './events';
import { checkLine, storedSum, CHAINED_VERSION } from './chain';

export class RecordingError extends Error {
  /** `brief`: what is wrong in words that quote nothing from the file (shown where the file's contents must not be). */
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly line?: number,
    readonly brief?: string,
  ) {
    super(`recording ${file}${line === undefined ? '' : `, line ${line}`}: ${detail}`);
    this.name = 'RecordingError';
  }
}

/** Something the reader skipped, with where and why. */
export interface RecordingIssue {
  readonly file: string;
  readonly line: number;
  /**
   * torn: a cut last line; corrupt: a line that does not decode or breaks the checksum chain; unchecked: a version-1
   * file.
   */
  readonly kind: 'torn' | 'corrupt' | 'unchecked';
  readonly message: string;
}

export const formatIssue = (i: RecordingIssue): string => `recording ${i.file}, line ${i.line}: ${i.message}`;

export interface RawLine {
  readonly line: number;
  readonly text: string;
  /** False for a last line that lacks its newline (a torn append). */
  readonly complete: boolean;
  /** Byte offset of the line's first byte. */
  readonly offset: number;
}

const CHUNK = 1 << 20;
/** The longest line read (tensors are inline, but a longer "line" is not a recording). */
export const MAX_LINE_BYTES = 256 << 20;

/**
 * The lines of a file, read in 1 MiB chunks (never the whole file at once). Only a regular
 * file is read (a device such as /dev/zero would never end), and no line past MAX_LINE_BYTES.
 */
export function* rawLines(file: string): Generator<RawLine> {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    if (!fs.fstatSync(fd).isFile())
      throw new RecordingError(file, 'not a regular file (a device, FIFO or socket is never read)');
    const buf = Buffer.alloc(CHUNK);
    let pending: Buffer[] = [];
    let pendingStart = 0;
    let position = 0;
    let line = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, position);
      if (n === 0) break;
      let start = 0;
      for (let i = buf.indexOf(0x0a, 0); i >= 0 && i < n; i = buf.indexOf(0x0a, i + 1)) {
        const bytes = Buffer.concat([...pending, buf.subarray(start, i)]);
        line++;
        yield { line, text: bytes.toString('utf8'), complete: true, offset: pendingStart };
        pending = [];
        start = i + 1;
        pendingStart = position + start;
      }
      if (start < n) pending.push(Buffer.from(buf.subarray(start, n)));
      position += n;
      if (position - pendingStart > MAX_LINE_BYTES)
        throw new RecordingError(
          file,
          `line ${line + 1} is longer than ${MAX_LINE_BYTES >> 20} MiB: not a recording`,
          line + 1,
        );
    }
    const rest = Buffer.concat(pending);
    if (rest.length > 0) yield { line: line + 1, text: rest.toString('utf8'), complete: false, offset: pendingStart };
  } finally {
    fs.closeSync(fd);
  }
}

const parseJson = (file: string, l: RawLine): E.Either<RecordingError, unknown> => {
  try {
    return E.right(JSON.parse(l.text));
  } catch (err) {
    const preview = l.text.length > 60 ? `${l.text.slice(0, 57)}...` : l.text;
    return E.left(
      new RecordingError(
        file,
        `not valid JSON (${(err as Error).message}): ${JSON.stringify(preview)}`,
        l.line,
        'not valid JSON',
      ),
    );
  }
};

export const decodeHeader = (file: string, l: RawLine | undefined): E.Either<RecordingError, RecordingHeader> => {
  if (l === undefined)
    return E.left(new RecordingError(file, `empty file: expected a ${RECORDING_FORMAT} header on line 1`));
  if (!l.complete)
    return E.left(
      new RecordingError(
        file,
        'the header line is incomplete (torn write): the recording never started',
        1,
        'incomplete header line',
      ),
    );
  return pipe(
    parseJson(file, l),
    E.chain((json) => {
      const o = json as { format?: unknown; version?: unknown } | null;
      if (typeof o !== 'object' || o === null || o.format !== RECORDING_FORMAT)
        return E.left(
          new RecordingError(
            file,
            `not a ${RECORDING_FORMAT} file: header.format expected "${RECORDING_FORMAT}", got ` +
              `${JSON.stringify(o?.format)}`,
            1,
            `not a ${RECORDING_FORMAT} file`,
          ),
        );
      if (!READABLE_VERSIONS.includes(o.version as number))
        return E.left(
          new RecordingError(
            file,
            `header.version: expected ${READABLE_VERSIONS.join(' or ')}, got ${JSON.stringify(o.version)}`,
            1,
            'unsupported header.version',
          ),
        );
      return pipe(
        RecordingHeader.decode(json),
        E.mapLeft(
          (errors) =>
            new RecordingError(
              file,
              `corrupt header:\n${formatIssues(issuesOf(errors).map((i) => ({ ...i, path: `header.${i.path}` })))}`,
              1,
              'corrupt header',
            ),
        ),
        E.chain((h) => {
          const c = h.version === CHAINED_VERSION ? checkLine('', l.text) : null;
          return c === null || c.ok
            ? E.right(h)
            : E.left(new RecordingError(file, `corrupt header: ${c.why}`, 1, `corrupt header: ${c.why}`));
        }),
      );
    }),
  );
};

/** Decodes one event line by its `type`, so errors name the fields of that event. */
export const decodeEventLine = (file: string, l: RawLine): E.Either<RecordingError, RecordedEvent> =>
  pipe(
    parseJson(file, l),
    E.chain((json) => {
      const type = (json as { type?: unknown } | null)?.type;
      if (typeof json !== 'object' || json === null || Array.isArray(json))
        return E.left(
          new RecordingError(
            file,
            `expected an event object, got ${JSON.stringify(json)}`,
            l.line,
            'not an event object',
          ),
        );
      if (typeof type !== 'string' || !(EVENT_TYPES as string[]).includes(type))
        return E.left(
          new RecordingError(
            file,
            `type: expected one of ${EVENT_TYPES.join(' | ')}, got ${JSON.stringify(type)}`,
            l.line,
            'unknown event type',
          ),
        );
      const codec = EVENT_CODECS[type as EventType] as unknown as {
        decode: (u: unknown) => E.Either<import('io-ts').Errors, RecordedEvent>;
      };
      return pipe(
        codec.decode(json),
        E.mapLeft(
          (errors) =>
            new RecordingError(
              file,
              `corrupt ${type} event: ${formatIssues(issuesOf(errors)).split('\n').join('; ')}`,
              l.line,
              `corrupt ${type} event`,
            ),
        ),
      );
    }),
  );

export interface ReadOptions {
  /** Called for every line skipped (a torn last line; corrupt lines when skipCorrupt). Default: a warning on stderr. */
  readonly onIssue?: (issue: RecordingIssue) => void;
  /** Skip (and report) corrupt lines instead of failing at the first one. */
  readonly skipCorrupt?: boolean;
}

export const warnIssue = (i: RecordingIssue): void => {
  process.stderr.write(`warning: ${formatIssue(i)}\n`);
};

/**
 * Decodes the event lines after a header in order, checking the checksum chain of a
 * version-2 recording (a line that fails is reported once: the chain goes on from the sum
 * it carries, so one edited line does not condemn the lines after it).
 */
/** Decodes event lines in order; `skip` moves past a line another decoder of the same file already checked. */
export type EventDecoder = ((l: RawLine) => E.Either<RecordingError, RecordedEvent>) & { skip(l: RawLine): void };

export const eventDecoder = (file: string, header: RecordingHeader, headerLine: RawLine): EventDecoder => {
  const chained = header.version === CHAINED_VERSION;
  let previous = chained ? (checkLine('', headerLine.text) as { sum: string }).sum : '';
  const decode = (l: RawLine): E.Either<RecordingError, RecordedEvent> => {
    const e = decodeEventLine(file, l);
    if (!chained) return e;
    const c = checkLine(previous, l.text);
    if (c.sum !== null) previous = c.sum;
    if (E.isLeft(e)) return e;
    return c.ok ? e : E.left(new RecordingError(file, c.why, l.line, c.why));
  };
  const skip = (l: RawLine): void => {
    previous = (chained ? storedSum(l.text) : null) ?? previous;
  };
  return Object.assign(decode, { skip });
};

/**
 * Opens a recording: its decoded header and a pull iterator of its decoded events (throws RecordingError on a corrupt
 * line).
 */
export const openRecordingReader = (
  file: string,
  options: ReadOptions = {},
): E.Either<RecordingError, { header: RecordingHeader; events: () => Generator<RecordedEvent> }> => {
  if (!fs.existsSync(file)) return E.left(new RecordingError(file, 'file not found'));
  const lines = rawLines(file);
  let first: IteratorResult<RawLine>;
  try {
    first = lines.next();
  } catch (err) {
    return E.left(
      err instanceof RecordingError
        ? err
        : new RecordingError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`),
    );
  }
  const header = decodeHeader(file, first.done ? undefined : first.value);
  lines.return(undefined);
  if (E.isLeft(header)) return header;
  const headerLine = first.value as RawLine;
  const onIssue = options.onIssue ?? warnIssue;
  function* events(): Generator<RecordedEvent> {
    const it = rawLines(file);
    const decode = eventDecoder(file, (header as E.Right<RecordingHeader>).right, headerLine);
    try {
      it.next(); // the header
      if ((header as E.Right<RecordingHeader>).right.version !== CHAINED_VERSION)
        onIssue({
          file,
          line: 1,
          kind: 'unchecked',
          message: 'a version-1 recording: its lines carry no checksums, so edits cannot be detected',
        });
      for (const l of it) {
        if (l.text.trim() === '' && l.complete) continue;
        if (!l.complete) {
          onIssue({
            file,
            line: l.line,
            kind: 'torn',
            message:
              `incomplete last line (${Buffer.byteLength(l.text)} bytes, no newline): a torn append from an ` +
              `interrupted run; skipped`,
          });
          continue;
        }
        const e = decode(l);
        if (E.isRight(e)) yield e.right;
        else if (options.skipCorrupt)
          onIssue({ file, line: l.line, kind: 'corrupt', message: `${e.left.detail}; skipped` });
        else throw e.left;
      }
    } finally {
      it.return(undefined);
    }
  }
  return E.right({ header: header.right, events });
};

/** The whole recording in memory (host data only), or the first reason it cannot be read. */
export const readRecording = (
  file: string,
  options: ReadOptions = {},
): E.Either<RecordingError, { header: RecordingHeader; events: RecordedEvent[]; issues: RecordingIssue[] }> => {
  const issues: RecordingIssue[] = [];
  const report = (i: RecordingIssue): void => {
    issues.push(i);
    options.onIssue?.(i);
  };
  return pipe(
    openRecordingReader(file, { ...options, onIssue: report }),
    E.chain(({ header, events }) => {
      try {
        return E.right({ header, events: [...events()], issues });
      } catch (err) {
        return E.left(err instanceof RecordingError ? err : new RecordingError(file, (err as Error).message));
      }
    }),
  );
};
