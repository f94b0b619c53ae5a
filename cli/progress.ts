/**
 * Training progress as a tap over StepMetrics: on a terminal, one bar per phase redrawn in
 * place (step, latest loss per role, iterations/s, ETA); elsewhere (CI logs, files) a
 * plain line at each phase start, every `intervalMs`, and at each phase end.
 *
 * A phase's progress is its iteration index `key.step` (distillation emits several
 * role updates per iteration: they count once). Losses are only read from the device
 * when due, so the latest known value per role is shown.
 */
import { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { WARMUP_ROLE } from '../lib/operators/distill/regressionWarmup';
import type { StepMetrics } from '../lib/stream/types';

export interface ProgressOptions {
  readonly write: (text: string) => void;
  /** Redraw a bar in place (stderr is a TTY) or print plain lines. */
  readonly tty: boolean;
  readonly columns?: number;
  /** Iterations of each phase, when known. */
  readonly totals?: readonly number[];
  /** Plain mode: at most one line per this many ms (default 10 s). */
  readonly intervalMs?: number;
  /** TTY mode: redraw at most this often (default 100 ms). */
  readonly redrawMs?: number;
  readonly now?: () => number;
  /** A label before each line ("teacher", "phased"). */
  readonly label?: string;
}

interface PhaseState {
  readonly phase: number;
  readonly started: number;
  done: number;
  readonly losses: Map<string, number>;
  lastPrint: number;
}

const fmtLoss = (v: number): string =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(4);

export const fmtDuration = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
};

/** The latest loss of each role: "fake=0.1234 generator=0.5678". */
export const describeLosses = (losses: ReadonlyMap<string, number>): string =>
  [...losses.entries()].map(([role, v]) => `${role}=${fmtLoss(v)}`).join(' ');

/** Iterations per second since the phase started (null before a measurable interval). */
const rate = (p: PhaseState, now: number): number | null =>
  now > p.started && p.done > 0 ? (p.done * 1000) / (now - p.started) : null;

/** The text of one progress report (without bar), shared by both modes. */
export const describe = (p: PhaseState, total: number | undefined, phases: number | undefined, now: number): string => {
  const r = rate(p, now);
  const phase = `phase ${p.phase + 1}${phases !== undefined ? `/${phases}` : ''}`;
  const step = total !== undefined ? `${p.done}/${total}` : `${p.done}`;
  const losses = describeLosses(p.losses);
  const speed = r === null ? '' : ` ${r >= 10 ? r.toFixed(0) : r.toFixed(2)} it/s`;
  const eta = r !== null && total !== undefined && p.done < total ? ` ETA ${fmtDuration((total - p.done) / r)}` : '';
  return `${phase} ${step}${losses ? ` ${losses}` : ''}${speed}${eta}`;
};

export const progressBar = (done: number, total: number, width: number): string => {
  const filled = Math.max(0, Math.min(width, Math.round((done / total) * width)));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
};

/** The progress tap: elements pass through unchanged. */
export const progress =
  (options: ProgressOptions): MonoTypeOperatorFunction<StepMetrics> =>
  (source) =>
    new Observable<StepMetrics>((subscriber) => {
      const now = options.now ?? Date.now;
      const interval = options.intervalMs ?? 10_000;
      const redraw = options.redrawMs ?? 100;
      const totals = options.totals;
      const phases = totals?.length;
      const prefix = options.label ? `${options.label}: ` : '';
      let current: PhaseState | null = null;
      let drawn = false;

      const line = (p: PhaseState, t: number): string => {
        const total = totals?.[p.phase];
        const text = `${prefix}${describe(p, total, phases, t)}`;
        if (!options.tty || total === undefined) return text;
        const width = Math.max(10, Math.min(30, (options.columns ?? 100) - text.length - 2));
        const withBar = `${prefix}${progressBar(p.done, total, width)} ${describe(p, total, phases, t)}`;
        return withBar.slice(0, Math.max(20, (options.columns ?? 100) - 1));
      };
      const show = (p: PhaseState, t: number, final: boolean): void => {
        p.lastPrint = t;
        if (options.tty) {
          options.write(`\r\x1b[2K${line(p, t)}${final ? '\n' : ''}`);
          drawn = !final;
        } else options.write(`${line(p, t)}${final ? ' done' : ''}\n`);
      };
      const endPhase = (t: number): void => {
        if (current !== null) show(current, t, true);
        current = null;
      };

      const sub = source.subscribe({
        next: (m) => {
          const t = now();
          if (current === null || current.phase !== m.key.phase) {
            endPhase(t);
            current = { phase: m.key.phase, started: t, done: 0, losses: new Map(), lastPrint: -Infinity };
            if (!options.tty) show(current, t, false);
          }
          const p: PhaseState = current;
          // warm-up updates come before the phase's iterations and are not among them
          if (m.role !== WARMUP_ROLE) p.done = Math.max(p.done, m.key.step + 1);
          if (m.loss !== null && Number.isFinite(m.loss)) p.losses.set(m.role, m.loss);
          if (t - p.lastPrint >= (options.tty ? redraw : interval)) show(p, t, false);
          subscriber.next(m);
        },
        error: (err) => {
          if (drawn) options.write('\n');
          subscriber.error(err);
        },
        complete: () => {
          endPhase(now());
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        if (drawn && current !== null) options.write('\n');
      };
    });
