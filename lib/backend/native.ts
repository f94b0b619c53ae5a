/**
 * Optional native kernels for the wasm backend: matrix products served by the system BLAS
 * (OpenBLAS), convolutions by oneDNN when its headers were there at build time (else
 * im2col + BLAS), and a few fused element-wise kernels (SiLU, Adam, broadcast add, …),
 * through a small Node addon (native/) that reads and writes the wasm heap in place.
 *
 * Why: the wasm backend's matmul is 128-bit SIMD on one thread (threads are off in
 * Node), ~20 GFLOP/s here; OpenBLAS on two cores is several times faster, and its
 * transposed products are free, so the BatchMatMul gradient needs no explicit transposes.
 *
 * Optional three ways: the addon is built at install time only where a compiler,
 * Node's headers and OpenBLAS exist (native/build.js never fails the install); it is
 * detected at run time; PHASED_DMD_NATIVE=0 turns it off, `setNativeKernels(false)`
 * restores the stock wasm kernels in a running process. Specs check every native kernel
 * against the stock wasm kernel (spec/backend/native.spec.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { addGradientRegistration } from './gradients';
import {
  SILU,
  SILU_GRAD,
  DENSE,
  DENSE_GRAD,
  MLP,
  MLP_TRAIN,
  MLP_GRAD,
  ADAM,
  SINUSOIDAL,
  MSE,
  MSE_GRAD,
  SUM_SQUARES,
  denseShapes,
  nativeKernelsActive,
  markNativeKernels,
} from './kernels';
import { packageRoot } from '../util/packageRoot';

export {
  SILU,
  SILU_GRAD,
  DENSE,
  DENSE_GRAD,
  MLP,
  MLP_TRAIN,
  MLP_GRAD,
  ADAM,
  SINUSOIDAL,
  MSE,
  MSE_GRAD,
  SUM_SQUARES,
  denseShapes,
  nativeKernelsActive,
} from './kernels';

/** The addon's functions (native/phased_dmd_native.c); offsets and sizes in floats. */
interface NativeAddon {
  gemm(
    heap: Float32Array,
    batch: number,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    aOff: number,
    aStride: number,
    bOff: number,
    bStride: number,
    cOff: number,
    biasOff: number,
    act: number,
    alpha: number,
  ): void;
  conv2d(
    heap: Float32Array,
    xOff: number,
    wOff: number,
    yOff: number,
    biasOff: number,
    act: number,
    alpha: number,
    ...geometry: number[]
  ): void;
  conv2dBackpropFilter(heap: Float32Array, xOff: number, dyOff: number, dwOff: number, ...geometry: number[]): void;
  conv2dBackpropInput(heap: Float32Array, dyOff: number, wOff: number, dxOff: number, ...geometry: number[]): void;
  silu(heap: Float32Array, xOff: number, yOff: number, n: number): void;
  /** Coefficients b1, 1−b1, b2, 1−b2, c1, c2, eps, −lr; k; per variable θ, m, v, g, θ', m', v' offsets and size. */
  adam(heap: Float32Array, ...coefficientsAndVariables: number[]): void;
  unary(heap: Float32Array, op: number, xOff: number, yOff: number, n: number): void;
  sinusoidal(heap: Float32Array, tOff: number, wOff: number, yOff: number, B: number, h: number): void;
  concat(heap: Float32Array, outOff: number, rows: number, width: number, k: number, ...srcAndInner: number[]): void;
  sumSquares(heap: Float32Array, k: number, ...offAndSize: number[]): number;
  mse(heap: Float32Array, aOff: number, bOff: number, n: number): number;
  mseGrad(heap: Float32Array, aOff: number, bOff: number, daOff: number, n: number, g: number): void;
  split(heap: Float32Array, srcOff: number, rows: number, width: number, k: number, ...dstAndInner: number[]): void;
  addBroadcast(heap: Float32Array, xOff: number, bOff: number, yOff: number, A: number, R: number, C: number): void;
  siluGrad(heap: Float32Array, dyOff: number, xOff: number, dxOff: number, n: number): void;
  sumMiddle(heap: Float32Array, xOff: number, yOff: number, A: number, R: number, C: number): void;
  denseRows(
    heap: Float32Array,
    M: number,
    K: number,
    N: number,
    xOff: number,
    wOff: number,
    bOff: number,
    zOff: number,
    yOff: number,
    act: number,
  ): void;
  denseGradRows(heap: Float32Array, M: number, K: number, N: number, ...offsets: number[]): void;
  /** The chain functions take, after their offsets, M, L, K₀ and per layer (N, wOff, bOff, act[, dwOff, dbOff]). */
  mlp(heap: Float32Array, xOff: number, yOff: number, ...chain: number[]): void;
  mlpTrain(heap: Float32Array, xOff: number, yOff: number, cacheOff: number, ...chain: number[]): void;
  mlpGrad(
    heap: Float32Array,
    dyOff: number,
    xOff: number,
    cacheOff: number,
    dzOff: number,
    dxOff: number,
    ...chain: number[]
  ): void;
  threads(n?: number): number;
  config(): string;
  hasDnnl(): boolean;
  convImpl(): string;
}

