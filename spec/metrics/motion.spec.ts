/** Motion metrics on hand-made clips: a bright pixel moving a known number of pixels per frame. */
import {
  frameCentroids,
  clipDisplacements,
  meanDisplacement,
  dynamicDegree,
  motionReport,
} from '../../lib/metrics/motion';

const F = 6;
const H = 8;
const W = 12;

/** One clip of a single bright pixel (value 1 on −1) at (r0 + f·dr, c0 + f·dc). */
const clip = (r0: number, c0: number, dr: number, dc: number, channels = 1): Float32Array => {
  const out = new Float32Array(F * H * W * channels).fill(-1);
  for (let f = 0; f < F; f++)
    for (let ch = 0; ch < channels; ch++) out[((f * H + r0 + f * dr) * W + c0 + f * dc) * channels + ch] = 1;
  return out;
};

const concat = (...clips: Float32Array[]): Float32Array => {
  const out = new Float32Array(clips.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of clips) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};

const dims = { frames: F, height: H, width: W };

describe('motion metrics', () => {
  it('centroid of a single bright pixel is its (row, col)', () => {
    const c = frameCentroids(clip(2, 1, 0, 1), dims);
    for (let f = 0; f < F; f++) {
      expect(c[2 * f]).toBeCloseTo(2, 12);
      expect(c[2 * f + 1]).toBeCloseTo(1 + f, 12);
    }
  });

  it('a clip moving 1 px/frame has mean displacement 1; diagonal (1, 1) gives √2; static 0', () => {
    expect(meanDisplacement(clip(3, 2, 0, 1), dims)).toBeCloseTo(1, 12);
    expect(meanDisplacement(clip(1, 1, 1, 1), dims)).toBeCloseTo(Math.SQRT2, 12);
    expect(meanDisplacement(clip(4, 4, 0, 0), dims)).toBe(0);
  });

  it('sub-pixel motion: a σ = 1 px Gaussian blob moving 0.3 px/frame measures 0.3 ± 0.03', () => {
    const x = new Float32Array(F * H * W);
    for (let f = 0; f < F; f++)
      for (let r = 0; r < H; r++)
        for (let c = 0; c < W; c++)
          x[(f * H + r) * W + c] = -1 + 2 * Math.exp(-((r - 4) ** 2 + (c - 4 - 0.3 * f) ** 2) / 2);
    expect(Math.abs(meanDisplacement(x, dims) - 0.3)).toBeLessThan(0.03);
  });

  it('background below a quarter of the way from the frame mean to its peak gets no weight', () => {
    // peak 1 at (2, 3); a faint 0.1 haze at (6, 10) stays below τ = m + ¼(M − m) on a 0 background
    const x = new Float32Array(F * H * W);
    for (let f = 0; f < F; f++) {
      x[(f * H + 2) * W + 3] = 1;
      x[(f * H + 6) * W + 10] = 0.1;
    }
    const c = frameCentroids(x, dims);
    expect([c[0], c[1]]).toEqual([2, 3]);
  });

  it('dynamic degree: share of clips above the threshold (default 0.5 px/frame)', () => {
    const clips = concat(clip(1, 0, 0, 1), clip(4, 4, 0, 0), clip(0, 0, 1, 1), clip(2, 0, 0, 2));
    expect(Array.from(clipDisplacements(clips, dims)).map((v) => +v.toFixed(12))).toEqual([
      1,
      0,
      +Math.SQRT2.toFixed(12),
      2,
    ]);
    expect(dynamicDegree(clips, dims)).toBe(0.75);
    expect(dynamicDegree(clips, dims, 1.5)).toBe(0.25);
    const r = motionReport(clips, dims);
    expect(r.meanDisplacement).toBeCloseTo((1 + 0 + Math.SQRT2 + 2) / 4, 12);
    expect(r.threshold).toBe(0.5);
  });

  it('channels-last clips [N, F, H, W, C] average the channels', () => {
    expect(meanDisplacement(clip(3, 2, 0, 1, 3), { ...dims, channels: 3 })).toBeCloseTo(1, 12);
  });

  it('a uniform frame has no centroid and its transitions are skipped', () => {
    const x = clip(3, 0, 0, 1);
    x.fill(-1, 2 * H * W, 3 * H * W); // frame 2 blank
    const c = frameCentroids(x, dims);
    expect(Number.isNaN(c[4])).toBe(true);
    // transitions 0→1, 3→4, 4→5 remain, each 1 px
    expect(meanDisplacement(x, dims)).toBeCloseTo(1, 12);
  });

  it('refuses clips that do not match the dims', () => {
    expect(() => meanDisplacement(new Float32Array(7), dims)).toThrow(
      /7 values is not a whole number of clips of \[6, 8, 12, 1\]/,
    );
    expect(() => meanDisplacement(new Float32Array(0), { ...dims, frames: 0 })).toThrow(
      /dims.frames: expected a positive integer, got 0/,
    );
    expect(() => dynamicDegree(clip(0, 0, 0, 1), dims, -1)).toThrow(/threshold must be ≥ 0/);
  });
});
