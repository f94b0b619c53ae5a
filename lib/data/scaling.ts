/**
 * How stored data values become the values a model trains on, and back. The flow's noise
 * is N(0, I), so the data should sit near unit scale:
 *
 *   integer images (uint8, uint16)   x = (p − m) / m,  m = (2^bits − 1)/2   →  [−1, 1]
 *   standardised (asked for)         x_c = (v_c − μ_c) / σ_c  per channel c (the last axis)
 *   anything else                    x = v (used as given)
 *
 * All three are one per-channel affine map x = (v − shift_c) / scale_c, stored with a
 * checkpoint so samples come back in the data's own units: v = x·scale_c + shift_c.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';

export const DataScaling = t.type(
  {
    /** range: an integer dtype's range onto [−1, 1]; standardise: per-channel z-scores; none: as given. */
    mapping: t.keyof({ range: null, standardise: null, none: null }),
    /** Per channel (last axis); one entry applies to every channel. */
    shift: t.array(t.number),
    scale: t.array(t.number),
    /** The stored values shown as black and white in figures (raw units). */
    lo: t.number,
    hi: t.number,
    /** The dtype samples are written as in raw units: the integer type of integer images, else float32. */
    dtype: t.keyof({ uint8: null, uint16: null, float32: null }),
  },
  'DataScaling',
);
export type DataScaling = t.TypeOf<typeof DataScaling>;

/** Model values as they are: the generated mixtures and clips, which are made at unit scale. */
export const IDENTITY_SCALING: DataScaling = {
  mapping: 'none',
  shift: [0],
  scale: [1],
  lo: -1,
  hi: 1,
  dtype: 'float32',
};

/** The integer images' map for a bit depth: p ∈ [0, 2^bits − 1] → [−1, 1]. */
export const rangeScaling = (bits: 8 | 16): DataScaling => {
  const top = bits === 8 ? 255 : 65535;
  return {
    mapping: 'range',
    shift: [top / 2],
    scale: [top / 2],
    lo: 0,
    hi: top,
    dtype: bits === 8 ? 'uint8' : 'uint16',
  };
};

/** Per-channel moments and the overall range of row-major values whose last axis has `channels` entries. */
export interface ValueStats {
  readonly mean: number[];
  readonly std: number[];
  readonly min: number;
  readonly max: number;
}

export const valueStats = (values: ArrayLike<number>, channels: number): ValueStats => {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum[i % channels] += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const count = values.length / channels;
  const mean = Array.from(sum, (s) => s / count);
  for (let i = 0; i < values.length; i++) sq[i % channels] += (values[i] - mean[i % channels]) ** 2;
  return { mean, std: Array.from(sq, (s) => Math.sqrt(s / count)), min, max };
};

/** x_c = (v_c − μ_c)/σ_c; a constant channel (σ = 0) is only centred. */
export const standardiseScaling = (s: ValueStats, dtype: DataScaling['dtype']): DataScaling => ({
  mapping: 'standardise',
  shift: s.mean,
  scale: s.std.map((d) => (d > 0 ? d : 1)),
  lo: s.min,
  hi: s.max,
  dtype,
});

/** Float data as given; figures span the data's own range. */
export const asGivenScaling = (s: ValueStats): DataScaling => ({
  mapping: 'none',
  shift: [0],
  scale: [1],
  lo: s.min,
  hi: s.max > s.min ? s.max : s.min + 1,
  dtype: 'float32',
});

const channelOf = (m: DataScaling, i: number, channels: number): number => (m.shift.length === 1 ? 0 : i % channels);

/** Raw values → model values (x = (v − shift)/scale), into a new Float32Array. */
export const toModel = (m: DataScaling, values: ArrayLike<number>, channels = m.shift.length): Float32Array => {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(m, i, channels);
    out[i] = (values[i] - m.shift[c]) / m.scale[c];
  }
  return out;
};

/** Model values → raw values (v = x·scale + shift), into a new Float32Array. */
export const toRaw = (m: DataScaling, values: ArrayLike<number>, channels = m.shift.length): Float32Array => {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = channelOf(m, i, channels);
    out[i] = values[i] * m.scale[c] + m.shift[c];
  }
  return out;
};

/** [lo, hi] in the model's values (the widest over channels): what figures of unmapped samples span. */
export const modelRange = (m: DataScaling): { lo: number; hi: number } => {
  const ends = m.shift.flatMap((shift, c) => [(m.lo - shift) / m.scale[c], (m.hi - shift) / m.scale[c]]);
  return { lo: Math.min(...ends), hi: Math.max(...ends) };
};