/** Every function the kernels call: an addon without one of them is not used at all. */
const ADDON_FUNCTIONS: ReadonlyArray<keyof NativeAddon> = [
  'gemm',
  'conv2d',
  'conv2dBackpropFilter',
  'conv2dBackpropInput',
  'silu',
  'adam',
  'unary',
  'sinusoidal',
  'concat',
  'sumSquares',
  'mse',
  'mseGrad',
  'split',
  'addBroadcast',
  'siluGrad',
  'sumMiddle',
  'denseRows',
  'denseGradRows',
  'mlp',
  'mlpTrain',
  'mlpGrad',
  'threads',
  'config',
  'hasDnnl',
  'convImpl',
];

/** The functions a loaded addon lacks (none for a build of the current sources). */
export const addonMissing = (loaded: object): string[] =>
  ADDON_FUNCTIONS.filter((f) => typeof (loaded as Record<string, unknown>)[f] !== 'function');

export interface NativeStatus {
  /** The addon is built and loaded. */
  readonly available: boolean;
  /** Its kernels currently serve the wasm backend. */
  readonly active: boolean;
  /** Why it is not available / not active. */
  readonly reason?: string;
  /** OpenBLAS build and core, e.g. "OpenBLAS 0.3.21 … USE_OPENMP SkylakeX …". */
  readonly blas?: string;
  readonly threads?: number;
  /** How convolutions run: oneDNN (with the implementation it picked) or im2col + BLAS. */
  readonly convolutions?: string;
  /** Kernels it serves while active. */
  readonly kernels: readonly string[];
}

const ADDON = path.join(packageRoot(), 'native', 'build', 'Release', 'phased_dmd_native.node');

/**
 * OpenBLAS picks its kernels from the CPU model at load time; 0.3.21 (Debian 12) does not
 * know recent Xeons and falls back to SSE3 "Prescott" kernels (~5× slower here). Unless the
 * user chose a core (OPENBLAS_CORETYPE), name one from the CPU's flags before the library
 * loads. The benchmark gives PyTorch's OpenBLAS the same core.
 */
export const openBlasCoreFor = (): string | undefined => {
  if (process.env.OPENBLAS_CORETYPE !== undefined) return process.env.OPENBLAS_CORETYPE;
  if (process.platform !== 'linux') return undefined;
  let flags: Set<string>;
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return undefined;
  }
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => flags.has(f)))
    return flags.has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
  return flags.has('avx2') && flags.has('fma') ? 'Haswell' : undefined;
};

const chooseOpenBlasCore = (): void => {
  const core = openBlasCoreFor();
  if (core !== undefined) process.env.OPENBLAS_CORETYPE = core;
};

/** Environment variables this module set itself (child processes that want their own defaults drop them). */
export const envChosenByNative = new Set<string>();

/**
 * OpenMP's idle threads spin by default. Next to other work on a small machine the spinning
 * thread steals the core the working one needs: measured on 2 cores beside two busy
 * processes, a 300-step ring8 teacher took 71.6 s with spinning threads, 16.6 s with
 * passive ones and 14.7 s on one thread. Unless the user chose a policy, wait passively.
 * (libgomp reads this once, when the addon loads it.)
 */
const chooseOpenMpWaitPolicy = (): void => {
  if (process.env.OMP_WAIT_POLICY !== undefined || process.env.GOMP_SPINCOUNT !== undefined) return;
  process.env.OMP_WAIT_POLICY = 'PASSIVE';
  envChosenByNative.add('OMP_WAIT_POLICY');
};

let addon: NativeAddon | null | undefined;
let loadError = '';

const loadAddon = (): NativeAddon | null => {
  if (addon !== undefined) return addon;
  if (process.env.PHASED_DMD_NATIVE === '0') {
    loadError = 'disabled by PHASED_DMD_NATIVE=0';
    return (addon = null);
  }
  if (!fs.existsSync(ADDON)) {
    loadError =
      'not built (needs a C compiler and OpenBLAS: apt-get install libopenblas-dev, then `node native/build.js`)';
    return (addon = null);
  }
  try {
    chooseOpenBlasCore();
    chooseOpenMpWaitPolicy();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(ADDON) as Partial<NativeAddon>;
    const missing = addonMissing(loaded);
    if (missing.length > 0) {
      // a build of older sources (the package was updated without `npm install`): its kernels are not all there
      loadError =
        `${path.relative(process.cwd(), ADDON)} is built from older sources (no ${missing.join(', ')}): ` +
        'rebuild it with `node native/build.js`';
      return (addon = null);
    }
    addon = loaded as NativeAddon;
  } catch (err) {
    loadError =
      `failed to load ${path.relative(process.cwd(), ADDON)}: ` + `${String((err as Error).message).split('\n')[0]}`;
    addon = null;
  }
  return addon;
};

// ── kernels ──────────────────────────────────────────────────────────────────

/** The parts of tfjs-backend-wasm's BackendWasm the kernels use. */
interface WasmBackend {
  readonly wasm: { HEAPF32: Float32Array };
  readonly dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
  incRef(dataId: object): void;
  disposeData(dataId: object): void;
}

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: WasmBackend;
  attrs: Record<string, unknown>;
};
type Kernel = (args: KernelArgs) => tf.TensorInfo;

