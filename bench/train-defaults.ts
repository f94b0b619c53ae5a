/**
 * How long `phased-dmd train` takes with its 2-D defaults (cli/train.ts trainDefaults):
 * runs a slice of the teacher and of each student's training (its DMD iterations, and its
 * regression warm-up) and extrapolates to the full budget. Prints wall time and this
 * process's CPU time (tfjs-wasm runs on one thread, so CPU time is what a free core would
 * take; wall time includes other load on the machine).
 *
 *   node_modules/.bin/tsx bench/train-defaults.ts [teacherSteps=200] [iterations=20]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { useBackend } from '../lib/backend';
import { trainDefaults } from '../cli/train';
import { runTeacher } from '../lib/train/teacher';
import { trainDistill } from '../lib/distill/distill';
import { MIXTURES } from '../lib/data/mixtures';
import { TEACHER_CHECKPOINT } from '../lib/checkpoint/files';

const timed = async <A>(f: () => Promise<A>): Promise<{ value: A; wall: number; cpu: number }> => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
};

const main = async (): Promise<void> => {
  const teacherSteps = Number(process.argv[2] ?? 200);
  const iterations = Number(process.argv[3] ?? 20);
  await useBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-defaults-'));
  const d = trainDefaults({ sampleShape: [2], numClasses: 8 }, 'standard');
  const fullSteps = d.teacher.steps as number;
  const fullIterations = d.student.iterations as number;
  const data = { kind: 'mixture', name: 'ring8' as const };
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}, ${os.cpus().length} cores; ring8 (${MIXTURES.ring8.centers.length} modes)`,
  );
  const teacher = await timed(() =>
    runTeacher(
      { method: 'teacher', data, ...d.teacher, steps: teacherSteps, logEvery: 1000 },
      { outDir: path.join(dir, 't'), log: () => undefined },
    ),
  );
  const perStep = { wall: teacher.wall / teacherSteps, cpu: teacher.cpu / teacherSteps };
  console.log(
    `teacher: ${teacherSteps} steps in ${teacher.wall.toFixed(1)} s wall, ${teacher.cpu.toFixed(1)} s CPU → ` +
      `${fullSteps} steps ≈ ${(perStep.wall * fullSteps).toFixed(0)} s wall, ` +
      `${(perStep.cpu * fullSteps).toFixed(0)} s CPU (target < 180 s)`,
  );
  const ckpt = path.join(dir, 't', TEACHER_CHECKPOINT);
  const warmupSlice = 100;
  for (const method of ['dmd', 'sgts', 'vanilla', 'phased'] as const) {
    const base = {
      method,
      teacher: ckpt,
      ...(method === 'dmd' ? {} : { steps: 4 }),
      ...(method === 'phased' ? { preset: '4x2' } : {}),
      ...d.student,
      iterations,
      logEvery: 1000,
    };
    const regression = method === 'dmd' ? d.dmdRegression : d.fewStepRegression;
    const train = async (config: Record<string, unknown>) => {
      const r = await timed(() => trainDistill(config as never, { log: () => undefined }));
      r.value.experts.forEach((e) => e.expert.dispose());
      r.value.teacher.dispose();
      return r;
    };
    // the DMD iterations alone, then with a slice of the warm-up: the difference is the warm-up's cost
    const plain = await train(regression ? { ...base, regression: { ...regression, warmup: 0 } } : base);
    const warm = regression ? await train({ ...base, regression: { ...regression, warmup: warmupSlice } }) : null;
    // the warm-up count is per phase, and so is the slice: their ratio scales the measured difference
    const full = (regression?.warmup as number | undefined) ?? 0;
    const part = (k: 'wall' | 'cpu') =>
      (plain[k] / iterations) * fullIterations + (warm === null ? 0 : ((warm[k] - plain[k]) / warmupSlice) * full);
    console.log(
      `${method}: ${iterations} iterations in ${plain.wall.toFixed(1)} s wall, ${plain.cpu.toFixed(1)} s CPU` +
        (warm === null ? '' : `; + ${warmupSlice} warm-up updates per phase: ${warm.wall.toFixed(1)} s wall`) +
        ` → ${fullIterations} iterations${full > 0 ? ` after ${full} warm-up updates per phase` : ''} ≈ ` +
        `${part('wall').toFixed(0)} s wall, ${part('cpu').toFixed(0)} s CPU (target < 300 s)`,
    );
  }
  teacher.value.model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
};

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
