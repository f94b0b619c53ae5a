/**
 * The line `run` and `train` print about the kernels in use: it names them, and when the
 * native OpenBLAS or oneDNN kernels are missing it says what is missing and how to get the
 * fast path. Checked on made-up statuses for every case, and on this process's own status.
 */
import { describeKernels, FAST_PATH_HINT } from '../../cli/backend';
import { useBackend, nativeStatus, NativeStatus } from '../../lib/backend';

const active = (convolutions: string): NativeStatus => ({
  available: true,
  active: true,
  blas: 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64',
  threads: 2,
  convolutions,
  kernels: ['BatchMatMul'],
});

describe('describeKernels', () => {
  it('names OpenBLAS (version, core, threads) and oneDNN when both serve the wasm backend', () => {
    expect(describeKernels('wasm', active('oneDNN (jit:avx2)'), {})).toBe(
      'kernels: wasm + native OpenBLAS 0.3.21 (Haswell, 2 threads, pthread build) for matrix products, oneDNN ' +
        '(jit:avx2) for convolutions',
    );
    const openmp = {
      ...active('oneDNN'),
      blas: 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP SkylakeX MAX_THREADS=64',
    };
    expect(describeKernels('wasm', openmp, {})).toMatch(
      /^kernels: wasm \+ native OpenBLAS 0\.3\.21 \(SkylakeX, 2 threads, OpenMP build\) for matrix products/,
    );
  });

  it('without oneDNN: says it is missing, what it costs, and how to get it', () => {
    const line = describeKernels('wasm', active('im2col + BLAS sgemm'), {});
    expect(line).toMatch(
      /^kernels: wasm \+ native OpenBLAS 0\.3\.21 .* im2col \+ BLAS sgemm for convolutions — oneDNN missing/,
    );
    expect(line).toContain('libdnnl-dev');
    expect(line).toContain(FAST_PATH_HINT);
    expect(describeKernels('wasm', active('im2col + BLAS sgemm'), { PHASED_DMD_DNNL: '0' })).toMatch(
      /oneDNN off: PHASED_DMD_DNNL=0\)$/,
    );
  });

  it('without the addon: the stock wasm kernels, why, and the packages and rebuild that give the fast path', () => {
    const missing: NativeStatus = {
      available: false,
      active: false,
      reason: 'not built (needs a C compiler and OpenBLAS)',
      kernels: [],
    };
    const line = describeKernels('wasm', missing, {});
    expect(line).toMatch(/^kernels: stock wasm, several times slower .* OpenBLAS kernels missing \(not built/);
    expect(line).toContain('apt-get install libopenblas-dev libopenblas0-openmp libdnnl-dev');
    expect(line).toContain('node native/build.js');
    expect(
      describeKernels('wasm', { ...missing, reason: 'disabled by PHASED_DMD_NATIVE=0' }, { PHASED_DMD_NATIVE: '0' }),
    ).toBe('kernels: stock wasm (native OpenBLAS/oneDNN kernels off: PHASED_DMD_NATIVE=0)');
  });

  it('the other backends', () => {
    expect(describeKernels('cpu', active('oneDNN'), {})).toMatch(/^kernels: tfjs cpu backend \(pure JavaScript/);
    expect(describeKernels('tensorflow', active('oneDNN'), {})).toBe('kernels: TensorFlow C library (tfjs-node)');
  });

  it(
    "this process's kernels (native ones where the addon is built, else the stock wasm ones; CI runs " + 'both)',
    async () => {
      await useBackend('wasm');
      const n = nativeStatus();
      const line = describeKernels('wasm', n);
      if (n.active) expect(line).toMatch(/^kernels: wasm \+ native OpenBLAS/);
      else expect(line).toMatch(/^kernels: stock wasm/);
      if (process.env.PHASED_DMD_NATIVE === '0')
        expect(line).toBe('kernels: stock wasm (native OpenBLAS/oneDNN kernels off: PHASED_DMD_NATIVE=0)');
    },
  );
});
