/**
 * `npm run bench [-- flags]`: per-iteration time and peak memory of teacher training,
 * DMD / DMD+SGTS / Phased DMD iterations and sampling, for the 2-D MLP and the MNIST
 * U-Net, on each available backend, against the same steps in PyTorch on the CPU
 * (bench/torch_reference.py, when python3 can import torch).
 *
 *   --quick               few iterations (a smoke run, ~2 min)
 *   --models mlp,unet     which models (default both)
 *   --backends wasm,cpu,tensorflow   (default: every one that initialises)
 *   --iters N --warmup N  timed / warm-up iterations per workload (cpu uses few)
 *   --only teacher,dmd    workloads whose name starts with these
 *   --rounds R            alternate ours / PyTorch R times, report the median round
 *   --no-torch            skip PyTorch;  --no-stock  skip the stock-wasm comparison
 *   --stock-iters N       iterations of the (slow) stock-wasm baseline (default 6 MLP, 2 U-Net)
 *   --metrics-every N     distillation: read loss every N iterations (default 1)
 *   --json FILE           also write the raw results
 *   --memory [--steps N]  memory-flatness mode: N (10 000) small steps, tensors and bytes at intervals
 *   --paired [--pairs N]  ours (wasm + native kernels) and PyTorch in alternating short blocks, two
 *                         servers kept loaded: the ratio is the median over pairs (bench/paired.ts)
 *   --profile             where each workload's time goes: kernel calls, time inside and around
 *                         kernels, bytes allocated (bench/profile.ts; --iters, --only, --models apply)
 *
 * Each configuration runs in its own process (backends and RSS are per process). On
 * wasm, the native BLAS kernels (lib/backend/native) and the stock wasm kernels are
 * timed interleaved in the same process, so machine load hits both alike.
 * Times are medians of per-iteration wall times, measured between iteration ends inside one
 * run of the stream, as a training run pays them (the fastest-10 % time is kept too: on a
 * shared machine it shows what the hardware does when nothing else runs).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, initBackend, nativeStatus, setNativeKernels, isBackendName, BackendName } from '../lib/backend';
import { openBlasCoreFor } from '../lib/backend/native';
import { findTorchPython, torchEnv, TORCH_SCRIPT, torchBlas, describeTorchBlas, loadWarning, busyCores } from './torch';
import { ModelKind, MODEL_SETUPS, buildTeacher, workloadMakers, countForwardPasses } from './workloads';
import { memoryMode } from './memory';
import { profileMode } from './profile';
import { pairedRun, pairedTable, serveOurs } from './paired';
import { MB, fmt, median, quantile, timeBlock, computeRatioLine } from './timing';
import { gflops, matmulPeak, profileIteration } from './flops';
import * as E from 'fp-ts/Either';

// ── options ──────────────────────────────────────────────────────────────────

interface Options {
  quick: boolean;
  models: ModelKind[];
  /** --models was given (the memory run defaults to the MLP only). */
  modelsGiven: boolean;
  backends: BackendName[] | null;
  iters: number | null;
  warmup: number | null;
  only: string[];
  rounds: number;
  torch: boolean;
  stock: boolean;
  metricsEvery: number;
  stockIters: number | null;
  json: string | null;
  memory: boolean;
  profile: boolean;
  steps: number;
  child: { backend: BackendName; model: ModelKind; iters: number; warmup: number } | null;
  paired: boolean;
  pairs: number | null;
  serve: { backend: BackendName; model: ModelKind } | null;
}

