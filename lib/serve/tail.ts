/**
 * A growing file as a pull stream of complete lines, in batches (the lines of one 64 KiB
 * read): reads only as fast as the consumer asks for batches (so a slow reader holds at
 * most one), then polls for appended bytes (fs.watch misses events on some file systems; a
 * stat every `pollMs` is cheap and certain). A line is emitted once its newline has
 * arrived, so a half-written append is never seen; a file that does not exist yet is
 * waited for.
 *
 * With `root`, only a regular file whose real path lies inside `root` is read: a symlink
 * out of the run directory, a device or a FIFO is refused by name, never read.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RawLine } from '../record/reader';

export interface TailOptions {
  readonly pollMs?: number;
  /** Complete at the end of the file instead of following it. */
  readonly follow?: boolean;
  /** Read the file only while its real path is a regular file inside this directory. */
  readonly root?: string;
  /** Stops the stream (between lines or while waiting). */
  readonly signal?: AbortSignal;
}

/** A file the server will not read; the message names the path and why, never the contents. */
export class ServeFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}; refusing to serve it`);
    this.name = 'ServeFileError';
  }
}

const CHUNK = 64 << 10;
/** The longest line followed (recorded tensors are inline; a longer "line" is not a recording). */
export const MAX_LINE_BYTES = 64 << 20;

const inside = (child: string, parent: string): boolean =>
  child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

const realRoot = (file: string, root: string): string => {
  try {
    return fs.realpathSync(root);
  } catch {
    throw new ServeFileError(file, `the run directory ${root} does not exist`);
  }
};

/** Opens `file` for reading when it is a regular file (inside `root`, by real path); null while it does not exist. */
export const openServable = (file: string, root?: string): number | null => {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // not yet written (or a dangling link)
    throw err;
  }
  if (root !== undefined && !inside(real, realRoot(file, root)))
    throw new ServeFileError(file, `its real path is outside the run directory ${root}`);
  const fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new ServeFileError(file, 'not a regular file');
  }
  return fd;
};

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });

export async function* tailLines(file: string, options: TailOptions = {}): AsyncGenerator<RawLine[]> {
  const pollMs = options.pollMs ?? 250;
  const follow = options.follow ?? true;
  const buf = Buffer.alloc(CHUNK);
  let position = 0;
  let line = 0;
  let pending = Buffer.alloc(0);
  const stopped = (): boolean => options.signal?.aborted === true;
  while (!stopped()) {
    const fd = openServable(file, options.root);
    if (fd !== null) {
      try {
        const size = fs.fstatSync(fd).size;
        if (size < position)
          throw new ServeFileError(file, `shrank from ${position} to ${size} bytes while being followed`);
        while (position < size && !stopped()) {
          const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, size - position), position);
          if (n === 0) break;
          const start = position - pending.length;
          const chunk = Buffer.concat([pending, buf.subarray(0, n)]);
          position += n;
          let from = 0;
          const lines: RawLine[] = [];
          for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, from)) {
            lines.push({
              line: ++line,
              text: chunk.subarray(from, i).toString('utf8'),
              complete: true,
              offset: start + from,
            });
            from = i + 1;
          }
          pending = Buffer.from(chunk.subarray(from));
          if (pending.length > MAX_LINE_BYTES)
            throw new ServeFileError(file, `line ${line + 1} is longer than ${MAX_LINE_BYTES >> 20} MiB`);
          if (lines.length > 0) yield lines;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    if (!follow) return;
    await sleep(pollMs, options.signal);
  }
}
