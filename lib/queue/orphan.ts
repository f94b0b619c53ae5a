/**
 * A job's process outliving its worker. BullMQ runs each job in a child process; when
 * the worker is killed (SIGKILL, a machine lost) the child is not, and would go on
 * writing the run directory while another worker retries the job. Training runs
 * synchronously, so the check is a call made at every step: the child exits as soon as
 * its parent is gone (Linux hands an orphan to another parent).
 */
const parentAtStart = process.ppid;

/** Exits this process when the process that started it has died. */
export const exitIfOrphaned = (): void => {
  if (process.ppid !== parentAtStart) process.exit(137);
};