const parseArgs = (argv: string[]): Options => {
  const o: Options = {
    quick: false,
    models: ['mlp', 'unet'],
    modelsGiven: false,
    backends: null,
    iters: null,
    warmup: null,
    only: [],
    rounds: 1,
    torch: true,
    stock: true,
    metricsEvery: 1,
    stockIters: null,
    json: null,
    memory: false,
    profile: false,
    steps: 10000,
    child: null,
    paired: false,
    pairs: null,
    serve: null,
  };
  const list = (s: string | undefined, flag: string): string[] => {
    if (s === undefined) throw new Error(`${flag}: expected a comma-separated list`);
    return s.split(',').filter(Boolean);
  };
  const int = (s: string | undefined, flag: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: expected a non-negative integer, got ${s}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--quick') o.quick = true;
    else if (a === '--models') {
      o.modelsGiven = true;
      o.models = list(next(), a).map((m) => {
        if (m !== 'mlp' && m !== 'unet') throw new Error(`--models: unknown model "${m}" (mlp, unet)`);
        return m;
      });
    } else if (a === '--backends')
      o.backends = list(next(), a).map((b) => {
        if (b !== 'wasm' && b !== 'cpu' && b !== 'tensorflow')
          throw new Error(`--backends: unknown backend "${b}" (wasm, cpu, tensorflow)`);
        return b;
      });
    else if (a === '--iters') o.iters = int(next(), a);
    else if (a === '--warmup') o.warmup = int(next(), a);
    else if (a === '--only') o.only = list(next(), a);
    else if (a === '--rounds') o.rounds = Math.max(1, int(next(), a));
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--no-stock') o.stock = false;
    else if (a === '--metrics-every') o.metricsEvery = Math.max(1, int(next(), a));
    else if (a === '--json') o.json = next() ?? null;
    else if (a === '--stock-iters') o.stockIters = int(next(), a);
    else if (a === '--memory') o.memory = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--steps') o.steps = int(next(), a);
    else if (a === '--paired') o.paired = true;
    else if (a === '--pairs') o.pairs = Math.max(1, int(next(), a));
    else if (a === '--serve') {
      const [backend, model] = list(next(), a);
      if (backend === undefined || !isBackendName(backend) || (model !== 'mlp' && model !== 'unet'))
        throw new Error(`--serve: expected <backend>,<model> (wasm|cpu|tensorflow, mlp|unet), got ${backend},${model}`);
      o.serve = { backend, model };
    } else if (a === '--child') {
      const [backend, model, iters, warmup] = list(next(), a);
      o.child = {
        backend: backend as BackendName,
        model: model as ModelKind,
        iters: Number(iters),
        warmup: Number(warmup),
      };
    } else throw new Error(`unknown flag ${a} (see the comment at the top of bench/bench.ts)`);
  }
  return o;
};

// ── one configuration (child process) ────────────────────────────────────────

export interface Figures {
  /** Median per-iteration ms (the table's figure). */
  readonly ms: number;
  /** 10th percentile, ms. */
  readonly p10: number;
  readonly n: number;
  /** Peak tensor bytes during one iteration (tf.profile), MB. */
  readonly peakMB?: number;
  /** Process RSS high-water mark after this workload, MB (cumulative over the process). */
  readonly rssMB: number;
  /** Tensors left behind per iteration (should be 0). */
  readonly leaked?: number;
  /** Forward passes per iteration, in units of the batch (a CFG pass over 2B counts 2). */
  readonly forwards?: number;
  /** Achieved GFLOP/s of the products and convolutions (bench/flops.ts) at the median time. */
  readonly gflops?: number;
  /** Kernel calls per iteration. */
  readonly kernels?: number;
}

export interface ConfigResult {
  readonly backend: string;
  readonly model: ModelKind;
  readonly native?: string;
  /** The wasm binary tfjs loaded: SIMD and threads (threads are off in Node). */
  readonly wasm?: { readonly simd: boolean; readonly threads: boolean };
  /** The matmul peak per mode, GFLOP/s (bench/flops.ts matmulPeak). */
  readonly peak?: Record<string, number>;
  readonly results: Record<string, Record<string, Figures>>; // workload → mode → figures
}

/** Timed iterations per uninterrupted run of a workload (see runChild). */
const BLOCK = 10;