/** Element offset of a tensor on the wasm heap (tfjs allocates with malloc: 4-byte aligned or better). */
const offset = (b: WasmBackend, t: tf.TensorInfo): number => b.dataIdMap.get(t.dataId).memoryOffset / 4;
const size = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

const ACTIVATIONS: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

/**
 * op(A)·op(B) (+ bias, activation) with A [.., M|K, K|M], B [.., K|N, N|K]. Batch dims
 * must be equal or one side 1 (a stride-0 broadcast); anything else takes the stock kernel.
 */
const matMul = (args: KernelArgs, fallback: Kernel, fused: boolean): tf.TensorInfo => {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const bias = inputs.bias;
  const ta = Boolean(attrs.transposeA);
  const tb = Boolean(attrs.transposeB);
  const act = fused ? ACTIVATIONS[String(attrs.activation ?? 'linear')] : 0;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const simple =
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    (ta ? a.shape[ra - 2] : a.shape[ra - 1]) === (tb ? b.shape[rb - 1] : b.shape[rb - 2]) &&
    (batchA === batchB || batchA === 1 || batchB === 1) &&
    size(outer) === batch &&
    act !== undefined &&
    inputs.preluActivationWeights === undefined &&
    (bias === undefined || (bias.dtype === 'float32' && size(bias.shape) === N && bias.shape.length === 1)) &&
    M * N * K > 0;
  if (!simple) return fallback(args);
  const out = backend.makeOutput([...outer, M, N], 'float32');
  // read the heap after makeOutput: allocating may grow (and replace) the wasm memory
  addon!.gemm(
    backend.wasm.HEAPF32,
    batch,
    ta,
    tb,
    M,
    N,
    K,
    offset(backend, a),
    batchA === 1 ? 0 : M * K,
    offset(backend, b),
    batchB === 1 ? 0 : K * N,
    offset(backend, out),
    bias === undefined ? -1 : offset(backend, bias),
    act,
    Number(attrs.leakyreluAlpha ?? 0),
  );
  return out;
};

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The 15 geometry numbers of native/phased_dmd_native.c's Conv struct, or null when unsupported (NCHW). */
const convGeometry = (
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
): { info: tf.backend_util.Conv2DInfo; geometry: number[] } | null => {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const geometry = [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
  return geometry.every((g) => Number.isInteger(g) && g >= 0) && size(info.outShape) > 0 ? { info, geometry } : null;
};

const conv2d = (args: KernelArgs, fallback: Kernel, fused: boolean): tf.TensorInfo => {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const filter = inputs.filter!;
  const bias = inputs.bias;
  const act = fused ? ACTIVATIONS[String(attrs.activation ?? 'linear')] : 0;
  const g =
    x.dtype === 'float32' && filter.dtype === 'float32'
      ? convGeometry(x.shape, filter.shape, attrs as unknown as ConvAttrs)
      : null;
  if (
    g === null ||
    act === undefined ||
    inputs.preluActivationWeights !== undefined ||
    (bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== g.info.outChannels))
  )
    return fallback(args);
  const out = backend.makeOutput(g.info.outShape, 'float32');
  addon!.conv2d(
    backend.wasm.HEAPF32,
    offset(backend, x),
    offset(backend, filter),
    offset(backend, out),
    bias === undefined ? -1 : offset(backend, bias),
    act,
    Number(attrs.leakyreluAlpha ?? 0),
    ...g.geometry,
  );
  return out;
};

const conv2dBackpropFilter = (args: KernelArgs, fallback: Kernel | undefined): tf.TensorInfo => {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const dy = inputs.dy!;
  const filterShape = attrs.filterShape as number[];
  const g = convGeometry(x.shape, filterShape, { ...(attrs as unknown as ConvAttrs), dilations: 1 });
  if (g === null || x.dtype !== 'float32' || dy.dtype !== 'float32') {
    if (fallback === undefined)
      throw new Error('Conv2DBackpropFilter: the wasm backend has no kernel for this case (NCHW?)');
    return fallback(args);
  }
  const out = backend.makeOutput(filterShape, 'float32');
  addon!.conv2dBackpropFilter(
    backend.wasm.HEAPF32,
    offset(backend, x),
    offset(backend, dy),
    offset(backend, out),
    ...g.geometry,
  );
  return out;
};

const conv2dBackpropInput = (args: KernelArgs, fallback: Kernel): tf.TensorInfo => {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy!;
  const filter = inputs.filter!;
  const inputShape = attrs.inputShape as number[];
  const g = convGeometry(inputShape, filter.shape, { ...(attrs as unknown as ConvAttrs), dilations: 1 });
  if (g === null || dy.dtype !== 'float32' || filter.dtype !== 'float32') return fallback(args);
  const out = backend.makeOutput(inputShape, 'float32');
  addon!.conv2dBackpropInput(
    backend.wasm.HEAPF32,
    offset(backend, dy),
    offset(backend, filter),
    offset(backend, out),
    ...g.geometry,
  );
  return out;
};

/**
 * Sum over a contiguous run of axes, e.g. a bias gradient (leading axes) or a per-channel
 * sum over H, W: wasm transposes the reduced axes to the end first, which costs more than
 * the sum. Other cases take the stock kernel.
 */
