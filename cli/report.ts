/** `phased-dmd report <run-dir>`: rebuild report.md, metrics.json and the figures from the run's recording. */
import { defineCommand } from './command';
import { str } from './args';
import { backendOption, startBackend } from './backend';
import * as fs from 'fs';
import * as path from 'path';
import { buildReport } from './runReport';
import { EXPERIMENT_FILE } from '../pipelines/experiment';
import { buildExperimentReport } from '../pipelines/experimentReport';
import { SWEEP_FILE } from '../pipelines/sweep';
import { buildSweepReport } from '../pipelines/sweepReport';

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'Rebuild a run’s report (report.md, metrics.json, figures/) from its recording, without retraining.',
  args: '<run-dir>',
  positionals: { min: 1, max: 1 },
  options: {
    recording: str('the recording to read (default <run-dir>/recording.ndjson)', 'file'),
    backend: backendOption(),
  },
  description:
    'Works on finished, failed and interrupted runs alike (a torn last line is reported and skipped). An experiment ' +
    'directory (with experiment.json) gets its comparison report rebuilt from its per-run recordings.',
  examples: ['phased-dmd report runs/phased'],
  run: async ({ options: o, positionals }, io) => {
    if (o.recording === undefined && fs.existsSync(path.join(positionals[0], EXPERIMENT_FILE))) {
      // image and video tasks recompute metrics with tensors (the feature classifier, features)
      await startBackend(o.backend);
      const r = await buildExperimentReport(positionals[0], { log: (l) => io.stderr(`${l}\n`) });
      io.stdout(`${r.files.join('\n')}\n`);
      return 0;
    }
    if (o.recording === undefined && fs.existsSync(path.join(positionals[0], SWEEP_FILE))) {
      // a sweep's report is rebuilt from its sample sets; unfinished cells are listed, not fatal
      await startBackend(o.backend);
      const r = await buildSweepReport(positionals[0], { log: (l) => io.stderr(`${l}\n`) });
      io.stdout(`${r.files.join('\n')}\n`);
      return 0;
    }
    const report = await buildReport(positionals[0], o.recording);
    for (const i of report.summary.issues) io.stderr(`warning: recording ${i.file}, line ${i.line}: ${i.message}\n`);
    io.stdout(`${report.files.join('\n')}\n`);
    io.stderr(`${report.summary.status} run, ${report.summary.events} events; report rebuilt\n`);
    return 0;
  },
});
