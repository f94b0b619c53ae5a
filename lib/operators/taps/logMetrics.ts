import { MonoTypeOperatorFunction, tap } from 'rxjs';
import type { StepMetrics } from '../../stream/types';
import { phaseLabel } from '../../phases/label';

/** A line per metrics event whose step is a multiple of `every` (and that carries numbers). */
export const formatMetrics = (m: StepMetrics): string => {
  const extras = Object.entries(m.extras)
    .map(([k, v]) => ` ${k}=${v.toPrecision(4)}`)
    .join('');
  return (
    `${phaseLabel(m.key.phase)} step ${m.key.step} ${m.role}: loss=${m.loss?.toPrecision(4)} ` +
    `|g|=${m.gradNorm?.toPrecision(4)}${extras} (${m.ms.toFixed(1)} ms)`
  );
};

/** Taps metrics into a logger every `every` steps; passes events through unchanged. */
export const logMetrics = (
  every: number,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): MonoTypeOperatorFunction<StepMetrics> =>
  tap((m) => {
    if (m.loss !== null && m.key.step % every === 0) log(formatMetrics(m));
  });