const sum = (args: KernelArgs, fallback: Kernel): tf.TensorInfo => {
  const { inputs, backend, attrs } = args;
  const x = inputs.x!;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  if (x.dtype !== 'float32' || axes.length === 0 || !contiguous || size(x.shape) === 0) return fallback(args);
  const A = size(x.shape.slice(0, axes[0]));
  const R = size(axes.map((a) => x.shape[a]));
  const C = size(x.shape.slice(axes[axes.length - 1] + 1));
  const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  const out = backend.makeOutput(
    attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape,
    'float32',
  );
  addon!.sumMiddle(backend.wasm.HEAPF32, offset(backend, x), offset(backend, out), A, R, C);
  return out;
};

/** Kernel names of the fused SiLU op (lib/backend/ops.ts): y = x·σ(x) and its gradient. */

const silu = (args: KernelArgs): tf.TensorInfo => {
  const { inputs, backend } = args;
  const x = inputs.x!;
  const out = backend.makeOutput(x.shape, 'float32');
  if (size(x.shape) > 0) addon!.silu(backend.wasm.HEAPF32, offset(backend, x), offset(backend, out), size(x.shape));
  return out;
};

const siluGrad = (args: KernelArgs): tf.TensorInfo => {
  const { inputs, backend } = args;
  const [dy, x] = [inputs.dy!, inputs.x!];
  const out = backend.makeOutput(x.shape, 'float32');
  if (size(x.shape) > 0)
    addon!.siluGrad(backend.wasm.HEAPF32, offset(backend, dy), offset(backend, x), offset(backend, out), size(x.shape));
  return out;
};

/** Activation codes of the addon's dense kernels (native/phased_dmd_native.c DENSE_ACT_*). */
const DENSE_ACT: Readonly<Record<string, number>> = { linear: 0, silu: 1 };

/**
 * z = x·W + b, y = act(z) (linear or SiLU) by row tiles: each tile's product and activation
 * run while it is in cache, tiles spread over the threads (native denseRows). Outputs [y, z]
 * when attrs.keepZ (a SiLU layer whose gradient will read z), else [y].
 */
const dense = (args: KernelArgs): tf.TensorInfo[] => {
  const { inputs, backend, attrs } = args;
  const [x, W, b] = [inputs.x!, inputs.W!, inputs.b!];
  const s = denseShapes(x, W, b)!;
  const silu = attrs.activation === 'silu';
  const keepZ = silu && attrs.keepZ !== false;
  const y = backend.makeOutput([s.M, s.N], 'float32');
  const z = keepZ ? backend.makeOutput([s.M, s.N], 'float32') : null;
  addon!.denseRows(
    backend.wasm.HEAPF32, // after the allocations (they may grow the heap)
    s.M,
    s.K,
    s.N,
    offset(backend, x),
    offset(backend, W),
    offset(backend, b),
    z === null ? -1 : offset(backend, z),
    offset(backend, y),
    DENSE_ACT[silu ? 'silu' : 'linear'],
  );
  return z === null ? [y] : [y, z];
};

/**
 * The dense layer's gradient in one kernel: dz = dy·act'(z), dx = dz·Wᵀ, dW = xᵀ·dz,
 * db = Σ_rows dz (native denseGradRows). Outputs [dx, dW, db].
 */
const denseGrad = (args: KernelArgs): tf.TensorInfo[] => {
  const { inputs, backend, attrs } = args;
  const [dy, x, W] = [inputs.dy!, inputs.x!, inputs.W!];
  const [M, K] = x.shape;
  const N = W.shape[1];
  const silu = attrs.activation === 'silu';
  const dx = backend.makeOutput([M, K], 'float32');
  const dW = backend.makeOutput([K, N], 'float32');
  const db = backend.makeOutput([N], 'float32');
  const scratch = silu ? backend.makeOutput([M, N], 'float32') : null;
  addon!.denseGradRows(
    backend.wasm.HEAPF32,
    M,
    K,
    N,
    offset(backend, dy),
    offset(backend, x),
    offset(backend, W),
    silu ? offset(backend, inputs.z!) : -1,
    scratch === null ? -1 : offset(backend, scratch),
    offset(backend, dx),
    offset(backend, dW),
    offset(backend, db),
  );
  if (scratch !== null) backend.disposeData(scratch.dataId);
  return [dx, dW, db];
};

interface ChainLayer {
  readonly W: tf.TensorInfo;
  /** Absent for the gradient, which does not read it. */
  readonly b?: tf.TensorInfo;
  readonly act: number;
}

/** A dense chain's layers from a kernel's inputs x, W0, b0, W1, b1, … and attrs.activations. */
const chainLayers = (args: KernelArgs): ChainLayer[] =>
  (args.attrs.activations as string[]).map((act, i) => ({
    W: args.inputs[`W${i}`]!,
    b: args.inputs[`b${i}`],
    act: DENSE_ACT[act],
  }));

/** The addon's chain arguments: M, L, K₀, then per layer N, wOff, bOff, act (and its gradients' offsets). */
const chainArgs = (
  backend: WasmBackend,
  x: tf.TensorInfo,
  layers: readonly ChainLayer[],
  grads: readonly tf.TensorInfo[] = [],
): number[] => [
  x.shape[0],
  layers.length,
  x.shape[1],
  ...layers.flatMap((l, i) => [
    l.W.shape[1],
    offset(backend, l.W),
    l.b === undefined ? -1 : offset(backend, l.b),
    l.act,
    ...(grads.length > 0 ? [offset(backend, grads[2 * i]), offset(backend, grads[2 * i + 1])] : []),
  ]),
];

