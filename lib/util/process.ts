/** Whether a process is running, and which one it is (a pid can be reused after its process ends). */
import * as fs from 'fs';

/** Linux /proc/<pid>/stat fields after the command name "(…)" (which may hold spaces and parentheses), or null. */
const statFields = (pid: number): string[] | null => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
};

/**
 * Whether a process with this pid is running (EPERM: it is, owned by another user). A
 * zombie — killed, not yet reaped by its parent — is not.
 */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = statFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
};

/**
 * The process's start time in clock ticks since boot (Linux /proc/<pid>/stat, field 22),
 * or null where that cannot be read: with the pid it names one process, not its successors.
 */
export const processStartTime = (pid: number): string | null => statFields(pid)?.[19] ?? null;
