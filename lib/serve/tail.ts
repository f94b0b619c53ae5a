/**
 * A growing file as a stream of complete lines: reads what is there, then polls for
 * appended bytes (fs.watch misses events on some file systems; a stat every `pollMs` is
 * cheap and certain). A line is emitted once its newline has arrived, so a half-written
 * append is never seen; a file that does not exist yet is waited for.
 */
import * as fs from 'fs';
import { Observable } from 'rxjs';
import type { RawLine } from '../record/reader';

export interface TailOptions {
  readonly pollMs?: number;
  /** Complete at the end of the file instead of following it. */
  readonly follow?: boolean;
}

export const tailLines = (file: string, options: TailOptions = {}): Observable<RawLine> =>
  new Observable<RawLine>((subscriber) => {
    const pollMs = options.pollMs ?? 250;
    const follow = options.follow ?? true;
    let position = 0;
    let line = 0;
    let pending = Buffer.alloc(0);
    let timer: NodeJS.Timeout | null = null;
    let closed = false;
    const buf = Buffer.alloc(1 << 20);

    const poll = (): void => {
      timer = null;
      if (closed) return;
      try {
        if (fs.existsSync(file)) {
          const size = fs.statSync(file).size;
          if (size < position) {
            subscriber.error(new Error(`${file} shrank from ${position} to ${size} bytes while being followed`));
            return;
          }
          if (size > position) {
            const fd = fs.openSync(file, 'r');
            try {
              while (position < size && !closed) {
                const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - position), position);
                if (n === 0) break;
                const start = position - pending.length;
                let chunk = Buffer.concat([pending, buf.subarray(0, n)]);
                position += n;
                let from = 0;
                for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, from)) {
                  line++;
                  subscriber.next({ line, text: chunk.subarray(from, i).toString('utf8'), complete: true, offset: start + from });
                  from = i + 1;
                }
                chunk = chunk.subarray(from);
                pending = Buffer.from(chunk);
              }
            } finally {
              fs.closeSync(fd);
            }
          }
        }
      } catch (err) {
        subscriber.error(err);
        return;
      }
      if (!follow) subscriber.complete();
      else if (!closed) timer = setTimeout(poll, pollMs);
    };
    poll();
    return () => {
      closed = true;
      if (timer !== null) clearTimeout(timer);
    };
  });
