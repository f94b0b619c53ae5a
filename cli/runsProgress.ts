/**
 * Progress of a job of many runs (an experiment: one run per seed and method) as a tap over
 * its run starts and step metrics. On a terminal: one bar per run, labelled
 * "seed 0 · sgts (3/15)", redrawn in place and left as a finished line when the next run
 * starts. Elsewhere (CI logs, files): a plain line at most every `intervalMs`. Both show the
 * whole job's estimated time left.
 *
 * The estimate: the current run's remaining iterations at its own pace, plus each later
 * run at the duration of a finished run of the same method, else at the seconds per
 * iteration measured so far on runs of its kind (a teacher step and a student iteration
 * differ several-fold, so neither prices the other). While no run of a kind has been timed,
 * the ETA is a lower bound, shown as ">0:42". Runs skipped over (reused from an earlier job)
 * cost nothing.
 */
import { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { WARMUP_ROLE } from '../lib/operators/distill/regressionWarmup';
import type { StepMetrics } from '../lib/stream/types';
import type { PlannedRun, RunStart } from '../lib/stream/runs';
import { describeLosses, fmtDuration, progressBar } from './progress';

export type RunsEvent = StepMetrics | RunStart;

export interface RunsProgressOptions {
  readonly write: (text: string) => void;
  /** Redraw a bar in place (stderr is a TTY) or print plain lines. */
  readonly tty: boolean;
  readonly columns?: number;
  /** Plain mode: at most one line per this many ms (default 10 s). */
  readonly intervalMs?: number;
  /** TTY mode: redraw at most this often (default 100 ms). */
  readonly redrawMs?: number;
  readonly now?: () => number;
}

interface RunState {
  readonly index: number;
  readonly plan: PlannedRun;
  readonly started: number;
  /** Iterations done per phase (a phase's `key.step` + 1; several role updates count once). */
  readonly done: number[];
  readonly losses: Map<string, number>;
  phase: number;
}

/** A finished run that trained: what later runs of its method are estimated from. */
interface Finished {
  readonly method: string;
  readonly seconds: number;
  readonly iterations: number;
}

const isRunStart = (e: RunsEvent): e is RunStart => 'runs' in e;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** "seed 0 · sgts (3/15)": runs are counted from 1. */
export const runLabel = (runs: readonly PlannedRun[], index: number): string =>
  `seed ${runs[index].seed} · ${runs[index].method} (${index + 1}/${runs.length})`;

/** Seconds per iteration of a run so far (null before its first iteration). */
const pace = (r: RunState, now: number): number | null =>
  sum(r.done) > 0 && now > r.started ? (now - r.started) / 1000 / sum(r.done) : null;

/** Teachers and students cost differently per iteration: one pace never prices the other. */
const kindOf = (method: string): 'teacher' | 'student' => (method === 'teacher' ? 'teacher' : 'student');

/** Seconds per iteration of the finished runs of a kind (null when none has finished). */
const pooledPace = (finished: readonly Finished[], kind: 'teacher' | 'student'): number | null => {
  const same = finished.filter((f) => kindOf(f.method) === kind);
  return same.length === 0 ? null : sum(same.map((f) => f.seconds)) / sum(same.map((f) => f.iterations));
};

/**
 * Seconds a later run will take: a finished run of its method, else the pace of finished runs of its kind, else the
 * current run's pace when it is of that kind; null when nothing comparable was measured yet.
 */
const estimate = (run: PlannedRun, finished: readonly Finished[], current: RunState, now: number): number | null => {
  const same = finished.filter((f) => f.method === run.method);
  if (same.length > 0) return sum(same.map((f) => f.seconds)) / same.length;
  const kind = kindOf(run.method);
  const p = pooledPace(finished, kind) ?? (kindOf(current.plan.method) === kind ? pace(current, now) : null);
  return p === null ? null : p * sum(run.totals);
};

/** The job's time left; `lowerBound` when some later run could not be priced yet (it counts as 0). */
export interface JobLeft {
  readonly seconds: number;
  readonly lowerBound: boolean;
}

/** The whole job's seconds left: the current run's remainder plus every later run's estimate. */
export const jobSecondsLeft = (
  current: RunState,
  finished: readonly Finished[],
  runs: readonly PlannedRun[],
  now: number,
): JobLeft | null => {
  const own = pace(current, now);
  const mine =
    own === null
      ? estimate(current.plan, finished, current, now)
      : own * (sum(current.plan.totals) - sum(current.done));
  if (mine === null) return null;
  const later = runs.slice(current.index + 1).map((r) => estimate(r, finished, current, now));
  return { seconds: mine + sum(later.map((s) => s ?? 0)), lowerBound: later.some((s) => s === null) };
};

/**
 * The text after the label and bar: iterations, phase (runs of several phases), speed, job ETA; then the losses (cut
 * first when the line is too long).
 */
const describeRun = (r: RunState, left: JobLeft | null, now: number): { core: string; losses: string } => {
  const phases = r.plan.totals.length;
  const phase = phases > 1 ? ` phase ${r.phase + 1}/${phases}` : '';
  const s = pace(r, now);
  const speed = s === null ? '' : ` ${1 / s >= 10 ? (1 / s).toFixed(0) : (1 / s).toFixed(2)} it/s`;
  const core =
    `${sum(r.done)}/${sum(r.plan.totals)}${phase}${speed} · experiment ETA ` +
    `${left === null ? '?' : `${left.lowerBound ? '>' : ''}${fmtDuration(left.seconds)}`}`;
  return { core, losses: describeLosses(r.losses) };
};

/** The progress tap: elements pass through unchanged. */
export const runsProgress =
  (options: RunsProgressOptions): MonoTypeOperatorFunction<RunsEvent> =>
  (source) =>
    new Observable<RunsEvent>((subscriber) => {
      const now = options.now ?? Date.now;
      const interval = options.intervalMs ?? 10_000;
      const redraw = options.redrawMs ?? 100;
      const columns = options.columns ?? 100;
      const finished: Finished[] = [];
      let runs: readonly PlannedRun[] = [];
      let current: RunState | null = null;
      /** The next run not yet started or skipped. */
      let reached = 0;
      let lastPrint = -Infinity;
      let drawn = false;
      const fit = (text: string): string => text.slice(0, Math.max(20, columns - 1));

      const line = (r: RunState, t: number): string => {
        const label = runLabel(runs, r.index);
        const { core, losses } = describeRun(r, jobSecondsLeft(r, finished, runs, t), t);
        const tail = losses ? ` · ${losses}` : '';
        if (!options.tty) return `${label} ${core}${tail}`;
        const width = Math.max(10, Math.min(30, columns - 1 - label.length - core.length - 4));
        return fit(`${label} ${progressBar(sum(r.done), sum(r.plan.totals), width)} ${core}${tail}`);
      };
      const show = (r: RunState, t: number): void => {
        lastPrint = t;
        if (options.tty) {
          options.write(`\r\x1b[2K${line(r, t)}`);
          drawn = true;
        } else options.write(`${line(r, t)}\n`);
      };
      /**
       * Ends the current run before run `next` (or the end): on a terminal its finished line stays; runs skipped over
       * are listed as reused.
       */
      const endRun = (t: number, next: number): void => {
        const r = current;
        if (r !== null) {
          const seconds = (t - r.started) / 1000;
          if (sum(r.done) > 0) finished.push({ method: r.plan.method, seconds, iterations: sum(r.done) });
          if (options.tty) {
            const label = runLabel(runs, r.index);
            const end =
              sum(r.done) > 0
                ? `${progressBar(1, 1, 30)} ${sum(r.done)}/${sum(r.plan.totals)} done in ${fmtDuration(seconds)}`
                : `reused from an earlier run`;
            options.write(`\r\x1b[2K${fit(`${label} ${end}`)}\n`);
            drawn = false;
          }
        }
        if (options.tty)
          for (let k = reached; k < Math.min(next, runs.length); k++)
            options.write(`\r\x1b[2K${fit(`${runLabel(runs, k)} reused from an earlier run`)}\n`);
        reached = Math.max(reached, next + 1);
        current = null;
      };

      const sub = source.subscribe({
        next: (e) => {
          const t = now();
          if (isRunStart(e)) {
            runs = e.runs;
            endRun(t, e.index);
            // index = the number of runs: every run is over (what follows is the job's own work, e.g. its report)
            if (e.index < e.runs.length)
              current = {
                index: e.index,
                plan: e.runs[e.index],
                started: t,
                done: e.runs[e.index].totals.map(() => 0),
                losses: new Map(),
                phase: 0,
              };
          } else if (current !== null) {
            const r: RunState = current;
            r.phase = Math.min(e.key.phase, r.done.length - 1);
            // warm-up updates come before the run's iterations and are not among them
            if (e.role !== WARMUP_ROLE) r.done[r.phase] = Math.max(r.done[r.phase], e.key.step + 1);
            if (e.loss !== null && Number.isFinite(e.loss)) r.losses.set(e.role, e.loss);
            if (t - lastPrint >= (options.tty ? redraw : interval)) show(r, t);
          }
          subscriber.next(e);
        },
        error: (err) => {
          if (drawn) options.write('\n');
          drawn = false;
          subscriber.error(err);
        },
        complete: () => {
          endRun(now(), runs.length);
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        if (drawn) options.write('\n');
      };
    });
