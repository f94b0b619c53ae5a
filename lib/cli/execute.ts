/**
 * Shared by `run` and `train`: start the backend, show progress, run the pipeline into
 * its directory, rebuild the report from the recording, say where everything is.
 */
import * as path from 'path';
import { Subject } from 'rxjs';
import type { StepMetrics } from '../stream/types';
import { progress } from './progress';
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
  readonly verbose: boolean;
  /** Skip the report (figures) after the run. */
  readonly noReport?: boolean;
}

export const execute = async (loaded: LoadedConfig, o: ExecuteOptions, io: Io): Promise<PipelineRunResult> => {
  const steps = new Subject<StepMetrics>();
  const bar = steps.pipe(progress({ write: io.stderr, tty: io.stderrIsTTY, columns: io.columns, totals: phaseTotals(loaded), label: loaded.method })).subscribe({ error: () => undefined });
  // metric lines (every logEvery) only with --verbose, the progress display already shows losses; an experiment (many runs) always logs
  const log = o.verbose || loaded.kind === 'experiment' ? (line: string) => io.stderr(`${io.stderrIsTTY ? '\r\x1b[2K' : ''}${line}\n`) : () => undefined;
  let result: PipelineRunResult;
  try {
    result = await runPipeline(loaded, { outDir: o.outDir, resume: o.resume, overwrite: o.overwrite, force: o.force, log, onStep: (m) => steps.next(m) });
    steps.complete();
  } catch (err) {
    steps.error(err);
    throw err;
  } finally {
    bar.unsubscribe();
  }
  const resumed = result.resumedFrom > 0 ? ` (resumed at step ${result.resumedFrom})` : '';
  io.stderr(`${loaded.method}: trained in ${result.seconds.toFixed(1)} s${resumed}\n`);
  if (result.checkpoint !== null) io.stdout(`checkpoint: ${result.checkpoint}\n`);
  if (result.recording !== null) io.stdout(`recording:  ${result.recording}\n`);
  if (result.report !== null) io.stdout(`report:     ${result.report}\n`);
  else if (!o.noReport && result.recording !== null) {
    const report = await buildReport(o.outDir, result.recording);
    io.stdout(`report:     ${path.join(o.outDir, 'report.md')}\n${report.files.filter((f) => f.endsWith('.png')).map((f) => `figure:     ${f}\n`).join('')}`);
  }
  return result;
};