/**
 * Floats of the chain's cache (native mlpTrain): per layer, z_i [M, N_i] for a SiLU layer and h_{i+1} [M, N_i] for
 * a hidden one; and of its gradient's dz scratch: every layer's [M, N_i] but a linear last layer's.
 */
const chainFloats = (M: number, layers: readonly ChainLayer[]): { cache: number; dz: number } => {
  const silu = (l: ChainLayer): boolean => l.act === DENSE_ACT.silu;
  const last = layers.length - 1;
  return {
    cache: layers.reduce((n, l, i) => n + M * l.W.shape[1] * ((silu(l) ? 1 : 0) + (i < last ? 1 : 0)), 0),
    dz: layers.reduce((n, l, i) => n + (i === last && !silu(l) ? 0 : M * l.W.shape[1]), 0),
  };
};

/**
 * h₀ = x, h_{i+1} = act_i(h_i·W_i + b_i), no gradient: inputs x, W0, b0, W1, b1, …; attrs
 * activations (one per layer). One native call; a row tile passes through every layer in
 * cache and only the output is allocated (native mlp). Shapes are checked by the op.
 */
const mlp = (args: KernelArgs): tf.TensorInfo => {
  const { inputs, backend } = args;
  const x = inputs.x!;
  const layers = chainLayers(args);
  const out = backend.makeOutput([x.shape[0], layers[layers.length - 1].W.shape[1]], 'float32');
  addon!.mlp(backend.wasm.HEAPF32, offset(backend, x), offset(backend, out), ...chainArgs(backend, x, layers));
  return out;
};

/**
 * The chain for a gradient: outputs [y, cache], the cache holding every SiLU layer's z and
 * every hidden layer's output (native mlpTrain), all that MLP_GRAD reads besides x and W.
 */
const mlpTrain = (args: KernelArgs): tf.TensorInfo[] => {
  const { inputs, backend } = args;
  const x = inputs.x!;
  const layers = chainLayers(args);
  const y = backend.makeOutput([x.shape[0], layers[layers.length - 1].W.shape[1]], 'float32');
  const cache = backend.makeOutput([Math.max(1, chainFloats(x.shape[0], layers).cache)], 'float32');
  addon!.mlpTrain(
    backend.wasm.HEAPF32,
    offset(backend, x),
    offset(backend, y),
    offset(backend, cache),
    ...chainArgs(backend, x, layers),
  );
  return [y, cache];
};

/**
 * The chain's gradient in one call: inputs dy, x, cache (MLP_TRAIN's) and W0, W1, …;
 * outputs [dx, dW0, db0, dW1, db1, …] (native mlpGrad).
 */
const mlpGrad = (args: KernelArgs): tf.TensorInfo[] => {
  const { inputs, backend } = args;
  const [dy, x, cache] = [inputs.dy!, inputs.x!, inputs.cache!];
  const layers = chainLayers(args);
  const dx = backend.makeOutput(x.shape, 'float32');
  const grads = layers.flatMap((l) => [
    backend.makeOutput(l.W.shape, 'float32'),
    backend.makeOutput([l.W.shape[1]], 'float32'),
  ]);
  const dz = backend.makeOutput([Math.max(1, chainFloats(x.shape[0], layers).dz)], 'float32');
  addon!.mlpGrad(
    backend.wasm.HEAPF32,
    offset(backend, dy),
    offset(backend, x),
    offset(backend, cache),
    offset(backend, dz),
    offset(backend, dx),
    ...chainArgs(backend, x, layers, grads),
  );
  backend.disposeData(dz.dataId);
  return [dx, ...grads];
};

/** Variables per addon call (native ADAM_MAX_VARIABLES: its argument list is bounded). */
const ADAM_BATCH = 30;

/**
 * Adam for k variables at once: inputs theta0, m0, v0, g0, theta1, … (each four the same
 * shape); attrs the coefficients; outputs [θ'0, m'0, v'0, θ'1, …].
 */
const adam = (args: KernelArgs): tf.TensorInfo[] => {
  const { inputs, backend, attrs } = args;
  const k = Object.keys(inputs).length / 4;
  const vars = Array.from({ length: k }, (_, j) => ['theta', 'm', 'v', 'g'].map((n) => inputs[`${n}${j}`]!));
  const outs = vars.map(([theta]) => [0, 1, 2].map(() => backend.makeOutput(theta.shape, 'float32')));
  const c = attrs as Record<string, number>;
  const coefficients = [
    c.beta1,
    c.oneMinusBeta1,
    c.beta2,
    c.oneMinusBeta2,
    c.oneMinusAccBeta1,
    c.oneMinusAccBeta2,
    c.epsilon,
    c.negLearningRate,
  ];
  const nonEmpty = vars.map((_, j) => j).filter((j) => size(vars[j][0].shape) > 0);
  for (let i = 0; i < nonEmpty.length; i += ADAM_BATCH) {
    const batch = nonEmpty.slice(i, i + ADAM_BATCH);
    addon!.adam(
      backend.wasm.HEAPF32, // after the allocations (they may grow the heap)
      ...coefficients,
      batch.length,
      ...batch.flatMap((j) => [...[...vars[j], ...outs[j]].map((t) => offset(backend, t)), size(vars[j][0].shape)]),
    );
  }
  return outs.flat();
};

