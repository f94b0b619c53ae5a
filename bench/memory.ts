/**
 * `npm run bench -- --memory [--steps N] [--models mlp|unet]`: memory flatness over long
 * runs. Runs N teacher steps of a small model (the MLP by default; the U-Net is the
 * bench's, at batch 16), then Phased DMD (4 steps / 2 phases) for about N optimiser updates,
 * through the real streams, and prints live tensors, tensor bytes, RSS and the wasm heap
 * at intervals. Flat = the same tensor count at every report within a phase.
 */
import * as tf from '@tensorflow/tfjs-core';
import { filter, lastValueFrom, tap } from 'rxjs';
import { useBackend, defaultBackend, nativeStatus } from '../lib/backend';
import { mixtureDataset } from '../lib/data/mixtures';
import { buildModel } from '../lib/models/build';
import type { ModelConfig } from '../lib/models/config';
import { makeTrainer } from '../lib/optim/trainer';
import { isPhaseEnd } from '../lib/phases/concat';
import type { DistillSettings, DistillState } from '../lib/distill/segment';
import type { StepMetrics } from '../lib/stream/types';
import { teacherSteps, resolveTeacherConfig } from '../lib/teacher/teacher';
import { distillSteps } from '../lib/distill/distill';
import { phasesFor, datasetFor, MODEL_SETUPS, ModelKind } from './workloads';
import type { Dataset } from '../lib/data/types';

const MB = 1024 * 1024;

interface Row {
  readonly what: string;
  readonly step: number;
  readonly tensors: number;
  readonly bytes: number;
}

/** A full collection first when node runs with --expose-gc, so JS heap figures show live data only. */
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

const report = (rows: Row[], what: string, step: number): void => {
  collect();
  const m = tf.memory();
  const row = { what, step, tensors: m.numTensors, bytes: m.numBytes };
  rows.push(row);
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.byteLength;
  const mem = process.memoryUsage();
  console.log(
    `${what.padEnd(22)} ${String(step).padStart(6)}  tensors ${String(row.tensors).padStart(6)}  tensor MB ` +
      `${(row.bytes / MB).toFixed(3).padStart(8)}  JS heap MB ${(mem.heapUsed / MB).toFixed(1).padStart(6)}  RSS MB ` +
      `${(mem.rss / MB).toFixed(0).padStart(5)}${heap !== undefined ? `  wasm heap MB ${(heap / MB).toFixed(0)}` : ''}`,
  );
};

/** Flat when every report of a segment (after its first) has the same tensor count and bytes. */
const verdict = (rows: Row[]): string => {
  const bySegment = new Map<string, Row[]>();
  rows.forEach((r) => bySegment.set(r.what, [...(bySegment.get(r.what) ?? []), r]));
  return [...bySegment]
    .map(([what, rs]) => {
      const later = rs.slice(1);
      const flat = later.every((r) => r.tensors === later[0].tensors && r.bytes === later[0].bytes);
      return `${what}: ${flat ? 'flat' : 'NOT flat'} (${later.map((r) => r.tensors).join(', ')} tensors)`;
    })
    .join('\n');
};

/** The small models the memory run trains (a leak shows per step whatever the width). */
const MEMORY_SETUPS: Record<ModelKind, { model: ModelConfig; dataset: () => Dataset; batch: number }> = {
  mlp: {
    model: { kind: 'mlp', dim: 2, numClasses: 8, hidden: [64, 64], timeEmbedDim: 16, seed: 1 } as ModelConfig,
    dataset: () => mixtureDataset('ring8'),
    batch: 64,
  },
  unet: { model: { ...MODEL_SETUPS.unet.config }, dataset: () => datasetFor('unet'), batch: 16 },
};

export const memoryMode = async (steps: number, kind: ModelKind = 'mlp'): Promise<void> => {
  await useBackend(defaultBackend());
  const setup = MEMORY_SETUPS[kind];
  console.log(
    `memory over ${steps} steps, ${kind}, batch ${setup.batch} — backend ` +
      `${tf.getBackend()}${nativeStatus().active ? ' + native BLAS kernels' : ''}`,
  );
  const every = Math.max(1, Math.floor(steps / 10));
  const rows: Row[] = [];
  if ((globalThis as { gc?: unknown }).gc === undefined)
    console.log('(run node with --expose-gc for JS heap figures after a full collection)');
  const baseline = tf.memory().numTensors;

  // 1. teacher: `steps` flow-matching steps
  // the data entry only names a set; the stream gets `setup.dataset()` directly
  const config = {
    ...resolveTeacherConfig({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' } }),
    batchSize: setup.batch,
    steps,
  };
  const model = buildModel(setup.model);
  const trainer = makeTrainer(model.params.variables, config, config);
  report(rows, 'start', 0);
  await lastValueFrom(
    teacherSteps({ dataset: setup.dataset(), model, trainer }, config).pipe(
      tap((m) => (m.key.step + 1) % every === 0 && report(rows, 'teacher', m.key.step + 1)),
    ),
  );
  trainer.optimizer.dispose();
  model.params.setTrainable(false);

  // 2. Phased DMD, 4 steps / 2 phases, ~`steps` optimiser updates (6 per iteration)
  const iterations = Math.max(2, Math.round(steps / 6 / 2) * 2);
  const phases = phasesFor('phased', setup.batch, 1).map((p) => ({ ...p, iterations: iterations / 2 }));
  const settings: DistillSettings = {
    teacher: model,
    seed: 3,
    shift: 5,
    backprop: 'sgts',
    gradient: 'reference',
    betas: [0, 0.999],
    optimise: { metricsDue: (k) => k.step % 50 === 0 },
  };
  let updates = 0;
  let final: DistillState = { experts: [] };
  const iterEvery = Math.max(1, Math.floor(iterations / 2 / 5));
  await lastValueFrom(
    distillSteps(settings, phases).pipe(
      tap((e) => {
        if (isPhaseEnd<DistillState>(e)) final = e.state;
      }),
      filter((e): e is StepMetrics => !isPhaseEnd(e)),
      tap((m) => {
        updates++;
        if (m.role === 'generator' && (m.key.step + 1) % iterEvery === 0)
          report(rows, `phased DMD, phase ${m.key.phase + 1}`, updates);
      }),
    ),
  );
  final.experts.forEach((e) => e.expert.dispose());
  model.dispose();
  report(rows, 'end (all disposed)', updates);
  console.log(`\n${verdict(rows.filter((r) => r.what !== 'start' && !r.what.startsWith('end')))}`);
  const end = rows[rows.length - 1];
  console.log(
    `tensors before the run ${baseline}, after everything was disposed ` +
      `${end.tensors}${end.tensors === baseline ? ' (none leaked)' : ' (LEAK)'}`,
  );
};