const runChild = async (o: Options): Promise<ConfigResult> => {
  const { backend, model: kind, iters, warmup } = o.child!;
  await useBackend(backend);
  const native = nativeStatus();
  type Mode = 'native' | 'stock' | BackendName;
  const modes: Mode[] =
    backend !== 'wasm' ? [backend] : native.available ? (o.stock ? ['native', 'stock'] : ['native']) : ['stock'];
  const setMode = (m: Mode): void => {
    if (backend === 'wasm') setNativeKernels(m === 'native');
  };
  // the pure-JS cpu backend would take minutes over the peak's 2 GFLOP products
  const peak: Record<string, number> = {};
  if (backend !== 'cpu')
    for (const m of modes) {
      setMode(m);
      peak[m] = matmulPeak();
    }
  const teacher = buildTeacher(kind);
  const opts = { metricsEvery: o.metricsEvery };
  const { makers, sampling } = workloadMakers(kind, opts, teacher);
  const results: ConfigResult['results'] = {};
  const noop = () => undefined;
  for (const [name, make] of makers) {
    if (o.only.length > 0 && !o.only.some((p) => name.startsWith(p))) continue;
    const w = make();
    const times: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
    for (const m of modes) {
      setMode(m);
      w.run(warmup, noop);
    }
    const before = tf.memory().numTensors;
    let rss = process.memoryUsage().rss;
    // the stock-wasm baseline is slow: it gets `stockIters` iterations, interleaved with the first ones
    const stockIters = Math.min(iters, o.stockIters ?? (kind === 'unet' ? 2 : 6));
    // Timed as training runs: `block` consecutive iterations of one stream, each the time
    // between two iteration ends. A block's first iteration (it also builds the stream)
    // is not timed. The slow stock baseline runs one iteration per block, stream set-up
    // included (small next to its seconds per iteration).
    const block = Math.max(1, Math.min(BLOCK, iters));
    // forward passes are counted over every iteration run here (SGTS draws its exit step at random)
    let ran = 0;
    const passes = countForwardPasses(w.models ?? [], MODEL_SETUPS[kind].batch, () => {
      for (let i = 0; i < iters; i += block) {
        for (const m of (i / block) % 2 === 0 ? modes : [...modes].reverse()) {
          if (m === 'stock' && modes.length > 1) {
            if (i >= stockIters) continue;
            setMode(m);
            const t0 = performance.now();
            w.run(1, noop);
            times[m].push(performance.now() - t0);
            ran += 1;
          } else {
            setMode(m);
            const n = Math.min(block, iters - i);
            times[m].push(...timeBlock(w, n));
            ran += n + 1;
          }
          rss = Math.max(rss, process.memoryUsage().rss);
        }
      }
    });
    const forwards = ran > 0 && (w.models ?? []).length > 0 ? passes / ran : undefined;
    // without a warm-up the first step creates the optimiser's moments: not a leak, so not counted
    const leaked = warmup > 0 ? (tf.memory().numTensors - before) / Math.max(1, ran) : undefined;
    setMode(modes[0]);
    const prof = backend === 'cpu' ? null : await profileIteration(() => w.run(1, noop));
    results[name] = Object.fromEntries(
      modes.map((m, k) => [
        m,
        {
          ms: median(times[m]),
          p10: quantile(times[m], 0.1),
          n: times[m].length,
          rssMB: rss / MB,
          ...(prof === null ? {} : { gflops: gflops(prof.flops, median(times[m])), kernels: prof.kernels }),
          ...(k === 0 ? { peakMB: prof === null ? undefined : prof.peakBytes / MB, leaked, forwards } : {}),
        },
      ]),
    );
    if (!sampling.includes(w)) w.dispose();
    process.stderr.write(
      `  ${backend}/${kind}: ${name}: ${modes.map((m) => `${m} ${median(times[m]).toFixed(1)} ms`).join(', ')}\n`,
    );
  }
  sampling.forEach((w) => w.dispose());
  teacher.dispose();
  setMode(modes[0]);
  const wasm =
    backend === 'wasm'
      ? {
          simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
          threads: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
        }
      : undefined;
  const nativeLine = native.available
    ? `${native.blas}; convolutions: ${nativeStatus().convolutions}`
    : `unavailable: ${native.reason}`;
  return { backend, model: kind, native: backend === 'wasm' ? nativeLine : undefined, wasm, peak, results };
};

// ── orchestration ────────────────────────────────────────────────────────────

const ROOT = path.resolve(__dirname, '..');

/** Re-runs this file (under the same tsx loader) for one configuration. */
const spawnOurs = (
  o: Options,
  backend: BackendName,
  model: ModelKind,
  iters: number,
  warmup: number,
): ConfigResult | string => {
  const args = [
    ...process.execArgv,
    __filename,
    '--child',
    `${backend},${model},${iters},${warmup}`,
    '--metrics-every',
    String(o.metricsEvery),
  ];
  if (o.only.length > 0) args.push('--only', o.only.join(','));
  if (!o.stock) args.push('--no-stock');
  if (o.stockIters !== null) args.push('--stock-iters', String(o.stockIters));
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * MB,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (r.status !== 0 || line === undefined) return `exit ${r.status}${r.error ? `: ${r.error.message}` : ''}`;
  return JSON.parse(line.slice('BENCH_JSON '.length)) as ConfigResult;
};

