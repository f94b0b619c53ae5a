/**
 * Rectified-flow time conventions (docs/algorithm.md §1), on plain numbers.
 * t ∈ [0, 1]: data at t = 0, noise at t = 1;  x_t = α_t·x0 + σ_t·ε with α_t = 1 − t, σ_t = t.
 */

/** α_t = 1 − t. */
export const alpha = (t: number): number => 1 - t;

/** σ_t = t. */
export const sigma = (t: number): number => t;

/** Timestep shift: shift(t) = S·t / (1 + (S − 1)·t). S = 1 is the identity. */
export const shiftTime = (t: number, S: number): number => (S * t) / (1 + (S - 1) * t);

/** Inverse shift: u = t / (S − (S − 1)·t), so that shift(u) = t. */
export const unshiftTime = (t: number, S: number): number => t / (S - (S - 1) * t);

/** SNR(t) = α_t² / σ_t² = ((1 − t) / t)². Infinite at t = 0. */
export const snrOfTime = (t: number): number => ((1 - t) / t) ** 2;

/** t = 1 / (1 + √SNR). */
export const timeOfSnr = (snr: number): number => 1 / (1 + Math.sqrt(snr));

/** λ = log SNR(t) = 2·log((1 − t) / t). */
export const logSnrOfTime = (t: number): number => 2 * Math.log((1 - t) / t);

/** t = 1 / (1 + exp(λ / 2)). */
export const timeOfLogSnr = (logSnr: number): number => 1 / (1 + Math.exp(logSnr / 2));

/**
 * Shifted step grid: N steps from `start` to `end`, evenly spaced in unshifted time,
 * then shifted. `timeGrid(4, 5)` = [1, .938, .833, .625, 0].
 */
export const timeGrid = (N: number, S: number, start = 1, end = 0): number[] => {
  const u0 = unshiftTime(start, S);
  const u1 = unshiftTime(end, S);
  return Array.from({ length: N + 1 }, (_, i) =>
    i === 0 ? start : i === N ? end : shiftTime(u0 + ((u1 - u0) * i) / N, S),
  );
};

/** α_{t|s} = (1 − t) / (1 − s): the signal scale from x_s to x_t (s < t). */
export const alphaTS = (t: number, s: number): number => (1 - t) / (1 - s);

/** σ_{t|s} = √(t² − ((1 − t)·s / (1 − s))²): the noise added from x_s to x_t. */
export const sigmaTS = (t: number, s: number): number => Math.sqrt(Math.max(0, t * t - (((1 - t) * s) / (1 - s)) ** 2));

/** DMD weight w_t = (1 − t)² / t (§3). */
export const dmdWeight = (t: number): number => (1 - t) ** 2 / t;

/** Phased DMD generator weight (1 − t)² / (t·(1 − s)) (§5); s = 0 gives dmdWeight. */
export const phasedWeight = (t: number, s: number): number => (1 - t) ** 2 / (t * (1 - s));

/** Fake-score clamp weight min(1, 10·σ_{t|s}²) (§5). */
export const subintervalLossWeight = (t: number, s: number): number => Math.min(1, 10 * sigmaTS(t, s) ** 2);

/**
 * Coefficients of the unbiased subinterval velocity target v* = a·ε − b·x_s (§5):
 * a = ((1 − s)²·t + (1 − t)·s²) / ((1 − s)²·σ_{t|s}),  b = 1 / (1 − s).
 */
export const subintervalTargetCoefficients = (t: number, s: number): { a: number; b: number } => ({
  a: ((1 - s) ** 2 * t + (1 - t) * s * s) / ((1 - s) ** 2 * sigmaTS(t, s)),
  b: 1 / (1 - s),
});
