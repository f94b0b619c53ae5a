import * as fs from 'fs';
import * as E from 'fp-ts/Either';

/**
 * Reads a whole file that must be a regular file of at most `maxBytes` bytes. A device
 * (/dev/zero), a FIFO or a directory is refused without reading it: reading one could
 * fill memory or never return. Left: the reason, in words, without the path.
 */
export const readRegularFile = (file: string, maxBytes: number): E.Either<string, Buffer> => {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return E.left(
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, expected a file'
          : `cannot read (${code ?? (err as Error).message})`,
    );
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) return E.left('is a directory, expected a file');
    if (!st.isFile()) return E.left('not a regular file (a device, FIFO or socket is never read)');
    if (st.size > maxBytes) return E.left(`is ${mib(st.size)}, larger than the ${mib(maxBytes)} read at most`);
    const buf = Buffer.alloc(st.size);
    for (let off = 0; off < st.size;) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) return E.left(`shrank to ${off} bytes while being read`);
      off += n;
    }
    return E.right(buf);
  } catch (err) {
    return E.left(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    fs.closeSync(fd);
  }
};

const mib = (bytes: number): string => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} bytes`);
