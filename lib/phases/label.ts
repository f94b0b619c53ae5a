/**
 * Phases are stored 0-based (an index into the schedule: step keys, recordings, checkpoints,
 * the live view's messages) and shown 1-based, as the paper counts them: "phase 1" is the
 * first. Every text a person reads goes through here.
 */

/** The number a person reads for phase index `index`. */
export const phaseNumber = (index: number): number => index + 1;

/** "phase 1" for index 0. */
export const phaseLabel = (index: number): string => `phase ${phaseNumber(index)}`;
