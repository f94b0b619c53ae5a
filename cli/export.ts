/**
 * `phased-dmd export`: a teacher or student checkpoint as tfjs or safetensors weights with its config,
 * optionally with the web page.
 */
import * as E from 'fp-ts/Either';
import * as path from 'path';
import { defineCommand } from './command';
import { choice, flag, str, UsageError } from './args';
import { backendOption, startBackend } from './backend';
import { EXPORT_FORMATS, ExportFormat, loadPortableCheckpoint, writeExport } from '../lib/portable/files';
import { openPortable } from '../lib/portable/open';
import { CheckpointError } from '../lib/checkpoint/format';
import { siteModelDir, writePage } from '../lib/portable/page';

export const exportCommand = defineCommand({
  name: 'export',
  summary:
    'Export a teacher or student checkpoint as tfjs or safetensors weights with its config ' +
    '(and, with --page, a web page that samples it).',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    model: str('checkpoint file (a run’s teacher.ckpt or student.ckpt)', 'checkpoint', { required: true }),
    format: choice(
      'file format: tfjs (a directory: model.json + weights.bin) or safetensors (one file)',
      EXPORT_FORMATS,
      { required: true },
    ),
    out: str('tfjs: the directory to write; safetensors: the file; with --page: the site directory', 'path', {
      required: true,
    }),
    page: flag(
      'tfjs only: write the sampling web page into --out and the model into <out>/student or <out>/teacher ' +
        '(export the teacher into the same site to compare)',
    ),
    backend: backendOption(),
  },
  description:
    'The export holds the weights (float32), the architecture, the student’s phase grids or the teacher’s ' +
    'sampler, and the training config; training state (Adam moments, fake score) is left out. The model is ' +
    'built from the export before anything is written, so a broken checkpoint writes nothing.',
  examples: [
    'phased-dmd export --model runs/phased/student.ckpt --format safetensors --out phased-student.safetensors',
    'phased-dmd export --model runs/phased/student.ckpt --format tfjs --page --out site',
    'phased-dmd export --model runs/teacher-ring8/teacher.ckpt --format tfjs --page --out site',
  ],
  run: async ({ options: o }, io) => {
    const format = o.format as ExportFormat;
    if (o.page && format !== 'tfjs') throw new UsageError('--page: the web page loads tfjs exports; use --format tfjs');
    if (format === 'safetensors' && path.extname(o.out!) !== '.safetensors')
      throw new UsageError(`--out: expected a .safetensors file, got ${JSON.stringify(o.out)}`);
    const portable = loadPortableCheckpoint(o.model!);
    if (E.isLeft(portable)) throw portable.left;
    const { description, tensors } = portable.right;
    await startBackend(o.backend);
    const opened = openPortable(description, tensors, 'weights');
    if (E.isLeft(opened)) throw new CheckpointError(o.model!, opened.left.message);
    const nfe = opened.right.nfe();
    opened.right.dispose();
    const target = o.page ? siteModelDir(o.out!, description.kind) : o.out!;
    const written = writeExport(target, format, description, tensors);
    if (o.page) written.push(...writePage(o.out!));
    io.stderr(
      `exported the ${description.kind} (${description.method}, ${nfe} steps, ${tensors.length} tensors) ` +
        `as ${format}: ${written.join(', ')}\n`,
    );
    if (o.page) io.stdout(`${path.resolve(o.out!)}\n`);
    return 0;
  },
});
