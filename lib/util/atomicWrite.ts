import * as fs from 'fs';
import * as path from 'path';

/** Why a file could not be written; the message names the file and the system's reason (ENOSPC, EROFS, …). */
export class FileWriteError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
    detail: string,
  ) {
    super(`cannot write ${file}: ${detail}`);
    this.name = 'FileWriteError';
  }
}

const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  EFBIG: 'file too large for the file system (EFBIG)',
  EROFS: 'read-only file system (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  EIO: 'input/output error (EIO)',
};

/** A write failure as a FileWriteError naming `file`, `what` (when the good file is kept) added. */
export const writeFailure = (file: string, err: unknown, kept = ''): FileWriteError => {
  if (err instanceof FileWriteError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const reason = REASONS[code] ?? `${code}: ${(err as Error).message}`;
  return new FileWriteError(file, code, `${reason}${kept}`);
};

/**
 * Creates directory `dir` (and its parents), or fails with a FileWriteError naming it and
 * the true reason: `mkdir -p` reports ENOENT on a read-only file system and a bare EEXIST
 * when the path is a file, so the deepest existing ancestor is examined instead.
 */
export const makeDir = (dir: string): void => {
  try {
    const st = fs.statSync(dir);
    if (st.isDirectory()) return;
    throw new FileWriteError(dir, 'ENOTDIR', 'it is a file, expected a directory (or a path that does not exist yet)');
  } catch (err) {
    if (err instanceof FileWriteError) throw err;
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    let parent = path.dirname(dir);
    let child = dir;
    while (!fs.existsSync(parent) && path.dirname(parent) !== parent) {
      child = parent;
      parent = path.dirname(parent);
    }
    if (fs.existsSync(parent) && !fs.statSync(parent).isDirectory())
      throw new FileWriteError(dir, 'ENOTDIR', `${parent} is a file, expected a directory`);
    try {
      fs.mkdirSync(child); // the first missing directory: its own error is the real one
    } catch (inner) {
      throw writeFailure(dir, inner);
    }
    throw writeFailure(dir, err);
  }
};

/** Writes every byte of `bytes` at the descriptor's position: write() may write fewer bytes than asked. */
export const writeAll = (fd: number, bytes: Uint8Array): void => {
  for (let off = 0; off < bytes.length;) {
    const n = fs.writeSync(fd, bytes, off, bytes.length - off);
    if (n <= 0) throw Object.assign(new Error('write() wrote 0 bytes'), { code: 'EIO' });
    off += n;
  }
};

const syncDir = (dir: string): void => {
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // directories cannot be fsynced on every platform; the rename is still atomic
  }
};

/**
 * Atomic file write: write every byte to a temp file beside the target, fsync it, check
 * its size, rename it over the target, fsync the directory. A crash leaves either the old
 * file or the new one; a failed write (a full disk) removes the temp file, keeps the old
 * file and throws a FileWriteError naming the target and the reason.
 */
export const writeFileAtomic = (file: string, data: Uint8Array | string): void => {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  writeFileAtomicWith(file, (write) => write(bytes));
};

/**
 * writeFileAtomic for content made piece by piece (`fill` calls `write` for each piece), so
 * a large file is never held in memory whole; the same guarantees.
 */
export const writeFileAtomicWith = (file: string, fill: (write: (bytes: Uint8Array) => void) => void): void => {
  const dir = path.dirname(file);
  const existed = fs.existsSync(file);
  const kept = existed ? '; the previous file is kept unchanged' : '';
  let tmp: string | null = null;
  try {
    makeDir(dir);
    tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
    const fd = fs.openSync(tmp, 'w');
    try {
      let written = 0;
      fill((bytes) => {
        writeAll(fd, bytes);
        written += bytes.length;
      });
      fs.fsyncSync(fd);
      const size = fs.fstatSync(fd).size;
      if (size !== written) throw Object.assign(new Error(`wrote ${size} of ${written} bytes`), { code: 'EIO' });
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    tmp = null;
  } catch (err) {
    if (tmp !== null) fs.rmSync(tmp, { force: true });
    // a system error names the file and its reason; anything else (a bug in `fill`) passes unchanged
    throw (err as NodeJS.ErrnoException).code === undefined ? err : writeFailure(file, err, kept);
  }
  syncDir(dir);
};

/** Keeps an earlier file aside (renamed `<file>.replaced-<time>`), never overwriting it; no-op when absent. */
export const keepAside = (file: string): void => {
  if (fs.existsSync(file)) fs.renameSync(file, `${file}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
};
