/**
 * `npm run bench -- --paired`: ours and PyTorch timed in alternating short blocks.
 *
 * Why: on a shared virtual machine the cores' speed drifts by up to 2× within minutes
 * (PyTorch's own MLP teacher step measured 8.7 to 19 ms in one afternoon). Timing each
 * side in its own window of minutes makes their ratio a sample of that drift. Here both
 * sides stay loaded in two server processes, and each pair of blocks (ours then PyTorch,
 * or the reverse) runs within seconds; workloads take turns, so each one's pairs are
 * spread over the whole run. The table gives the median of the per-pair ratios and their
 * range.
 *
 * Protocol (both servers): one request line `run <n> <workload>`, one answer line
 * `SERVE_JSON {"times": [ms…], …}`. Ours runs n + 1 iterations of one stream and times the
 * last n between iteration ends (the first also builds the stream).
 */
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { useBackend, BackendName } from '../lib/backend';
import { ModelKind, MODEL_SETUPS, Workload, buildTeacher, workloadMakers, countForwardPasses } from './workloads';
import { TORCH_SCRIPT, torchEnv } from './torch';
import { MB, fmt, median, timeBlock, computeRatioLine } from './timing';
import { gflops, matmulPeak, profileIteration } from './flops';

const MARK = 'SERVE_JSON ';

interface BlockReply {
  /** The first line a server sends: the workloads it can run. */
  readonly workloads?: string[];
  /** The first line of ours: the matmul peak of its kernels, GFLOP/s. */
  readonly peakGflops?: number;
  readonly times: number[];
  /** FLOPs of one iteration's products and convolutions (ours: bench/flops.ts). */
  readonly flops?: number;
  readonly forwards?: number;
  readonly rssMB?: number;
  readonly error?: string;
}

// ── our server (a child process) ─────────────────────────────────────────────

/** Answers `run <n> <workload>` lines on stdin until `quit` or the end of input. */
export const serveOurs = async (backend: BackendName, kind: ModelKind, metricsEvery: number): Promise<void> => {
  await useBackend(backend);
  const teacher = buildTeacher(kind);
  const { makers, sampling } = workloadMakers(kind, { metricsEvery }, teacher);
  const live = new Map<string, Workload>();
  const flops = new Map<string, number>();
  const reply = (x: object): void => void process.stdout.write(`${MARK}${JSON.stringify(x)}\n`);
  reply({ ready: true, workloads: makers.map(([name]) => name), peakGflops: matmulPeak() });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() === 'quit') break;
    const request = /^run (\d+) (.+)$/.exec(line.trim());
    const maker = request === null ? undefined : makers.find(([name]) => name === request[2]);
    if (request === null || maker === undefined) {
      reply({ error: `bad request: ${JSON.stringify(line)}` });
      continue;
    }
    const w = live.get(request[2]) ?? maker[1]();
    live.set(request[2], w);
    // counted once, on a workload's first (warm-up) request, outside any timed block
    if (!flops.has(request[2])) flops.set(request[2], (await profileIteration(() => w.run(1, () => undefined))).flops);
    const n = Number(request[1]);
    let times: number[] = [];
    const passes = countForwardPasses(w.models ?? [], MODEL_SETUPS[kind].batch, () => (times = timeBlock(w, n)));
    reply({ times, forwards: passes / (n + 1), flops: flops.get(request[2]), rssMB: process.memoryUsage().rss / MB });
  }
  for (const w of live.values()) if (!sampling.includes(w)) w.dispose();
  sampling.forEach((w) => w.dispose());
  teacher.dispose();
};

// ── the orchestrator's view of a server ──────────────────────────────────────

class Server {
  private readonly waiting: Array<{ resolve: (r: BlockReply) => void; reject: (e: Error) => void }> = [];
  private exited: string | null = null;

