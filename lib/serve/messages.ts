/**
 * What the live page receives (Server-Sent Events, one JSON object each): recording
 * events slimmed for a browser — metrics as numbers, samples as a figure URL (rendered
 * here with lib/plots, once per snapshot), tensors never.
 */
import * as E from 'fp-ts/Either';
import type { RawLine } from '../record/reader';
import { decodeEventLine, decodeHeader } from '../record/reader';
import type { RecordedEvent, RecordingHeader } from '../record/events';
import { decodeRunConfig, phaseTotals } from '../train/configs';

export type ClientMessage =
  | {
      readonly type: 'header';
      readonly method: string;
      readonly seed: number;
      readonly backend: string;
      readonly createdAt: string;
      readonly totals: readonly number[] | null;
      readonly config: unknown;
    }
  | {
      readonly type: 'metrics';
      readonly phase: number;
      readonly step: number;
      readonly role: string;
      readonly loss: number | null;
      readonly gradNorm: number | null;
      readonly ms: number;
      readonly at: number;
    }
  | { readonly type: 'phaseEnd'; readonly phase: number; readonly at: number }
  | {
      readonly type: 'sample';
      readonly name: string;
      readonly phase: number;
      readonly step: number;
      readonly nfe: number | null;
      readonly url: string;
      readonly shape: readonly number[];
      readonly at: number;
    }
  | {
      readonly type: 'checkpoint';
      readonly phase: number;
      readonly step: number;
      readonly file: string;
      readonly at: number;
    }
  | { readonly type: 'resume'; readonly phase: number; readonly step: number; readonly at: number }
  | { readonly type: 'end'; readonly status: string; readonly message: string | null; readonly at: number }
  | { readonly type: 'issue'; readonly message: string };

const finiteOrNull = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

export const headerMessage = (h: RecordingHeader): ClientMessage => {
  const decoded = decodeRunConfig(h.config);
  let totals: number[] | null = null;
  try {
    totals = E.isRight(decoded) ? phaseTotals(decoded.right) : null;
  } catch {
    totals = null; // a config the current code cannot schedule: show steps without totals
  }
  return {
    type: 'header',
    method: (h.config as { method?: string } | null)?.method ?? h.kind ?? 'run',
    seed: h.seed,
    backend: h.backend,
    createdAt: h.createdAt,
    totals,
    config: h.config,
  };
};

/** The message of an event; `figure` renders a sample event and returns its URL. */
export const eventMessage = async (
  e: RecordedEvent,
  line: number,
  figure: (e: Extract<RecordedEvent, { type: 'sample' }>, line: number) => Promise<string>,
): Promise<ClientMessage | null> => {
  switch (e.type) {
    case 'metrics':
      return {
        type: 'metrics',
        phase: e.key.phase,
        step: e.key.step,
        role: e.role,
        loss: finiteOrNull(e.loss),
        gradNorm: finiteOrNull(e.gradNorm),
        ms: e.ms,
        at: e.at,
      };
    case 'phaseEnd':
      return { type: 'phaseEnd', phase: e.phase, at: e.at };
    case 'sample':
      return {
        type: 'sample',
        name: e.name,
        phase: e.phase,
        step: e.step,
        nfe: e.nfe ?? null,
        url: await figure(e, line),
        shape: e.x.shape,
        at: e.at,
      };
    case 'checkpoint':
      return { type: 'checkpoint', phase: e.phase, step: e.step, file: e.file, at: e.at };
    case 'resume':
      return { type: 'resume', phase: e.phase, step: e.step, at: e.at };
    case 'end':
      return { type: 'end', status: e.status, message: e.message ?? null, at: e.at };
    default:
      return null; // batches and loss values: not shown
  }
};

/** Decodes a recording line (line 1 is the header). */
export const decodeLine = (
  file: string,
  l: RawLine,
): E.Either<Error, { header: RecordingHeader } | { event: RecordedEvent }> =>
  l.line === 1
    ? E.map((header: RecordingHeader) => ({ header }))(decodeHeader(file, l))
    : E.map((event: RecordedEvent) => ({ event }))(decodeEventLine(file, l));
