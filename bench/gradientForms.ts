/**
 * What the generator gradient's form costs: the reference form (x0 space, normalised, mean
 * loss, on the student's x0 prediction) against the paper's x_s-space weight, on the same
 * iteration of the same method and model, timed in alternating short blocks so that the
 * machine's drifting speed hits both alike. Prints per-workload medians and the median
 * ratio reference / paper over pairs, with its range.
 *
 *   npx tsx bench/gradientForms.ts [--models mlp,unet] [--pairs 8] [--block 10]
 */
import * as os from 'os';
import { useBackend, nativeStatus } from '../lib/backend';
import type { GeneratorGradient } from '../lib/losses/dmd';
import { ModelKind, buildTeacher, distillWorkload, MODEL_SETUPS } from './workloads';
import { fmt, median, quantile, timeBlock } from './timing';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};

const main = async (): Promise<void> => {
  const models = arg('models', 'mlp').split(',') as ModelKind[];
  const pairs = Number(arg('pairs', '8'));
  await useBackend('wasm');
  console.log(
    `cpu: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}; kernels: ` +
      `${nativeStatus().active ? 'native (OpenBLAS)' : `stock wasm (${nativeStatus().reason ?? 'native off'})`}`,
  );
  console.log(
    '| model | workload | paper ms (median) | reference ms (median) | reference / paper (median of pairs) | range |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const kind of models) {
    const block = Number(arg('block', kind === 'mlp' ? '10' : '2'));
    for (const [method, phase] of [
      ['dmd', 0],
      ['sgts', 0],
      ['phased', 0],
      ['phased', 1],
    ] as const) {
      const teacher = buildTeacher(kind);
      const make = (g: GeneratorGradient) => distillWorkload(kind, method, phase, { metricsEvery: 1 }, teacher, g);
      const w = { paper: make('paper'), reference: make('reference') };
      timeBlock(w.paper, 2);
      timeBlock(w.reference, 2);
      const times = { paper: [] as number[], reference: [] as number[] };
      const ratios: number[] = [];
      for (let p = 0; p < pairs; p++) {
        const order: GeneratorGradient[] = p % 2 === 0 ? ['paper', 'reference'] : ['reference', 'paper'];
        const m: Record<string, number> = {};
        for (const g of order) {
          const t = timeBlock(w[g as 'paper' | 'reference'], block);
          times[g as 'paper' | 'reference'].push(...t);
          m[g] = median(t);
        }
        ratios.push(m.reference / m.paper);
      }
      w.paper.dispose();
      w.reference.dispose();
      teacher.dispose();
      const name = method === 'phased' ? `phased phase ${phase + 1}` : method;
      console.log(
        `| ${kind} (batch ${MODEL_SETUPS[kind].batch}) | ${name} iteration | ${fmt(median(times.paper), 2)} | ` +
          `${fmt(median(times.reference), 2)} | ${median(ratios).toFixed(3)} | ` +
          `${quantile(ratios, 0).toFixed(3)}–${quantile(ratios, 1).toFixed(3)} |`,
      );
    }
  }
};

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
