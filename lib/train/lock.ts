/**
 * A run directory's lock: one process at a time writes a run (checkpoints, recording).
 * Two processes training into the same directory would interleave their checkpoints and
 * recordings; the second is refused, naming the lock file and the process holding it.
 *
 * `<dir>/.phased-dmd.lock` holds the owner's pid, host, process start time and a token.
 * It is created atomically with its content (a temp file hard-linked into place, which
 * fails when the lock exists) and removed when the run ends, however it ends. A lock
 * left by a process that died (SIGKILL, power loss) is stale: its pid is gone, or now
 * names another process (a different start time), and the next run takes it over.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { processAlive, processStartTime } from '../util/process';

export const LOCK_FILE = '.phased-dmd.lock';

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  /** The owner's start time (processStartTime), null where unknown. */
  readonly start: string | null;
  readonly since: string;
  readonly token: string;
}

/** The run directory is being written by another process (or another run in this one). */
export class RunLockedError extends Error {
  constructor(
    readonly file: string,
    readonly holder: { readonly pid: number; readonly host: string; readonly since: string },
  ) {
    super(
      `${path.dirname(file)} is being written by another run: ${file} is held by process ${holder.pid}` +
        `${holder.pid === process.pid && holder.host === os.hostname() ? ' (this process)' : ''}` +
        `${holder.host === os.hostname() ? '' : ` on host ${holder.host}`} since ${holder.since}. ` +
        'Wait for that run to end, or choose another output directory (--out, outDir); if no such run exists any ' +
        'more, delete the lock file.',
    );
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  readonly file: string;
  /** Removes the lock if it is still this one's (idempotent). */
  release(): void;
}

const readLock = (file: string): { raw: string; info: LockInfo | null } | null => {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const o = JSON.parse(raw) as Partial<LockInfo>;
    return {
      raw,
      info:
        typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string' ? (o as LockInfo) : null,
    };
  } catch {
    return { raw, info: null };
  }
};

/** Held: its process is running on this host (or on another host, where that cannot be checked). */
const held = (info: LockInfo): boolean => {
  if (info.host !== os.hostname()) return true;
  if (!processAlive(info.pid)) return false;
  const start = processStartTime(info.pid);
  return info.start === null || start === null || start === info.start;
};

/** Takes the lock of `dir` (created if missing); throws RunLockedError while another run holds it. */
export const acquireRunLock = (dir: string): RunLock => {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    start: processStartTime(process.pid),
    since: new Date().toISOString(),
    token: randomUUID(),
  };
  const mine = JSON.stringify(info);
  // the atomic-write temp naming (lib/util/atomicWrite), so a resume clears one a killed process left
  const tmp = path.join(dir, `.${LOCK_FILE}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, `${mine}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const current = readLock(file);
      if (current === null) continue; // released meanwhile
      if (current.info !== null && held(current.info)) throw new RunLockedError(file, current.info);
      // stale (or unreadable: our locks are never written partially): move it away, then check it is the one judged
      // stale
      const aside = `${file}.stale-${process.pid}-${attempt}`;
      try {
        fs.renameSync(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process took it over first
        throw err;
      }
      const moved = fs.readFileSync(aside, 'utf8');
      if (moved !== current.raw) {
        // another process replaced the stale lock in between: put its lock back, it holds the directory
        try {
          fs.linkSync(aside, file);
        } catch {
          // yet another lock is in place
        }
        fs.rmSync(aside, { force: true });
        const other = readLock(file)?.info;
        if (other) throw new RunLockedError(file, other);
        continue;
      }
      fs.rmSync(aside, { force: true });
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  return {
    file,
    release: () => {
      if (released) return;
      released = true;
      if (readLock(file)?.info?.token === info.token) fs.rmSync(file, { force: true });
    },
  };
};

/** Runs `f` holding the lock of `dir` (no lock without a directory: nothing is written); released when `f` settles. */
export const withRunLock = async <T>(dir: string | undefined, f: () => Promise<T>): Promise<T> => {
  if (dir === undefined) return f();
  const lock = acquireRunLock(dir);
  try {
    return await f();
  } finally {
    lock.release();
  }
};
