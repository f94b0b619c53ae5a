/**
 * Shared by `run` and `train`: start the backend, show progress, run the pipeline into
 * its directory, rebuild the report from the recording, say where everything is.
 */
import * as path from 'path';
import { Subject, Subscription, filter } from 'rxjs';
import type { StepMetrics } from '../lib/stream/types';
import { progress } from './progress';
import { runsProgress, RunsEvent } from './runsProgress';
import { runPipeline, PipelineRunResult } from './runPipeline';
import { buildReport } from './runReport';
import type { LoadedConfig } from './loadConfig';
import type { Io } from './command';
import { phaseTotals } from './pipelineConfig';

export interface ExecuteOptions {
  readonly outDir: string;
  readonly resume: boolean;
  readonly overwrite: boolean;
  readonly force: boolean;
  readonly truncateRecording?: boolean;
  readonly verbose: boolean;
  /** Skip the report (figures) after the run. */
  readonly noReport?: boolean;
  /**
   * Says which kernels run: called when the first step (or an experiment's first run) starts, after the checks of the
   * input.
   */
  readonly kernels?: () => void;
}

/** One bar per phase of a single run; one bar per run of an experiment (many runs, one job ETA). */
const progressDisplay = (
  loaded: LoadedConfig,
  io: Io,
): { readonly events: Subject<RunsEvent>; readonly shown: Subscription } => {
  const events = new Subject<RunsEvent>();
  const display = { write: io.stderr, tty: io.stderrIsTTY, columns: io.columns };
  const shown =
    loaded.kind === 'experiment'
      ? events.pipe(runsProgress(display)).subscribe({ error: () => undefined })
      : events
          .pipe(
            filter((e): e is StepMetrics => !('runs' in e)),
            progress({ ...display, totals: phaseTotals(loaded), label: loaded.method }),
          )
          .subscribe({ error: () => undefined });
  return { events, shown };
};

export const execute = async (loaded: LoadedConfig, o: ExecuteOptions, io: Io): Promise<PipelineRunResult> => {
  const { events, shown } = progressDisplay(loaded, io);
  const line = (text: string) => io.stderr(`${io.stderrIsTTY ? '\r\x1b[2K' : ''}${text}\n`);
  // metric lines (every logEvery) only with --verbose: the progress display shows the latest losses; an experiment's
  // own lines (which run starts, what it reused) always show
  const log = o.verbose || loaded.kind === 'experiment' ? line : () => undefined;
  const metricLog = o.verbose ? line : () => undefined;
  let result: PipelineRunResult;
  try {
    result = await runPipeline(loaded, {
      outDir: o.outDir,
      resume: o.resume,
      overwrite: o.overwrite,
      force: o.force,
      truncateRecording: o.truncateRecording,
      log,
      metricLog,
      onStep: (m) => {
        o.kernels?.();
        events.next(m);
      },
      onRun: (r) => {
        o.kernels?.();
        events.next(r);
      },
    });
    events.complete();
  } catch (err) {
    events.error(err);
    throw err;
  } finally {
    shown.unsubscribe();
  }
  const resumed = result.resumedFrom > 0 ? ` (resumed at step ${result.resumedFrom})` : '';
  // an experiment's or sweep's time also holds its sampling, metrics and report (and nothing trained if all was reused)
  const did = loaded.kind === 'experiment' ? 'done' : 'trained';
  io.stderr(`${loaded.method}: ${did} in ${result.seconds.toFixed(1)} s${resumed}\n`);
  if (result.checkpoint !== null) io.stdout(`checkpoint: ${result.checkpoint}\n`);
  if (result.recording !== null) io.stdout(`recording:  ${result.recording}\n`);
  if (result.report !== null) io.stdout(`report:     ${result.report}\n`);
  else if (!o.noReport && result.recording !== null) {
    const report = await buildReport(o.outDir, result.recording);
    io.stdout(
      `report:     ${path.join(o.outDir, 'report.md')}\n${report.files
        .filter((f) => f.endsWith('.png'))
        .map((f) => `figure:     ${f}\n`)
        .join('')}`,
    );
  }
  return result;
};