/** sin / cos, vectorised in double precision (wasm's are ~10× slower; the time embedding takes both). */
const unary =
  (op: number) =>
  (args: KernelArgs, fallback: Kernel): tf.TensorInfo => {
    const x = args.inputs.x!;
    if (x.dtype !== 'float32') return fallback(args);
    const out = args.backend.makeOutput(x.shape, 'float32');
    if (size(x.shape) > 0)
      addon!.unary(args.backend.wasm.HEAPF32, op, offset(args.backend, x), offset(args.backend, out), size(x.shape));
    return out;
  };

/** inputs t [B] (any shape of B elements), freqs [h]; output [B, 2h] = [sin(t·ωᵀ), cos(t·ωᵀ)] (native sinusoidal). */
const sinusoidal = (args: KernelArgs): tf.TensorInfo => {
  const { inputs, backend } = args;
  const [t, freqs] = [inputs.t!, inputs.freqs!];
  const [B, h] = [size(t.shape), size(freqs.shape)];
  const out = backend.makeOutput([B, 2 * h], 'float32');
  if (B * h > 0)
    addon!.sinusoidal(backend.wasm.HEAPF32, offset(backend, t), offset(backend, freqs), offset(backend, out), B, h);
  return out;
};

const sumSquares = (args: KernelArgs): tf.TensorInfo => {
  const { backend } = args;
  const inputs = Object.values(args.inputs) as tf.TensorInfo[];
  const total = addon!.sumSquares(
    backend.wasm.HEAPF32,
    inputs.length,
    ...inputs.flatMap((t) => [offset(backend, t), size(t.shape)]),
  );
  return backend.makeOutput([], 'float32', undefined, new Float32Array([total]));
};

/** inputs a, b (the same shape, float32, not empty); output the scalar mean((a − b)²) (native mse). */
const mse = (args: KernelArgs): tf.TensorInfo => {
  const { inputs, backend } = args;
  const [a, b] = [inputs.a!, inputs.b!];
  const value = addon!.mse(backend.wasm.HEAPF32, offset(backend, a), offset(backend, b), size(a.shape));
  return backend.makeOutput([], 'float32', undefined, new Float32Array([value]));
};

/**
 * inputs a, b, dy (the loss's scalar gradient); output ∂/∂a = (a − b)·2·(dy/n), rounded as
 * tfjs's gradient of mean(square(sub(a, b))) rounds it (dy/n, then an exact doubling).
 */
const mseGrad = (args: KernelArgs): tf.TensorInfo => {
  const { inputs, backend } = args;
  const [a, b, dy] = [inputs.a!, inputs.b!, inputs.dy!];
  const n = size(a.shape);
  const g = 2 * Math.fround(backend.wasm.HEAPF32[offset(backend, dy)] / n);
  const out = backend.makeOutput(a.shape, 'float32');
  addon!.mseGrad(backend.wasm.HEAPF32, offset(backend, a), offset(backend, b), offset(backend, out), n, g);
  return out;
};

/** SplitV, the inverse of concat (the gradient of every concat): wasm slices each part. */
const splitV = (args: KernelArgs, fallback: Kernel): tf.TensorInfo | tf.TensorInfo[] => {
  const { backend, attrs } = args;
  const x = args.inputs.x!;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || size(x.shape) === 0) return fallback(args);
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number | number[], axis);
  const rows = size(x.shape.slice(0, axis));
  const below = size(x.shape.slice(axis + 1));
  const outs = sizes.map((s) =>
    backend.makeOutput(
      x.shape.map((d, i) => (i === axis ? s : d)),
      x.dtype,
    ),
  );
  addon!.split(
    backend.wasm.HEAPF32,
    offset(backend, x),
    rows,
    x.shape[axis] * below,
    outs.length,
    ...outs.flatMap((o, k) => [offset(backend, o), sizes[k] * below]),
  );
  return outs;
};

/**
 * Add where one operand broadcasts over a contiguous block of axes: same shapes, a
 * trailing bias [C], or a per-sample-per-channel [B, 1, 1, C]. Views both as
 * y[a, r, c] = x[a, r, c] + b[a, c]; anything else takes the stock kernel.
 */
const add = (args: KernelArgs, fallback: Kernel): tf.TensorInfo => {
  const { backend } = args;
  let [x, b] = [args.inputs.a!, args.inputs.b!];
  if (x.dtype !== 'float32' || b.dtype !== 'float32' || size(x.shape) < 4096) return fallback(args);
  if (size(b.shape) > size(x.shape)) [x, b] = [b, x];
  const rank = x.shape.length;
  if (b.shape.length > rank) return fallback(args);
  const bs = [...Array(rank - b.shape.length).fill(1), ...b.shape];
  // dims where b is 1 but x is not must form one contiguous block [i0, i1)
  const ones = x.shape.map((d, i) => bs[i] !== d);
  if (x.shape.some((d, i) => bs[i] !== d && bs[i] !== 1)) return fallback(args);
  const i0 = ones.indexOf(true);
  const i1 = ones.lastIndexOf(true) + 1;
  if (i0 >= 0 && ones.slice(i0, i1).some((o) => !o)) return fallback(args);
  const [A, R, C] =
    i0 < 0 ? [1, 1, size(x.shape)] : [size(x.shape.slice(0, i0)), size(x.shape.slice(i0, i1)), size(x.shape.slice(i1))];
  const out = backend.makeOutput(x.shape, 'float32');
  addon!.addBroadcast(backend.wasm.HEAPF32, offset(backend, x), offset(backend, b), offset(backend, out), A, R, C);
  return out;
};

