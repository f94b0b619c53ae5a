/**
 * Point sets on the host: row-major [N, D] arrays with D given alongside, and the
 * pairwise distances every sample-based metric starts from.
 */

/** Row-major [N, D] values. */
export type Rows = Float32Array | Float64Array | ArrayLike<number>;

export class MetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricError';
  }
}

/** Checks that `x` holds whole rows of `dim` finite-length values and returns N. */
export const asRows = (x: Rows, dim: number, what: string): number => {
  if (!Number.isInteger(dim) || dim < 1) throw new MetricError(`${what}: dim must be a positive integer, got ${dim}`);
  if (x.length % dim !== 0)
    throw new MetricError(`${what}: ${x.length} values is not a whole number of rows of dim ${dim}`);
  return x.length / dim;
};

/** Like asRows, and at least `min` rows. */
export const atLeastRows = (x: Rows, dim: number, min: number, what: string): number => {
  const n = asRows(x, dim, what);
  if (n < min) throw new MetricError(`${what}: need at least ${min} samples, got ${n}`);
  return n;
};

/**
 * The values as a Float64Array (no copy when they already are one). Metrics convert once at
 * entry: inner loops over one array type stay monomorphic, which V8 runs ~10× faster.
 */
export const f64 = (x: Rows): Float64Array =>
  x instanceof Float64Array ? x : Float64Array.from(x as ArrayLike<number>);

/** ‖x_i − y_j‖² for row i of x and row j of y. */
export const sqDist = (x: Float64Array, i: number, y: Float64Array, j: number, dim: number): number => {
  let s = 0;
  const a = i * dim;
  const b = j * dim;
  for (let k = 0; k < dim; k++) {
    const d = x[a + k] - y[b + k];
    s += d * d;
  }
  return s;
};

/** D_ij = ‖x_i − y_j‖² as a row-major [N, M] Float64Array. */
export const pairwiseSqDist = (x: Rows, y: Rows, dim: number): Float64Array => {
  const n = asRows(x, dim, 'pairwise x');
  const m = asRows(y, dim, 'pairwise y');
  const a = f64(x);
  const b = f64(y);
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = sqDist(a, i, b, j, dim);
  return out;
};

/** Squared distances within and between two sets a [N, D], b [M, D]: computed once, shared by several metrics. */
export interface PairDistances {
  readonly n: number;
  readonly m: number;
  /** ‖a_i − a_j‖², [N, N]. */
  readonly aa: Float64Array;
  /** ‖b_i − b_j‖², [M, M]. */
  readonly bb: Float64Array;
  /** ‖a_i − b_j‖², [N, M]. */
  readonly ab: Float64Array;
}

/** Symmetric [N, N] squared distances of one set (upper triangle mirrored). */
const selfSqDist = (a: Float64Array, n: number, dim: number): Float64Array => {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const d = sqDist(a, i, a, j, dim);
      out[i * n + j] = d;
      out[j * n + i] = d;
    }
  return out;
};

export const pairDistances = (a: Rows, b: Rows, dim: number): PairDistances => {
  const n = asRows(a, dim, 'first set');
  const m = asRows(b, dim, 'second set');
  const fa = f64(a);
  const fb = f64(b);
  return { n, m, aa: selfSqDist(fa, n, dim), bb: selfSqDist(fb, m, dim), ab: pairwiseSqDist(fa, fb, dim) };
};

/** Deterministic subsample: at most `max` rows, taken at an even stride (keeps metrics O(max²)). */
export const strideRows = (x: Rows, dim: number, max: number): Float64Array => {
  const n = asRows(x, dim, 'strideRows');
  if (n <= max) return f64(x);
  const out = new Float64Array(max * dim);
  for (let r = 0; r < max; r++) {
    const src = Math.floor((r * n) / max);
    for (let k = 0; k < dim; k++) out[r * dim + k] = x[src * dim + k];
  }
  return out;
};

/** Rows of x then rows of y. */
export const concatRows = (x: Rows, y: Rows): Float64Array => {
  const out = new Float64Array(x.length + y.length);
  out.set(x as ArrayLike<number>);
  out.set(y as ArrayLike<number>, x.length);
  return out;
};

/** Median of an array (copied, sorted). NaN for an empty array. */
export const median = (values: ArrayLike<number>): number => {
  const a = Float64Array.from(values as ArrayLike<number>).sort();
  if (a.length === 0) return NaN;
  const h = a.length >> 1;
  return a.length % 2 === 1 ? a[h] : 0.5 * (a[h - 1] + a[h]);
};
