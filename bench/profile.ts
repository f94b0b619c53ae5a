/**
 * `npm run bench -- --profile [--models mlp,unet] [--only sample]`: where an iteration's
 * time goes on the active kernels. Per workload: wall time (median of timed iterations),
 * kernel calls, the time inside kernels and around them (tfjs's per-kernel bookkeeping and
 * the framework's own JavaScript), that outside time per kernel call, the bytes the kernels
 * allocate, and the heaviest kernels. A floor for the per-kernel cost is measured first: a
 * scalar add and the disposal of its result, repeated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, nativeStatus } from '../lib/backend';
import { ModelKind, MODEL_SETUPS, buildTeacher, workloadMakers } from './workloads';
import { MB, fmt, quantile, timeBlock } from './timing';
import { KernelCall, kernelCalls, outputBytes } from './flops';

/**
 * µs per call of a kernel that does (almost) nothing: tfjs's cost per kernel call on this
 * backend. Measured in this process's CPU time (one thread), which other processes on a
 * shared machine disturb far less than wall time.
 */
export const kernelCallFloor = (calls = 20_000): number => {
  const a = tf.scalar(1);
  const b = tf.scalar(2);
  const run = (n: number): number => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) tf.add(a, b).dispose();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  run(1000);
  const ms = Math.min(run(calls), run(calls));
  tf.dispose([a, b]);
  return (ms * 1000) / calls;
};

interface KernelTotals {
  readonly calls: number;
  readonly kernelMs: number;
  readonly bytes: number;
  readonly byName: ReadonlyMap<string, { calls: number; ms: number }>;
}

/**
 * One iteration's kernels: of `tries` profiled iterations, the one with the least time in kernels (the least
 * disturbed).
 */
const profiled = async (f: () => void, tries: number): Promise<KernelTotals> => {
  let best: KernelCall[] | null = null;
  for (let i = 0; i < tries; i++) {
    const { calls } = await kernelCalls(f);
    if (best === null || sumMs(calls) < sumMs(best)) best = calls;
  }
  const byName = new Map<string, { calls: number; ms: number }>();
  for (const k of best!) {
    const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
    byName.set(k.name, { calls: e.calls + 1, ms: e.ms + k.ms });
  }
  return { calls: best!.length, kernelMs: sumMs(best!), bytes: best!.reduce((s, k) => s + outputBytes(k), 0), byName };
};

const sumMs = (calls: readonly KernelCall[]): number => calls.reduce((s, k) => s + k.ms, 0);

export const profileMode = async (kind: ModelKind, only: readonly string[], iters: number): Promise<void> => {
  await useBackend('wasm');
  const native = nativeStatus();
  const floor = kernelCallFloor();
  const teacher = buildTeacher(kind);
  const { makers, sampling } = workloadMakers(kind, { metricsEvery: 1 }, teacher);
  const lines = [
    '',
    `### ${MODEL_SETUPS[kind].describe}, batch ${MODEL_SETUPS[kind].batch}: where the time goes ` +
      `(wasm${native.active ? ' + native kernels' : ', stock kernels'})`,
    '',
    `A kernel call that does nothing (a scalar add, its result disposed) costs ${floor.toFixed(1)} µs of CPU time ` +
      `here.`,
    '',
    '| workload | wall ms (p10) | in kernels ms | kernel calls | calls × that cost, ms | outside kernels ms | MB ' +
      'allocated | most called kernels (calls, ms) | most time (calls, ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, make] of makers) {
    if (only.length > 0 && !only.some((p) => name.startsWith(p))) continue;
    const w = make();
    w.run(2, () => undefined);
    // the fastest tenth of the timed iterations and the least disturbed profile: on a shared machine, what the code
    // costs
    const wall = quantile(timeBlock(w, iters), 0.1);
    const k = await profiled(() => w.run(1, () => undefined), 3);
    const outside = Math.max(0, wall - k.kernelMs);
    const list = (order: (a: { calls: number; ms: number }, b: { calls: number; ms: number }) => number, n: number) =>
      [...k.byName.entries()]
        .sort((a, b) => order(a[1], b[1]))
        .slice(0, n)
        .map(([kernel, e]) => `${kernel} (${e.calls}, ${fmt(e.ms)})`)
        .join(', ');
    const top = list((a, b) => b.calls - a.calls || b.ms - a.ms, 4);
    const slowest = list((a, b) => b.ms - a.ms, 2);
    lines.push(
      `| ${name} | ${fmt(wall)} | ${fmt(k.kernelMs)} | ${k.calls} | ${fmt((k.calls * floor) / 1000)} | ` +
        `${fmt(outside)} | ${fmt(k.bytes / MB)} | ${top} | ${slowest} |`,
    );
    process.stderr.write(`  profile ${kind}: ${name}\n`);
    if (!sampling.includes(w)) w.dispose();
  }
  sampling.forEach((w) => w.dispose());
  teacher.dispose();
  lines.push(
    '',
    '- wall: 10th percentile of unprofiled iterations; in kernels: the least of 3 profiled iterations (tf.profile); ' +
      '"outside" is their difference',
  );
  console.log(lines.join('\n'));
};
