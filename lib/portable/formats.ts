/**
 * An exported model's two file formats, as bytes (no Node APIs: the browser reads them too).
 *
 * safetensors: one file; `__metadata__` = { format: "phased-dmd-model", format_version: "1",
 *   and every key of the description (kind, method, model, samples, grids | sampler, config)
 *   as JSON text }.
 * tfjs: the weights-manifest layout tf.io reads — model.json
 *   { format, generatedBy, convertedBy, weightsManifest: [{ paths: [weights.bin], weights: [{ name, shape, dtype }] }],
 *     userDefinedMetadata: { phasedDmd: <description> } }
 *   and weights.bin, the float32 tensors back to back in manifest order.
 */
import * as E from 'fp-ts/Either';
import type { NamedTensorData } from '../models/params';
import { encodeSafetensors, decodeSafetensors } from '../checkpoint/safetensors';
import { PORTABLE_FORMAT, PORTABLE_VERSION, PortableModel } from './model';

export interface Exported {
  /** The description as read: decode it with openPortable. */
  readonly description: unknown;
  readonly tensors: readonly NamedTensorData[];
}

export const encodeSafetensorsExport = (
  description: PortableModel,
  tensors: readonly NamedTensorData[],
): Uint8Array => {
  const metadata: Record<string, string> = { format: PORTABLE_FORMAT, format_version: String(PORTABLE_VERSION) };
  for (const [k, v] of Object.entries(description)) if (v !== undefined) metadata[k] = JSON.stringify(v);
  return encodeSafetensors({ metadata, tensors });
};

export const decodeSafetensorsExport = (bytes: Uint8Array): E.Either<string, Exported> => {
  const r = decodeSafetensors(bytes);
  if (E.isLeft(r)) return r;
  const { metadata, tensors } = r.right;
  if (metadata.format !== PORTABLE_FORMAT) {
    return E.left(
      `__metadata__.format: expected "${PORTABLE_FORMAT}", got ${JSON.stringify(metadata.format)} ` +
        '(plain weights: pair them with a model config, see teacherFromSafetensors)',
    );
  }
  if (metadata.format_version !== String(PORTABLE_VERSION)) {
    return E.left(
      `__metadata__.format_version: expected "${PORTABLE_VERSION}", got ${JSON.stringify(metadata.format_version)}`,
    );
  }
  const description: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (k === 'format' || k === 'format_version') continue;
    try {
      description[k] = JSON.parse(v);
    } catch {
      return E.left(`__metadata__.${k}: expected JSON text`);
    }
  }
  return E.right({ description, tensors });
};

export const TFJS_WEIGHTS_FILE = 'weights.bin';

export interface TfjsModelJson {
  readonly format: string;
  readonly generatedBy: string;
  readonly convertedBy: null;
  readonly weightsManifest: ReadonlyArray<{
    readonly paths: readonly string[];
    readonly weights: ReadonlyArray<{ name: string; shape: number[]; dtype: string }>;
  }>;
  readonly userDefinedMetadata: { readonly phasedDmd: PortableModel };
}

export const encodeTfjsExport = (
  description: PortableModel,
  tensors: readonly NamedTensorData[],
  generatedBy: string,
): { modelJson: TfjsModelJson; weights: Uint8Array } => {
  const weights = new Uint8Array(tensors.reduce((n, t) => n + t.values.byteLength, 0));
  let at = 0;
  for (const t of tensors) {
    weights.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), at);
    at += t.values.byteLength;
  }
  return {
    modelJson: {
      format: PORTABLE_FORMAT,
      generatedBy,
      convertedBy: null,
      weightsManifest: [
        {
          paths: [TFJS_WEIGHTS_FILE],
          weights: tensors.map((t) => ({ name: t.name, shape: [...t.shape], dtype: 'float32' })),
        },
      ],
      userDefinedMetadata: { phasedDmd: description },
    },
    weights,
  };
};

/** Reads model.json (parsed) with its weight files' bytes, by path as the manifest names them. */
export const decodeTfjsExport = (
  modelJson: unknown,
  files: ReadonlyMap<string, Uint8Array>,
): E.Either<string, Exported> => {
  const m = modelJson as Partial<TfjsModelJson> | null;
  if (typeof m !== 'object' || m === null || !Array.isArray(m.weightsManifest))
    return E.left('model.json: weightsManifest: expected an array of weight groups');
  const description = m.userDefinedMetadata?.phasedDmd;
  if (description === undefined)
    return E.left('model.json: userDefinedMetadata.phasedDmd: missing (not exported by phased-dmd)');
  const tensors: NamedTensorData[] = [];
  const manifest = m.weightsManifest as TfjsModelJson['weightsManifest'];
  for (const [g, group] of manifest.entries()) {
    const shards = group.paths.map((p) => files.get(p));
    const missing = group.paths.find((_, i) => shards[i] === undefined);
    if (missing !== undefined) return E.left(`model.json: weightsManifest[${g}]: weight file ${missing} not found`);
    const bytes = new Uint8Array(shards.reduce((n, s) => n + s!.length, 0));
    let at = 0;
    for (const s of shards) {
      bytes.set(s!, at);
      at += s!.length;
    }
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32') return E.left(`model.json: weight ${w.name}: dtype ${w.dtype}, expected float32`);
      const n = w.shape.reduce((a, d) => a * d, 1);
      if (offset + 4 * n > bytes.length)
        return E.left(
          `model.json: weight ${w.name} runs past the end of its ${bytes.length} bytes: a weight file is truncated`,
        );
      tensors.push({
        name: w.name,
        shape: [...w.shape],
        values: new Float32Array(bytes.slice(offset, offset + 4 * n).buffer),
      });
      offset += 4 * n;
    }
    if (offset !== bytes.length)
      return E.left(
        `model.json: weightsManifest[${g}]: ${bytes.length} bytes of weights, the manifest describes ${offset}`,
      );
  }
  return E.right({ description, tensors });
};
