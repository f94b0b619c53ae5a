/**
 * Backend selection (lib/backend): wasm and cpu activate for real, the optional native
 * backend fails with one clear message when absent, and the wasm matMul gradient
 * override is the same math as the stock rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import {
  initBackend,
  useBackend,
  defaultBackend,
  isBackendName,
  setNativeKernels,
  nativeKernelsActive,
} from '../../lib/backend';
import { splitSeed } from '../../lib/random/seed';
import { muteNodeBackendHint } from '../helpers/tensors';

beforeAll(async () => {
  muteNodeBackendHint();
  await useBackend('wasm');
});
afterAll(async () => {
  await useBackend('wasm');
});

const installed = (pkg: string): boolean => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};
const nativeAbsent = !installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node');

describe('backend selection', () => {
  it.each(['wasm', 'cpu'] as const)('%s activates and tf.getBackend() reports it', async (name) => {
    const info = await useBackend(name);
    expect(info.name).toBe(name);
    expect(info.tfjsBackend).toBe(name);
    expect(tf.getBackend()).toBe(name);
    expect(info.versions['tfjs-core']).toBe(tf.version_core);
    // and it computes
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(y.dataSync())).toEqual([11]);
    await useBackend('wasm');
  });

  (nativeAbsent ? it : it.skip)(
    'asking for "tensorflow" without tfjs-node-gpu gives one clear Left and keeps the current backend',
    async () => {
      await useBackend('wasm');
      const r = await initBackend('tensorflow');
      if (E.isRight(r)) throw new Error('expected a Left');
      expect(r.left.backend).toBe('tensorflow');
      expect(r.left.message).toContain('@tensorflow/tfjs-node-gpu is not installed');
      expect(r.left.message).toContain('npm install @tensorflow/tfjs-node-gpu');
      expect(r.left.message).toContain('--backend wasm or cpu');
      expect(tf.getBackend()).toBe('wasm'); // no silent switch
      await expect(useBackend('tensorflow')).rejects.toThrow(
        /^backend "tensorflow": @tensorflow\/tfjs-node-gpu is not installed/,
      );
      expect(tf.getBackend()).toBe('wasm');
    },
  );

  it('PHASED_DMD_BACKEND overrides the default; names are checked', () => {
    const saved = process.env.PHASED_DMD_BACKEND;
    try {
      delete process.env.PHASED_DMD_BACKEND;
      expect(defaultBackend()).toBe('wasm');
      process.env.PHASED_DMD_BACKEND = 'cpu';
      expect(defaultBackend()).toBe('cpu');
      process.env.PHASED_DMD_BACKEND = 'webgl';
      expect(defaultBackend()).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.PHASED_DMD_BACKEND;
      else process.env.PHASED_DMD_BACKEND = saved;
    }
    expect(['wasm', 'cpu', 'tensorflow', 'webgl'].map(isBackendName)).toEqual([true, true, true, false]);
  });
});

describe('wasm matMul gradient override', () => {
  type Case = { transposeA: boolean; transposeB: boolean };
  const CASES: Case[] = [
    { transposeA: false, transposeB: false },
    { transposeA: false, transposeB: true },
    { transposeA: true, transposeB: false },
    { transposeA: true, transposeB: true },
  ];
  // C = op(A)·op(B) with op(A) [3, 4], op(B) [4, 5]; L = Σ R ⊙ C for a fixed random R [3, 5]
  const [M, K, N] = [3, 4, 5];
  const rand = (n: number, label: string): number[] => {
    let s = splitSeed(7, label);
    return Array.from({ length: n }, () => {
      s = splitSeed(s, 'next');
      return s / 2 ** 32 - 0.5;
    });
  };
  const A = rand(M * K, 'A');
  const B = rand(K * N, 'B');
  const R = rand(M * N, 'R');
  const shapeA = (c: Case) => (c.transposeA ? [K, M] : [M, K]);
  const shapeB = (c: Case) => (c.transposeB ? [N, K] : [K, N]);
  // op(A)[i][k] read from A stored in its own (possibly transposed) layout
  const opA = (c: Case, i: number, k: number) => (c.transposeA ? A[k * M + i] : A[i * K + k]);
  const opB = (c: Case, k: number, j: number) => (c.transposeB ? B[j * K + k] : B[k * N + j]);
  const loss = (c: Case, a: number[] = A, b: number[] = B) => {
    let l = 0;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let cij = 0;
        for (let k = 0; k < K; k++)
          cij += (c.transposeA ? a[k * M + i] : a[i * K + k]) * (c.transposeB ? b[j * K + k] : b[k * N + j]);
        l += R[i * N + j] * cij;
      }
    return l;
  };
  /** Host float64 reference: ∂L/∂op(A) = R·op(B)ᵀ, ∂L/∂op(B) = op(A)ᵀ·R, stored back in A's and B's layouts. */
  const reference = (c: Case) => {
    const dA = new Array(M * K).fill(0);
    const dB = new Array(K * N).fill(0);
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++) {
        let g = 0;
        for (let j = 0; j < N; j++) g += R[i * N + j] * opB(c, k, j);
        dA[c.transposeA ? k * M + i : i * K + k] = g;
      }
    for (let k = 0; k < K; k++)
      for (let j = 0; j < N; j++) {
        let g = 0;
        for (let i = 0; i < M; i++) g += opA(c, i, k) * R[i * N + j];
        dB[c.transposeB ? j * K + k : k * N + j] = g;
      }
    return { dA, dB };
  };
  const tfGrads = (c: Case) =>
    tf.tidy(() => {
      const r = tf.tensor2d(R, [M, N]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(r, tf.matMul(a, b, c.transposeA, c.transposeB)));
      const [da, db] = tf.grads(f)([tf.tensor(A, shapeA(c)), tf.tensor(B, shapeB(c))]);
      return { dA: Array.from(da.dataSync()), dB: Array.from(db.dataSync()) };
    });
  const maxDiff = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));

  /** Runs f with the optional native BLAS kernels (lib/backend/native.ts) off, restoring them after. */
  const withoutNative = async <T>(f: () => Promise<T> | T): Promise<T> => {
    const was = nativeKernelsActive();
    setNativeKernels(false);
    try {
      return await f();
    } finally {
      if (was) setNativeKernels(true);
    }
  };

  it(
    'the explicit-transpose override is taken only while wasm is active (and the native kernels ' + 'are off)',
    async () => {
      const grad = tf.getGradient('BatchMatMul')!;
      const kernelsOfGradient = async () => {
        const a = tf.tensor2d([
          [1, 2],
          [3, 4],
        ]);
        const b = tf.tensor2d([
          [3, 1],
          [4, 2],
        ]);
        const dy = tf.ones([2, 2]);
        const info = await tf.profile(() => grad.gradFunc(dy, [a, b], { transposeA: false, transposeB: false }).a());
        tf.dispose([a, b, dy]);
        return info.kernels.map((k) => k.name);
      };
      try {
        await useBackend('cpu');
        expect(await kernelsOfGradient()).toEqual(['BatchMatMul']); // stock rule: a transposed matMul
        await useBackend('wasm');
        // override: explicit transpose + plain matMul
        expect(await withoutNative(kernelsOfGradient)).toEqual(['Transpose', 'BatchMatMul']);
      } finally {
        await useBackend('wasm');
      }
    },
  );

  it.each(CASES)(
    'transposeA=$transposeA transposeB=$transposeB: wasm (override; and native if present) = cpu (stock) = float64 ' +
      'reference to 1e-5',
    async (c) => {
      await useBackend('wasm');
      const onWasm = await withoutNative(() => tfGrads(c));
      const onWasmNative = tfGrads(c); // the same as onWasm where the native addon is absent
      await useBackend('cpu');
      const onCpu = tfGrads(c);
      await useBackend('wasm');
      const ref = reference(c);
      for (const g of [onWasm, onWasmNative, onCpu]) {
        expect(maxDiff(g.dA, ref.dA)).toBeLessThan(1e-5);
        expect(maxDiff(g.dB, ref.dB)).toBeLessThan(1e-5);
      }
      expect(maxDiff(onWasm.dA, onCpu.dA)).toBeLessThan(1e-5);
      expect(maxDiff(onWasm.dB, onCpu.dB)).toBeLessThan(1e-5);
    },
  );

  it.each(CASES)('transposeA=$transposeA transposeB=$transposeB: matches a central finite difference', (c) => {
    const { dA, dB } = tfGrads(c);
    const h = 1e-4;
    // L is bilinear, so the central difference is exact up to float64 rounding
    const fd = (which: 'A' | 'B', idx: number) => {
      const bump = (d: number) => {
        const a = [...A];
        const b = [...B];
        (which === 'A' ? a : b)[idx] += d;
        return loss(c, a, b);
      };
      return (bump(h) - bump(-h)) / (2 * h);
    };
    expect(
      maxDiff(
        dA,
        A.map((_, i) => fd('A', i)),
      ),
    ).toBeLessThan(1e-5);
    expect(
      maxDiff(
        dB,
        B.map((_, i) => fd('B', i)),
      ),
    ).toBeLessThan(1e-5);
  });

  it('batched (rank-3) matMul keeps the stock rule and is correct', () => {
    const c = { transposeA: false, transposeB: true };
    const ref = reference(c);
    const g = tf.tidy(() => {
      const r = tf.tensor3d([...R, ...R], [2, M, N]);
      const a = tf.tensor3d([...A, ...A], [2, M, K]);
      const b = tf.tensor3d([...B, ...B], [2, N, K]);
      const [da] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(r, tf.matMul(x, y, false, true))))([a, b]);
      return Array.from(da.dataSync());
    });
    expect(maxDiff(g, [...ref.dA, ...ref.dA])).toBeLessThan(1e-5);
  });
});
