import * as fs from 'fs';
import * as path from 'path';

/**
 * Atomic file write: write a temp file beside the target, fsync it, rename it over the
 * target, fsync the directory. A crash leaves either the old file or the new one.
 */
export const writeFileAtomic = (file: string, data: Uint8Array | string): void => {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // directories cannot be fsynced on every platform; the rename is still atomic
  }
};

/** Keeps an earlier file aside (renamed `<file>.replaced-<time>`), never overwriting it; no-op when absent. */
export const keepAside = (file: string): void => {
  if (fs.existsSync(file)) fs.renameSync(file, `${file}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
};
