/**
 * Splittable seeds. Every random draw in the framework is a pure function of
 * (run seed, phase, step, role): resume, replay and parallel seeds need no hidden
 * RNG state, and any step can be re-created from its index alone.
 */

export type Seed = number; // uint32

const fmix32 = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

const hashLabel = (label: string | number): number => {
  const s = typeof label === 'number' ? `#${label}` : label;
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/** Child seed for a path of labels: `splitSeed(seed, 'phase', 1, 'step', 42, 'noise')`. */
export const splitSeed = (seed: Seed, ...path: ReadonlyArray<string | number>): Seed => {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const label of path) h = fmix32(h ^ Math.imul(hashLabel(label), 0x27d4eb2f) ^ (h << 6));
  // tfjs treats seed 0 as "no seed" (Math.random) in randomNormal: never hand it out
  return h === 0 ? 0x9e3779b9 : h;
};

/** Uniform [0, 1) generator (mulberry32) for host-side draws: batch indices, exit steps. */
export const uniformStream = (seed: Seed): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** n integers uniform in [0, bound). */
export const randomInts = (seed: Seed, n: number, bound: number): Int32Array => {
  const u = uniformStream(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(u() * bound);
  return out;
};

/** n numbers uniform in [0, 1). */
export const randomUniforms = (seed: Seed, n: number): Float64Array => {
  const u = uniformStream(seed);
  return Float64Array.from({ length: n }, () => u());
};

/** One integer uniform in [0, bound). */
export const randomInt = (seed: Seed, bound: number): number => randomInts(seed, 1, bound)[0];
