/**
 * The bench's checks of its PyTorch comparison (bench/torch.ts): a warning unless PyTorch
 * runs on the OpenMP OpenBLAS, and one when the machine is busy. The probe itself runs
 * bench/torch_reference.py --blas against a stand-in `torch` package that loads the system
 * OpenBLAS as PyTorch would (skipped without python3 or OpenBLAS).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { describeTorchBlas, torchBlas, loadWarning, busyCores } from '../../bench/torch';

describe('loadWarning', () => {
  it('warns when other processes keep half a core or more busy as the bench starts, and only then', () => {
    expect(loadWarning(0.2, 2)).toBeNull();
    expect(loadWarning(1.63, 2)).toMatch(
      /^WARNING: other processes kept 1\.63 of 2 cores busy .*not a quiet machine's/,
    );
    expect(loadWarning(0.5, 2)).not.toBeNull();
  });
});

describe('busyCores', () => {
  it('reads the share of busy CPU time from /proc/stat: a number between 0 and the core count', async () => {
    if (!fs.existsSync('/proc/stat')) return expect(await busyCores(50)).toBeNull();
    const busy = await busyCores(200);
    expect(busy).not.toBeNull();
    expect(busy!).toBeGreaterThanOrEqual(0);
    expect(busy!).toBeLessThanOrEqual(os.cpus().length + 1e-9);
  });
});

describe('describeTorchBlas', () => {
  it('the OpenMP OpenBLAS: one plain line', () => {
    const line = describeTorchBlas({
      library: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0',
      threading: 'openmp',
      config: 'OpenBLAS 0.3.21 USE_OPENMP',
    });
    expect(line).toMatch(/^PyTorch's BLAS: OpenBLAS 0\.3\.21 USE_OPENMP, OpenMP build/);
    expect(line).not.toContain('WARNING');
  });

  it(
    'the pthread build, another BLAS, or a failed probe: a warning that the ratios mean nothing, and how to ' +
      'fix it',
    () => {
      const pthread = describeTorchBlas({
        library: '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so',
        threading: 'pthread',
      });
      expect(pthread).toMatch(
        new RegExp(
          /^WARNING: PyTorch runs on the pthread build of OpenBLAS .* several /.source +
            /times slower, so the ours\/PyTorch ratios below mean nothing/.source,
        ),
      );
      expect(pthread).toContain('libopenblas0-openmp');
      expect(describeTorchBlas({ library: null, threading: null, mkl: true })).toMatch(
        /^WARNING: PyTorch runs on not OpenBLAS \(MKL\)/,
      );
      expect(describeTorchBlas('the probe failed (exit 1)')).toMatch(/^WARNING: PyTorch's BLAS is unknown/);
    },
  );
});

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import ctypes; ctypes.CDLL("libopenblas.so.0")']).status === 0,
);

(python ? describe : describe.skip)('the probe', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-torch-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds the OpenBLAS mapped into the process and its threading', () => {
    // just enough of torch for the reference script to import, loading OpenBLAS as PyTorch does
    fs.mkdirSync(path.join(dir, 'torch', 'nn'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'torch', '__init__.py'),
      [
        'import ctypes, types',
        '_blas = ctypes.CDLL("libopenblas.so.0")',
        'float32 = "float32"',
        'def tensor(x, dtype=None): return x',
        'def ones(*shape): return shape',
        'def mm(a, b): return a',
        'backends = types.SimpleNamespace(mkl=types.SimpleNamespace(is_available=lambda: False))',
        'from . import nn',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'torch', 'nn', '__init__.py'), 'class Module:\n    pass\n');
    fs.writeFileSync(path.join(dir, 'torch', 'nn', 'functional.py'), '');
    const saved = process.env.PYTHONPATH;
    process.env.PYTHONPATH = dir;
    try {
      const b = torchBlas(python!);
      if (typeof b === 'string') throw new Error(b);
      expect(b.library).toMatch(/openblas/);
      expect(['pthread', 'openmp', 'sequential']).toContain(b.threading);
      expect(b.config).toMatch(/^OpenBLAS /);
      expect(describeTorchBlas(b).startsWith('WARNING')).toBe(b.threading !== 'openmp');
    } finally {
      if (saved === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = saved;
    }
  });
});