  constructor(
    readonly label: string,
    private readonly proc: ChildProcess,
  ) {
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.startsWith(MARK)) return;
      this.waiting.shift()?.resolve(JSON.parse(line.slice(MARK.length)) as BlockReply);
    });
    proc.on('exit', (code, signal) => {
      this.exited = `${label} exited (${signal ?? `code ${code}`})`;
      for (const w of this.waiting.splice(0)) w.reject(new Error(this.exited));
    });
  }

  /** The first line, sent when the server has built its models. */
  ready(): Promise<BlockReply> {
    return this.next();
  }

  async run(n: number, workload: string): Promise<BlockReply> {
    if (this.exited !== null) throw new Error(this.exited);
    const answer = this.next();
    this.proc.stdin!.write(`run ${n} ${workload}\n`);
    const r = await answer;
    if (r.error !== undefined) throw new Error(`${this.label}: ${r.error}`);
    return r;
  }

  close(): void {
    if (this.exited === null) this.proc.stdin!.end('quit\n');
  }

  private next(): Promise<BlockReply> {
    return new Promise((resolve, reject) =>
      this.exited !== null ? reject(new Error(this.exited)) : this.waiting.push({ resolve, reject }),
    );
  }
}

// ── pairing ──────────────────────────────────────────────────────────────────

export interface PairedOptions {
  readonly only: readonly string[];
  /** Pairs of blocks per workload (default 8 for the MLP, 4 for the U-Net). */
  readonly pairs: number | null;
  readonly metricsEvery: number;
  readonly python: string;
}

export interface PairedRow {
  readonly workload: string;
  readonly oursMs: number;
  readonly torchMs: number;
  /** ours / PyTorch per pair of blocks. */
  readonly ratios: number[];
  readonly forwards?: number;
  /** FLOPs of one iteration's products and convolutions: the same models and steps on both sides. */
  readonly flops?: number;
  readonly rssMB: { ours?: number; torch?: number };
}

export interface PairedResult {
  readonly rows: PairedRow[];
  /** The matmul peak of our kernels, GFLOP/s. */
  readonly peakGflops?: number;
}

/** Iterations per block and warm-up iterations: a block takes a second or a few. */
const BLOCKS: Record<ModelKind, { block: number; warmup: number; pairs: number }> = {
  mlp: { block: 10, warmup: 5, pairs: 8 },
  unet: { block: 2, warmup: 2, pairs: 4 },
};