const NATIVE_KERNELS: Readonly<
  Record<string, (args: KernelArgs, fallback: Kernel | undefined) => tf.TensorInfo | tf.TensorInfo[]>
> = {
  [ADAM]: adam,
  SplitV: (args, fb) => splitV(args, fb!),
  Add: (args, fb) => add(args, fb!),
  [SUM_SQUARES]: sumSquares,
  [MSE]: mse,
  [MSE_GRAD]: mseGrad,
  [SINUSOIDAL]: sinusoidal,
  Sin: (args, fb) => unary(0)(args, fb!),
  Cos: (args, fb) => unary(1)(args, fb!),
  Sum: (args, fb) => sum(args, fb!),
  [SILU]: silu,
  [SILU_GRAD]: siluGrad,
  [DENSE]: dense,
  [DENSE_GRAD]: denseGrad,
  [MLP]: mlp,
  [MLP_TRAIN]: mlpTrain,
  [MLP_GRAD]: mlpGrad,
  BatchMatMul: (args, fb) => matMul(args, fb!, false),
  _FusedMatMul: (args, fb) => matMul(args, fb!, true),
  Conv2D: (args, fb) => conv2d(args, fb!, false),
  FusedConv2D: (args, fb) => conv2d(args, fb!, true),
  Conv2DBackpropFilter: conv2dBackpropFilter,
  Conv2DBackpropInput: (args, fb) => conv2dBackpropInput(args, fb!),
};

/** The stock wasm kernels we replaced (undefined: wasm has none, e.g. Conv2DBackpropFilter). */
/**
 * wasm's Identity kernel copies the tensor; tfjs runs it for every tensor an op saves for
 * its gradient (several per layer and step). Sharing the buffer, as wasm's Reshape already
 * does, is safe because kernels never write their inputs. Needs no addon.
 */
const identity = (args: KernelArgs): tf.TensorInfo => {
  const x = args.inputs.x!;
  if (x.dtype === 'string') throw new Error('Identity: string tensors take the stock kernel');
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Concat without wasm's per-row subarray views: element loops for short rows (the MLP's
 * [x, emb(t)] rows are 2 + 32 floats), copyWithin on the heap for long ones.
 */
const concat = (args: KernelArgs, fallback: Kernel): tf.TensorInfo => {
  const { backend } = args;
  const inputs = Object.values(args.inputs) as tf.TensorInfo[];
  const dtype = inputs[0]?.dtype;
  if (
    inputs.length < 2 ||
    (dtype !== 'float32' && dtype !== 'int32') ||
    inputs.some((t) => t.dtype !== dtype || size(t.shape) === 0)
  )
    return fallback(args);
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, inputs[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    axis,
  );
  const rows = size(inputs[0].shape.slice(0, axis));
  const inner = inputs.map((t) => size(t.shape.slice(axis)));
  const width = inner.reduce((a, b) => a + b, 0);
  const out = backend.makeOutput(outShape, dtype);
  if (nativeKernelsActive() && addon) {
    // one native call: a memcpy per row and input
    addon.concat(
      backend.wasm.HEAPF32,
      offset(backend, out),
      rows,
      width,
      inputs.length,
      ...inputs.flatMap((t, k) => [offset(backend, t), inner[k]]),
    );
    return out;
  }
  const heap = backend.wasm.HEAPF32;
  const view = dtype === 'float32' ? heap : new Int32Array(heap.buffer, heap.byteOffset, heap.length);
  const outOff = offset(backend, out);
  let col = 0;
  inputs.forEach((t, k) => {
    const src = offset(backend, t);
    const n = inner[k];
    for (let r = 0; r < rows; r++) {
      const from = src + r * n;
      const to = outOff + r * width + col;
      if (n >= 64) view.copyWithin(to, from, from + n);
      else for (let j = 0; j < n; j++) view[to + j] = view[from + j];
    }
    col += n;
  });
  return out;
};

const JS_KERNELS: Readonly<
  Record<string, (args: KernelArgs, fallback: Kernel | undefined) => tf.TensorInfo | tf.TensorInfo[]>
> = {
  Identity: (args, fb) => (args.inputs.x!.dtype === 'string' ? fb!(args) : identity(args)),
  Concat: (args, fb) => concat(args, fb!),
};

/** The stock wasm kernels we replaced (undefined: wasm has none, e.g. Conv2DBackpropFilter). */
const stock = new Map<string, tf.KernelConfig | undefined>();
let overridesActive = false;

const swap = (config: tf.KernelConfig | undefined, name: string): void => {
  if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
  if (config !== undefined) tf.registerKernel(config);
};