const spawnTorch = (
  python: string,
  o: Options,
  model: ModelKind,
  iters: number,
  warmup: number,
): ConfigResult | string => {
  const args = [TORCH_SCRIPT, '--model', model, '--iters', String(iters), '--warmup', String(warmup), '--threads', '2'];
  if (o.only.length > 0) args.push('--only', o.only.join(','));
  const r = spawnSync(python, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: torchEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * MB,
  });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  if (r.status !== 0 || line === undefined || !line.startsWith('{')) return `exit ${r.status}`;
  const raw = JSON.parse(line) as { results: Record<string, Figures> };
  return {
    backend: 'torch',
    model,
    results: Object.fromEntries(Object.entries(raw.results).map(([k, v]) => [k, { torch: v }])),
  };
};

/** Median round per workload and mode. */
const mergeRounds = (rounds: ConfigResult[]): ConfigResult => {
  const first = rounds[0];
  const results: ConfigResult['results'] = {};
  for (const [w, modes] of Object.entries(first.results)) {
    results[w] = {};
    for (const m of Object.keys(modes)) {
      const figs = rounds.map((r) => r.results[w]?.[m]).filter((f): f is Figures => f !== undefined);
      const byMs = [...figs].sort((a, b) => a.ms - b.ms);
      results[w][m] = byMs[Math.floor(byMs.length / 2)];
    }
  }
  return { ...first, results };
};

const printTable = (
  model: ModelKind,
  configs: ConfigResult[],
  torch: ConfigResult | null,
  notes: string[],
): string[] => {
  const setup = MODEL_SETUPS[model];
  const lines: string[] = [];
  lines.push(
    '',
    `### ${setup.describe}: batch ${setup.batch} (sampling ${setup.sampleBatch}), CFG scale ${setup.guidance} in ` +
      `sampling and DMD`,
    '',
  );
  const cols: Array<{ head: string; get: (w: string) => Figures | undefined }> = [];
  for (const c of configs)
    for (const m of Object.keys(Object.values(c.results)[0] ?? {}))
      cols.push({
        head: c.backend === 'wasm' ? `wasm ${m === 'native' ? '+BLAS' : 'stock'}` : c.backend,
        get: (w) => c.results[w]?.[m],
      });
  const best = (w: string): number | undefined => {
    const ms = cols.map((c) => c.get(w)?.ms).filter((x): x is number => x !== undefined);
    return ms.length > 0 ? Math.min(...ms) : undefined;
  };
  const torchOf = (w: string): Figures | undefined => torch?.results[w]?.torch;
  const head = [
    'workload',
    ...cols.map((c) => `${c.head} ms`),
    'PyTorch ms',
    'ours/PyTorch (median; p10)',
    `${cols[0]?.head ?? 'ours'} GFLOP/s`,
    'kernels',
    'forward passes',
    'tensor peak MB',
    'RSS MB (ours / PyTorch)',
  ];
  const bestP10 = (w: string): number | undefined => {
    const p = cols.map((c) => c.get(w)?.p10).filter((x): x is number => x !== undefined);
    return p.length > 0 ? Math.min(...p) : undefined;
  };
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  const workloads = Object.keys(configs[0]?.results ?? torch?.results ?? {});
  for (const w of workloads) {
    const b = best(w);
    const t = torchOf(w);
    const first = cols[0]?.get(w);
    lines.push(
      `| ${w} | ${cols.map((c) => fmt(c.get(w)?.ms)).join(' | ')} | ${fmt(t?.ms)} | ` +
        `${b !== undefined && t ? `${(b / t.ms).toFixed(2)}×; ${((bestP10(w) ?? NaN) / t.p10).toFixed(2)}×` : '–'} ` +
        `| ${fmt(first?.gflops)} | ${fmt(first?.kernels, 0)} | ${fmt(first?.forwards)} | ${fmt(first?.peakMB)} | ` +
        `${fmt(first?.rssMB, 0)} / ${fmt(t?.rssMB, 0)} |`,
    );
  }
  // targets
  const phased = (get: (w: string) => number | undefined) => {
    const a = get('phased DMD iteration, phase 1');
    const c = get('phased DMD iteration, phase 2');
    return a !== undefined && c !== undefined ? (a + c) / 2 : undefined;
  };
  const ours = (w: string) => best(w);
  const dmd = ours('dmd iteration');
  const ph = phased(ours);
  const s40 = ours('sample: teacher 40 steps, CFG');
  const s4 = ours('sample: student 4 NFE');
  lines.push('');
  if (dmd !== undefined && ph !== undefined)
    lines.push(
      `- Phased DMD iteration (mean of its 2 phases) / one-step DMD iteration: ${(ph / dmd).toFixed(2)}× (target ≤ ` +
        `1.1×); PyTorch: ${fmt((phased((w) => torchOf(w)?.ms) ?? NaN) / (torchOf('dmd iteration')?.ms ?? NaN), 2)}×`,
    );
  const fwd = (w: string) => cols[0]?.get(w)?.forwards;
  const [fDmd, fPh] = [fwd('dmd iteration'), phased(fwd)];
  if (fDmd !== undefined && fPh !== undefined) lines.push(computeRatioLine(fDmd, fPh));
  const torchSpeedup = () =>
    (torchOf('sample: teacher 40 steps, CFG')?.ms ?? NaN) / (torchOf('sample: student 4 NFE')?.ms ?? NaN);
  if (s40 !== undefined && s4 !== undefined)
    lines.push(
      `- 4-NFE student sampling is ${(s40 / s4).toFixed(1)}× faster than 40-step CFG sampling (target ≥ 15×); ` +
        `PyTorch: ${fmt(torchSpeedup())}×`,
    );
  const leaks = configs.flatMap((c) =>
    Object.entries(c.results).flatMap(([w, m]) =>
      Object.values(m)
        .filter((f) => (f.leaked ?? 0) > 0)
        .map(() => `${c.backend} ${w}`),
    ),
  );
  if (leaks.length > 0) lines.push(`- tensors leaked per iteration in: ${leaks.join(', ')}`);
  for (const c of configs.filter((c) => c.peak !== undefined && Object.keys(c.peak).length > 0))
    lines.push(
      `- ${c.backend} matmul peak measured here (tf.matMul 1024×1024 by 1024×1024, fastest of 5): ` +
        `${Object.entries(c.peak!)
          .map(([m, g]) => `${m} ${fmt(g)} GFLOP/s`)
          .join(', ')}; ` +
        "GFLOP/s counts one iteration's products and convolutions (tf.profile shapes; element-wise kernels left out)",
    );
  for (const c of configs.filter((c) => c.wasm !== undefined))
    lines.push(
      `- wasm binary: SIMD ${c.wasm!.simd ? 'on' : 'off'}, threads ` +
        `${c.wasm!.threads ? 'on' : 'off (tfjs disables them in Node)'}; native kernels: ${c.native}`,
    );
  if (torch !== null)
    lines.push(
      '- ours and PyTorch ran in separate windows of minutes: on a machine whose speed drifts, `--paired` gives a ' +
        'steadier ratio',
    );
  lines.push(...notes.map((n) => `- ${n}`));
  console.log(lines.join('\n'));
  return lines;
};

