/**
 * Finding and starting the PyTorch reference (bench/torch_reference.py): which python3
 * imports torch, and the environment that gives it the same OpenBLAS kernels as ours.
 */
import { spawnSync } from 'child_process';
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
