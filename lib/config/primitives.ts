/** Refined number codecs shared by every config. Their names are what error reports print. */
import * as t from 'io-ts';

export interface PositiveIntBrand {
  readonly PositiveInt: unique symbol;
}
export const PositiveInt = t.brand(
  t.number,
  (n): n is t.Branded<number, PositiveIntBrand> => Number.isInteger(n) && n >= 1,
  'PositiveInt',
);
export type PositiveInt = t.TypeOf<typeof PositiveInt>;

export interface NonNegativeIntBrand {
  readonly NonNegativeInt: unique symbol;
}
export const NonNegativeInt = t.brand(
  t.number,
  (n): n is t.Branded<number, NonNegativeIntBrand> => Number.isInteger(n) && n >= 0,
  'NonNegativeInt',
);
export type NonNegativeInt = t.TypeOf<typeof NonNegativeInt>;

export interface PositiveBrand {
  readonly Positive: unique symbol;
}
export const Positive = t.brand(
  t.number,
  (n): n is t.Branded<number, PositiveBrand> => Number.isFinite(n) && n > 0,
  'Positive',
);
export type Positive = t.TypeOf<typeof Positive>;

export interface NonNegativeBrand {
  readonly NonNegative: unique symbol;
}
export const NonNegative = t.brand(
  t.number,
  (n): n is t.Branded<number, NonNegativeBrand> => Number.isFinite(n) && n >= 0,
  'NonNegative',
);
export type NonNegative = t.TypeOf<typeof NonNegative>;

export interface UnitIntervalBrand {
  readonly UnitInterval: unique symbol;
}
/** A number in [0, 1]. */
export const UnitInterval = t.brand(
  t.number,
  (n): n is t.Branded<number, UnitIntervalBrand> => Number.isFinite(n) && n >= 0 && n <= 1,
  'UnitInterval',
);
export type UnitInterval = t.TypeOf<typeof UnitInterval>;

export interface ProbabilityBrand {
  readonly Probability: unique symbol;
}
/** A number in [0, 1). */
export const Probability = t.brand(
  t.number,
  (n): n is t.Branded<number, ProbabilityBrand> => Number.isFinite(n) && n >= 0 && n < 1,
  'Probability',
);
export type Probability = t.TypeOf<typeof Probability>;

/** A number as a message shows it: NaN and ±Infinity by name (JSON would print null). */
export const showNumber = (n: number): string => (Number.isFinite(n) ? JSON.stringify(n) : String(n));

export interface FiniteBrand {
  readonly Finite: unique symbol;
}
/** Any finite number: NaN and ±Infinity are refused by name. */
export const Finite = new t.Type<t.Branded<number, FiniteBrand>, number, unknown>(
  'Finite',
  (u): u is t.Branded<number, FiniteBrand> => typeof u === 'number' && Number.isFinite(u),
  (u, c) =>
    typeof u !== 'number'
      ? t.failure(u, c)
      : Number.isFinite(u)
        ? t.success(u as t.Branded<number, FiniteBrand>)
        : t.failure(u, c, `expected a finite number, got ${showNumber(u)}`),
  t.identity,
);
export type Finite = t.TypeOf<typeof Finite>;

/**
 * `codec`, also at most `max`: a value past it would exhaust memory or never finish, so it
 * is refused at the edge with the bound and the reason.
 */
export const atMost = <A extends number>(
  codec: t.Type<A, number, unknown>,
  max: number,
  why: string,
): t.Type<A, number, unknown> =>
  new t.Type<A, number, unknown>(
    codec.name,
    (u): u is A => codec.is(u) && u <= max,
    (u, c) => {
      const r = codec.validate(u, c);
      if (r._tag === 'Left' || r.right <= max) return r;
      return t.failure(
        u,
        c,
        `expected ${codec.name} ≤ ${max.toLocaleString('en-US')} (${why}), got ${showNumber(r.right)}`,
      );
    },
    codec.encode,
  );

/** At most 10 000 000 (more would run for years). */
export const StepCount = atMost(PositiveInt, 10_000_000, 'more would run for years');
/** At most 65 536 samples. */
export const BatchSize = atMost(PositiveInt, 65_536, 'larger batches do not fit in memory with any model here');
/** At most 10 000. */
export const SamplerSteps = atMost(PositiveInt, 10_000, 'the time grid and its run grow with it');
/** At most 16 384. */
export const Width = atMost(PositiveInt, 16_384, 'a wider layer would not fit in memory');

/** An array of at most `max` items. */
export const arrayAtMost = <C extends t.Mixed>(item: C, max: number, why: string) =>
  new t.Type<Array<t.TypeOf<C>>, Array<t.OutputOf<C>>, unknown>(
    `${item.name}[]`,
    (u): u is Array<t.TypeOf<C>> => Array.isArray(u) && u.length <= max && u.every((x) => item.is(x)),
    (u, c) =>
      Array.isArray(u) && u.length > max
        ? t.failure(u, c, `expected at most ${max} items (${why}), got ${u.length.toLocaleString('en-US')}`)
        : t.array(item).validate(u, c),
    (a) => t.array(item).encode(a),
  );
