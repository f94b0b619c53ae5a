/**
 * Warnings about a config's data before it trains: a teacher config's own data, opened
 * once, says whether its scale is far from unit and how it was read (lib/data/scaling.ts).
 */
import * as E from 'fp-ts/Either';
import { loadDataset, DataConfig } from '../lib/data/config';
import type { LoadedConfig } from './loadConfig';

/** The notes of the user data a teacher config trains on (`.npy` files, image folders); none for generated data. */
export const dataNotes = (loaded: Pick<LoadedConfig, 'kind' | 'input'>): readonly string[] => {
  if (loaded.kind !== 'teacher') return [];
  const data = (loaded.input as { data?: DataConfig }).data;
  if (data === undefined || (data.kind !== 'npy' && data.kind !== 'image-folder')) return [];
  const opened = loadDataset(data);
  return E.isRight(opened) ? (opened.right.notes ?? []) : [];
};
