/** Refined number codecs shared by every config. Their names are what error reports print. */
import * as t from 'io-ts';

export interface PositiveIntBrand { readonly PositiveInt: unique symbol }
export const PositiveInt = t.brand(t.number, (n): n is t.Branded<number, PositiveIntBrand> => Number.isInteger(n) && n >= 1, 'PositiveInt');
export type PositiveInt = t.TypeOf<typeof PositiveInt>;

export interface NonNegativeIntBrand { readonly NonNegativeInt: unique symbol }
export const NonNegativeInt = t.brand(t.number, (n): n is t.Branded<number, NonNegativeIntBrand> => Number.isInteger(n) && n >= 0, 'NonNegativeInt');
export type NonNegativeInt = t.TypeOf<typeof NonNegativeInt>;

export interface PositiveBrand { readonly Positive: unique symbol }
export const Positive = t.brand(t.number, (n): n is t.Branded<number, PositiveBrand> => Number.isFinite(n) && n > 0, 'Positive');
export type Positive = t.TypeOf<typeof Positive>;

export interface NonNegativeBrand { readonly NonNegative: unique symbol }
export const NonNegative = t.brand(t.number, (n): n is t.Branded<number, NonNegativeBrand> => Number.isFinite(n) && n >= 0, 'NonNegative');
export type NonNegative = t.TypeOf<typeof NonNegative>;

export interface UnitIntervalBrand { readonly UnitInterval: unique symbol }
/** A number in [0, 1]. */
export const UnitInterval = t.brand(t.number, (n): n is t.Branded<number, UnitIntervalBrand> => Number.isFinite(n) && n >= 0 && n <= 1, 'UnitInterval');
export type UnitInterval = t.TypeOf<typeof UnitInterval>;

export interface ProbabilityBrand { readonly Probability: unique symbol }
/** A number in [0, 1). */
export const Probability = t.brand(t.number, (n): n is t.Branded<number, ProbabilityBrand> => Number.isFinite(n) && n >= 0 && n < 1, 'Probability');
export type Probability = t.TypeOf<typeof Probability>;