const main = async (): Promise<void> => {
  const o = parseArgs(process.argv.slice(2));
  if (o.child !== null) {
    const r = await runChild(o);
    process.stdout.write(`BENCH_JSON ${JSON.stringify(r)}\n`);
    return;
  }
  if (o.serve !== null) return serveOurs(o.serve.backend, o.serve.model, o.metricsEvery);
  if (o.profile) {
    for (const model of o.models) await profileMode(model, o.only, o.iters ?? (model === 'mlp' ? 20 : 4));
    return;
  }
  if (o.memory) {
    for (const model of o.modelsGiven ? o.models : (['mlp'] as ModelKind[])) await memoryMode(o.steps, model);
    return;
  }
  // which backends initialise here (tfjs-node is optional)
  const wanted: BackendName[] = o.backends ?? ['wasm', 'cpu', 'tensorflow'];
  const backends: BackendName[] = [];
  const notes: string[] = [];
  for (const b of wanted) {
    if (b === 'tensorflow') {
      const r = await initBackend('tensorflow');
      if (E.isLeft(r)) {
        notes.push(`backend tensorflow skipped: ${r.left.message.split(';')[0]}`);
        continue;
      }
    }
    backends.push(b);
  }
  const torchPy = o.torch ? findTorchPython() : null;
  if (o.torch && torchPy === null)
    notes.push(
      'PyTorch skipped: no python3 here imports torch (Debian: apt-get install python3-torch libopenblas0-openmp)',
    );
  const native = nativeStatus();
  const blas = torchPy ? describeTorchBlas(torchBlas(torchPy.python)) : null;
  // repeated under every table: a ratio against a slowed PyTorch must not be read alone
  const blasWarning = blas?.startsWith('WARNING') ? blas : null;
  const othersBusy = await busyCores();
  const busy = othersBusy === null ? null : loadWarning(othersBusy, os.cpus().length);
  const header = [
    `phased-dmd bench — ${new Date().toISOString()}`,
    `node ${process.versions.node}, tfjs ${tf.version_core}; native BLAS kernels: ` +
      `${native.available ? `${native.blas} (${native.threads} threads)` : `unavailable (${native.reason})`}`,
    'PyTorch: ' +
      (torchPy
        ? `${torchPy.version} via ${torchPy.python}, 2 threads, OPENBLAS_CORETYPE=${openBlasCoreFor() ?? '(auto)'}`
        : 'not used'),
    `cores busy with other processes at start: ` +
      `${othersBusy === null ? 'unknown (no /proc/stat)' : othersBusy.toFixed(2)} of ${os.cpus().length}; ` +
      `load average ${os
        .loadavg()
        .map((x: number) => x.toFixed(2))
        .join(' ')} (it lags by minutes)`,
    ...(blas !== null ? [blas] : []),
    ...(busy !== null ? [busy] : []),
  ];
  console.log(header.join('\n'));
  if (o.paired) {
    if (torchPy === null)
      throw new Error('--paired needs PyTorch (Debian: apt-get install python3-torch libopenblas0-openmp)');
    const models = [];
    for (const model of o.models) {
      const result = await pairedRun(
        model,
        { only: o.only, pairs: o.pairs, metricsEvery: o.metricsEvery, python: torchPy.python },
        (l) => process.stderr.write(`${l}\n`),
      );
      const lines = [
        ...pairedTable(model, result),
        `- load average at the end: ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')} (the bench's own two busy sides count in it)`,
        ...[blasWarning, busy].filter((w): w is string => w !== null).map((w) => `- ${w}`),
      ];
      console.log(lines.join('\n'));
      models.push({ model, ...result, lines });
    }
    if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ header, paired: models }, null, 2));
    return;
  }
  const all: { model: ModelKind; configs: ConfigResult[]; torch: ConfigResult | null; lines: string[] }[] = [];
  for (const model of o.models) {
    const iters = o.iters ?? (o.quick ? 4 : model === 'mlp' ? 20 : 8);
    const warmup = o.warmup ?? (o.quick ? 1 : 3);
    const configs: ConfigResult[] = [];
    const modelNotes: string[] = [blasWarning, busy].filter((w): w is string => w !== null);
    let torch: ConfigResult | null = null;
    const wasmRounds: ConfigResult[] = [];
    const torchRounds: ConfigResult[] = [];
    for (let r = 0; r < o.rounds; r++) {
      if (backends.includes('wasm')) {
        const res = spawnOurs(o, 'wasm', model, iters, warmup);
        if (typeof res === 'string') modelNotes.push(`wasm failed: ${res}`);
        else wasmRounds.push(res);
      }
      if (torchPy !== null) {
        const res = spawnTorch(torchPy.python, o, model, iters, warmup);
        if (typeof res === 'string') modelNotes.push(`PyTorch reference failed: ${res}`);
        else torchRounds.push(res);
      }
    }
    if (wasmRounds.length > 0) configs.push(mergeRounds(wasmRounds));
    if (torchRounds.length > 0) torch = mergeRounds(torchRounds);
    for (const b of backends.filter((x) => x !== 'wasm')) {
      // the cpu backend is pure JS, ~100× slower: one iteration, no warm-up, no peak-memory pass
      const slow = b === 'cpu';
      if (slow && model === 'unet' && !o.backends?.includes('cpu')) {
        modelNotes.push('cpu backend skipped for the U-Net (minutes per iteration; ask with --backends cpu)');
        continue;
      }
      const res = spawnOurs(o, b, model, slow ? 1 : iters, slow ? 0 : warmup);
      if (typeof res === 'string') modelNotes.push(`${b} failed: ${res}`);
      else configs.push(res);
    }
    all.push({ model, configs, torch, lines: printTable(model, configs, torch, modelNotes) });
  }
  if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ header, models: all }, null, 2));
};

if (require.main === module)
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