/** Raw values as the integer dtype they were stored in: rounded and clipped to [lo, hi]. */
export const toStoredIntegers = (m: DataScaling, raw: Float32Array): Uint8Array | Uint16Array => {
  const out = m.dtype === 'uint16' ? new Uint16Array(raw.length) : new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = Math.max(m.lo, Math.min(m.hi, Math.round(raw[i])));
  return out;
};

/** A std this far from 1 makes the noise negligible (or overwhelming) next to the data. */
export const FAR_FROM_UNIT_STD = 10;

/**
 * Why float data used as given may train badly: a std above 10, or values in [0, 255] that
 * reach past 10 (8-bit pixels saved as floats). Empty when the scale looks fine.
 */
export const scaleWarnings = (s: ValueStats, what: string): string[] => {
  const std = Math.max(...s.std);
  const pixels = s.min >= 0 && s.max > FAR_FROM_UNIT_STD && s.max <= 255;
  if (!(std > FAR_FROM_UNIT_STD || pixels)) return [];
  const span = `${s.min.toPrecision(3)}…${s.max.toPrecision(3)}`;
  const why = pixels
    ? `its values lie in [0, 255] (${span}: pixels saved as floats?)`
    : `its std is ${std.toPrecision(3)}`;
  return [
    `${what}: float data used as given, but ${why}; the model trains best near unit scale (the noise is N(0, 1)). ` +
      'Pass --normalise (data.normalise: true) to standardise each channel, ' +
      'or save 8-bit images as uint8 to map [0, 255] to [−1, 1].',
  ];
};

/** What the stored values are: floats, unsigned 8- or 16-bit integers, or wider integers (int32, int64). */
export type StoredKind = 'float' | 'uint8' | 'uint16' | 'int';

export interface ScalingChoice {
  readonly scaling: DataScaling;
  /** Warnings and notes for the user (the data's scale, how wide integers were read). */
  readonly notes: string[];
}

export interface ScalingInput {
  readonly kind: StoredKind;
  /** Samples are images [H, W, C] (integer pixel maps apply to images only). */
  readonly image: boolean;
  /** Standardise each channel (the last axis). */
  readonly normalise: boolean;
  readonly stats: ValueStats;
  /** Names the data in notes and errors (its path). */
  readonly what: string;
}

const bitsOf = (kind: StoredKind, s: ValueStats): 8 | 16 | null =>
  kind === 'uint8' || (kind === 'int' && s.min >= 0 && s.max <= 255)
    ? 8
    : kind === 'uint16' || (kind === 'int' && s.min >= 0 && s.max <= 65535)
      ? 16
      : null;

/**
 * The map for a data set: integer images onto [−1, 1] by their bit depth (int32/int64
 * images by the range their values fit, 8 or 16 bits), per-channel z-scores when
 * `normalise`, else the values as given (with warnings when their scale is far from unit).
 * Left: integer images that fit no pixel depth.
 */
export const chooseScaling = (o: ScalingInput): E.Either<string, ScalingChoice> => {
  const integerImage = o.image && o.kind !== 'float';
  const bits = integerImage ? bitsOf(o.kind, o.stats) : null;
  if (integerImage && bits === null && !o.normalise)
    return E.left(
      `${o.what}: integer images with values ${o.stats.min}…${o.stats.max} fit neither 8-bit [0, 255] nor 16-bit ` +
        '[0, 65535] pixels; save them as uint8/uint16, or as float32 (used as given, or standardised with --normalise)',
    );
  const notes =
    o.kind === 'int' && bits !== null
      ? [`${o.what}: integer images with values in [0, ${bits === 8 ? 255 : 65535}] read as ${bits}-bit pixels`]
      : [];
  if (o.normalise) {
    const z = standardiseScaling(o.stats, bits === null ? 'float32' : bits === 8 ? 'uint8' : 'uint16');
    return E.right({ scaling: bits === null ? z : { ...z, lo: 0, hi: rangeScaling(bits).hi }, notes });
  }
  if (bits !== null) return E.right({ scaling: rangeScaling(bits), notes });
  return E.right({ scaling: asGivenScaling(o.stats), notes: scaleWarnings(o.stats, o.what) });
};

/** What a checkpoint keeps about its data: the scaling (meta.dataScaling) and class names (meta.classNames). */
export const dataMetaOf = (d: {
  readonly scaling?: DataScaling;
  readonly classNames?: readonly string[];
}): Record<string, unknown> => ({
  ...(d.scaling !== undefined ? { dataScaling: d.scaling } : {}),
  ...(d.classNames !== undefined ? { classNames: d.classNames } : {}),
});