const install = (kernels: typeof NATIVE_KERNELS, on: boolean): void => {
  for (const [name, kernel] of Object.entries(kernels)) {
    if (!stock.has(name)) stock.set(name, tf.getKernel(name, 'wasm'));
    const original = stock.get(name);
    if (!on) swap(original, name);
    else {
      const fallback = original?.kernelFunc as unknown as Kernel | undefined;
      swap(
        {
          kernelName: name,
          backendName: 'wasm',
          kernelFunc: ((args: KernelArgs) => kernel(args, fallback)) as unknown as tf.KernelFunc,
        },
        name,
      );
    }
  }
};

/**
 * Serves the heavy wasm kernels natively (on = true) or restores the stock ones.
 * Returns whether native kernels are active afterwards (false when the addon is missing).
 * Call after the wasm backend is initialised (useBackend('wasm') does).
 */
export const setNativeKernels = (on: boolean): boolean => {
  if (on === nativeKernelsActive()) return on;
  if (on && loadAddon() === null) return false;
  install(NATIVE_KERNELS, on);
  markNativeKernels(on);
  return on;
};

/** The addon-free wasm kernel overrides (Identity without a copy): on by default, off restores stock wasm. */
export const setWasmKernelOverrides = (on: boolean): void => {
  if (on === overridesActive) return;
  install(JS_KERNELS, on);
  overridesActive = on;
};

export const nativeStatus = (): NativeStatus => {
  const a = loadAddon();
  if (a === null) return { available: false, active: false, reason: loadError, kernels: [] };
  return {
    available: true,
    active: nativeKernelsActive(),
    reason: nativeKernelsActive()
      ? undefined
      : 'available but not active (the wasm backend is not initialised, or setNativeKernels(false))',
    blas: a.config(),
    threads: a.threads(),
    convolutions:
      a.hasDnnl() && process.env.PHASED_DMD_DNNL !== '0'
        ? `oneDNN${a.convImpl() ? ` (${a.convImpl()})` : ''}`
        : 'im2col + BLAS sgemm',
    kernels: nativeKernelsActive() ? Object.keys(NATIVE_KERNELS) : [],
  };
};

// ── gradients that exploit the native kernels ────────────────────────────────

type GradFunc = tf.GradConfig['gradFunc'];

/**
 * With BLAS, op(a)·op(b) costs the same for every transpose flag: use tfjs's stock BatchMatMul rule, no explicit
 * transposes.
 */
const matMulGrad =
  (other: GradFunc): GradFunc =>
  (dy, saved, attrs) => {
    const [a, b] = saved;
    if (!nativeKernelsActive() || tf.getBackend() !== 'wasm' || a.rank !== 2 || b.rank !== 2) {
      return other(dy, saved, attrs);
    }
    const d = dy as tf.Tensor2D;
    const A = a as tf.Tensor2D;
    const B = b as tf.Tensor2D;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB)
      return { a: () => tf.matMul(d, B, false, true), b: () => tf.matMul(A, d, true, false) };
    if (!transposeA && transposeB)
      return { a: () => tf.matMul(d, B, false, false), b: () => tf.matMul(d, A, true, false) };
    if (transposeA && !transposeB)
      return { a: () => tf.matMul(B, d, false, true), b: () => tf.matMul(A, d, false, false) };
    return { a: () => tf.matMul(B, d, true, true), b: () => tf.matMul(d, A, true, true) };
  };

/** Conv2D's stock gradient (its two backprop kernels), served natively; otherwise the registered rule. */
const conv2dGrad =
  (other: GradFunc): GradFunc =>
  (dy, saved, attrs) => {
    const a = attrs as unknown as ConvAttrs;
    const dilated =
      a.dilations !== undefined &&
      (typeof a.dilations === 'number' ? a.dilations !== 1 : a.dilations[0] !== 1 || a.dilations[1] !== 1);
    const nhwc = (a.dataFormat ?? 'NHWC') === 'NHWC';
    if (!nativeKernelsActive() || tf.getBackend() !== 'wasm' || !nhwc || dilated) return other(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const common = {
      strides: a.strides,
      pad: a.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: a.dimRoundingMode,
    } as unknown as tf.NamedAttrMap;
    return {
      x: () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: dy as tf.Tensor, filter }, {
          ...common,
          inputShape: x.shape,
        } as tf.NamedAttrMap) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy as tf.Tensor }, {
          ...common,
          filterShape: filter.shape,
        } as tf.NamedAttrMap) as tf.Tensor,
    };
  };

let gradientsWrapped = false;
/** Wraps the gradients registered so far (the wasm overrides of ./gradients and ./convGradients). */
const wrapGradients = (): void => {
  if (gradientsWrapped) return;
  for (const [kernelName, wrap, inputsToSave] of [
    ['BatchMatMul', matMulGrad, ['a', 'b']],
    ['Conv2D', conv2dGrad, ['x', 'filter']],
  ] as const) {
    const current = tf.getGradient(kernelName);
    if (current === undefined) continue;
    tf.registerGradient({ kernelName, inputsToSave: [...inputsToSave], gradFunc: wrap(current.gradFunc) });
  }
  gradientsWrapped = true;
};

// Runs after the other wasm registrations (this module is imported last by ./index).
addGradientRegistration((backend) => {
  if (backend !== 'wasm') return;
  wrapGradients();
  setWasmKernelOverrides(true);
  setNativeKernels(true);
});