export const pairedRun = async (kind: ModelKind, o: PairedOptions, log: (s: string) => void): Promise<PairedResult> => {
  const ours = new Server(
    'ours',
    spawn(
      process.execPath,
      [
        ...process.execArgv,
        path.join(__dirname, 'bench.ts'),
        '--serve',
        `wasm,${kind}`,
        '--metrics-every',
        String(o.metricsEvery),
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    ),
  );
  const torch = new Server(
    'PyTorch',
    spawn(o.python, [TORCH_SCRIPT, '--model', kind, '--threads', '2', '--serve'], {
      env: torchEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  try {
    const [a, b] = await Promise.all([ours.ready(), torch.ready()]);
    const names = (a.workloads ?? []).filter(
      (w) => (b.workloads ?? []).includes(w) && (o.only.length === 0 || o.only.some((p) => w.startsWith(p))),
    );
    const { block, warmup } = BLOCKS[kind];
    const pairs = o.pairs ?? BLOCKS[kind].pairs;
    const acc = new Map(
      names.map((w) => [
        w,
        {
          ours: [] as number[],
          torch: [] as number[],
          ratios: [] as number[],
          forwards: [] as number[],
          flops: undefined as number | undefined,
          rss: {} as PairedRow['rssMB'],
        },
      ]),
    );
    for (const w of names) {
      acc.get(w)!.flops = (await ours.run(warmup, w)).flops;
      await torch.run(warmup, w);
    }
    for (let p = 0; p < pairs; p++) {
      for (const w of names) {
        const first = p % 2 === 0 ? ours : torch;
        const second = first === ours ? torch : ours;
        const r1 = await first.run(block, w);
        const r2 = await second.run(block, w);
        const [mine, theirs] = first === ours ? [r1, r2] : [r2, r1];
        const row = acc.get(w)!;
        row.ours.push(...mine.times);
        row.torch.push(...theirs.times);
        row.ratios.push(median(mine.times) / median(theirs.times));
        if (mine.forwards !== undefined) row.forwards.push(mine.forwards);
        row.rss = { ours: mine.rssMB, torch: theirs.rssMB };
        log(
          `  ${kind}: pair ${p + 1}/${pairs}: ${w}: ours ${median(mine.times).toFixed(1)} ms, PyTorch ` +
            `${median(theirs.times).toFixed(1)} ms`,
        );
      }
    }
    const rows = names.map((w) => {
      const r = acc.get(w)!;
      const forwards = r.forwards.length > 0 ? r.forwards.reduce((x, y) => x + y, 0) / r.forwards.length : undefined;
      return {
        workload: w,
        oursMs: median(r.ours),
        torchMs: median(r.torch),
        ratios: r.ratios,
        forwards,
        flops: r.flops,
        rssMB: r.rss,
      };
    });
    return { rows, peakGflops: a.peakGflops };
  } finally {
    ours.close();
    torch.close();
  }
};

/** The paired table and the targets, as markdown lines. */
export const pairedTable = (kind: ModelKind, { rows, peakGflops }: PairedResult): string[] => {
  const s = MODEL_SETUPS[kind];
  const lines = [
    '',
    `### ${s.describe}: batch ${s.batch} (sampling ${s.sampleBatch}), CFG scale ${s.guidance} — paired blocks`,
    '',
    '| workload | ours ms | PyTorch ms | ours / PyTorch: median of pairs (range) | pairs | GFLOP/s ours / PyTorch | ' +
      'forward passes |',
    '|---|---|---|---|---|---|---|',
  ];
  const rate = (r: PairedRow, ms: number): string => (r.flops === undefined ? '–' : fmt(gflops(r.flops, ms)));
  for (const r of rows)
    lines.push(
      `| ${r.workload} | ${fmt(r.oursMs)} | ${fmt(r.torchMs)} | ${median(r.ratios).toFixed(2)}× ` +
        `(${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}) | ${r.ratios.length} | ` +
        `${rate(r, r.oursMs)} / ${rate(r, r.torchMs)} | ${fmt(r.forwards)} |`,
    );
  const get = (w: string) => rows.find((r) => r.workload === w);
  const dmd = get('dmd iteration');
  const [p1, p2] = [get('phased DMD iteration, phase 1'), get('phased DMD iteration, phase 2')];
  lines.push('');
  if (peakGflops !== undefined)
    lines.push(
      `- matmul peak of our kernels measured here (tf.matMul 1024×1024 by 1024×1024, fastest of 5): ` +
        `${fmt(peakGflops)} GFLOP/s; GFLOP/s counts one iteration's products and convolutions (tf.profile shapes of ` +
        `ours, the same models on both sides; element-wise kernels left out)`,
    );
  if (dmd && p1 && p2) {
    const ph = (f: (r: PairedRow) => number) => (f(p1) + f(p2)) / 2 / f(dmd);
    lines.push(
      `- Phased DMD iteration (mean of its 2 phases) / one-step DMD iteration: ours ` +
        `${ph((r) => r.oursMs).toFixed(2)}×, PyTorch ${ph((r) => r.torchMs).toFixed(2)}× (target ≤ 1.1×)`,
    );
    if (dmd.forwards !== undefined && p1.forwards !== undefined && p2.forwards !== undefined)
      lines.push(computeRatioLine(dmd.forwards, (p1.forwards + p2.forwards) / 2));
  }
  const [s40, s4] = [get('sample: teacher 40 steps, CFG'), get('sample: student 4 NFE')];
  if (s40 && s4)
    lines.push(
      `- 4-NFE student sampling vs 40-step CFG sampling: ours ${(s40.oursMs / s4.oursMs).toFixed(1)}× faster, ` +
        `PyTorch ${(s40.torchMs / s4.torchMs).toFixed(1)}× (target ≥ 15×)`,
    );
  return lines;
};
