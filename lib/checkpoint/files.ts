/** The files of a run directory, by role: every reader and writer names them from here. */

/** A teacher: its weights, and its optimiser state while training (resumable). */
export const TEACHER_CHECKPOINT = 'teacher.ckpt';
/** A distillation in progress: the last good state, written along the way and at phase boundaries. */
export const PROGRESS_CHECKPOINT = 'last.ckpt';
/** A finished student: its experts and their time grids. */
export const STUDENT_CHECKPOINT = 'student.ckpt';
/** The run's recording (lib/record). */
export const RECORDING_FILE = 'recording.ndjson';
