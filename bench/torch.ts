/**
 * Finding and starting the PyTorch reference (bench/torch_reference.py): which python3
 * imports torch, and the environment that gives it the same OpenBLAS kernels as ours.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openBlasCoreFor, envChosenByNative } from '../lib/backend/native';

export const TORCH_SCRIPT = path.join(__dirname, 'torch_reference.py');

/** A python3 that can import torch: $PYTHON, python3 on PATH, or Debian's /usr/bin/python3. */
export const findTorchPython = (): { python: string; version: string } | null => {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return null;
};

/**
 * PyTorch's environment: the OpenBLAS core our native path uses (see openBlasCoreFor), and
 * its own OpenMP defaults (spinning threads: its fastest setting here), so the variables
 * our addon chose for itself are dropped.
 */
export const torchEnv = (): NodeJS.ProcessEnv => {
  const core = openBlasCoreFor();
  const env: NodeJS.ProcessEnv = { ...process.env, ...(core !== undefined ? { OPENBLAS_CORETYPE: core } : {}) };
  for (const k of envChosenByNative) delete env[k];
  return env;
};

/** Which BLAS PyTorch runs on (torch_reference.py --blas). */
export interface TorchBlas {
  /** The OpenBLAS file mapped into PyTorch's process; null when it runs on another BLAS. */
  readonly library: string | null;
  readonly threading: 'sequential' | 'pthread' | 'openmp' | 'unknown' | null;
  readonly config?: string;
  readonly mkl?: boolean;
}

export const torchBlas = (python: string): TorchBlas | string => {
  const r = spawnSync(python, [TORCH_SCRIPT, '--blas'], { encoding: 'utf8', env: torchEnv() });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{'))
    return `the probe failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`;
  return JSON.parse(line) as TorchBlas;
};

/** One line on PyTorch's BLAS; a warning when it is not the OpenMP OpenBLAS (then PyTorch's times are not its best). */
export const describeTorchBlas = (b: TorchBlas | string): string => {
  if (typeof b === 'string')
    return `WARNING: PyTorch's BLAS is unknown (${b}): the ours/PyTorch ratios may mean nothing`;
  if (b.threading === 'openmp') return `PyTorch's BLAS: ${b.config ?? 'OpenBLAS'}, OpenMP build (${b.library})`;
  const what =
    b.library === null ? `not OpenBLAS${b.mkl ? ' (MKL)' : ''}` : `the ${b.threading} build of OpenBLAS (${b.library})`;
  return (
    `WARNING: PyTorch runs on ${what}, not the OpenMP OpenBLAS this comparison is made against: ` +
    (b.threading === 'pthread' ? "with Debian's default pthread build PyTorch is several times slower, " : '') +
    'so the ours/PyTorch ratios below mean nothing. On Debian: apt-get install libopenblas0-openmp, then ' +
    'update-alternatives --config libopenblas.so.0-$(gcc -print-multiarch) and choose openblas-openmp'
  );
};

/**
 * Cores other processes keep busy right now: the share of non-idle CPU time over `ms`, read from
 * /proc/stat (Linux), times the number of cores; null where /proc/stat is missing. Taken before the
 * bench starts its own work. The load average is no use for this: it lags by minutes, so it still
 * counts jobs that just stopped, and once the bench runs it counts the bench's own threads.
 */
export const busyCores = async (ms = 1000): Promise<number | null> => {
  const read = (): { busy: number; total: number } | null => {
    try {
      const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = cpu[3] + (cpu[4] ?? 0); // idle + iowait
      const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    } catch {
      return null;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (a === null || b === null || b.total === a.total) return null;
  return ((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length;
};

/**
 * A warning when other processes keep at least half a core busy as the bench starts, else null. Both
 * sides then share the cores with them, but not alike: PyTorch's OpenMP threads spin while they wait,
 * and a spinning thread whose partner has been descheduled wastes its turn, so PyTorch slows down many
 * times more than our passively waiting threads (measured here at load 6 on 2 cores: its 40-step CFG
 * sampling 2.1 s with passive threads, 12 s with its own spinning ones, against 0.17–0.3 s on a quiet
 * machine).
 */
export const loadWarning = (busy: number, cores: number): string | null =>
  busy >= 0.5
    ? `WARNING: other processes kept ${busy.toFixed(2)} of ${cores} cores busy as the bench started: ` +
      "PyTorch's spinning OpenMP threads lose far more to them than ours, so the ours/PyTorch ratios are not a " +
      "quiet machine's; rerun when the machine is idle"
    : null;
