/**
 * Exported models on disk (Node): writing and reading the safetensors and tfjs formats,
 * turning a training checkpoint into a portable model, and weights from elsewhere
 * (PyTorch) into a teacher.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import type { NamedTensorData } from '../models/params';
import type { ModelConfig } from '../models/config';
import type { VelocityModel } from '../models/types';
import { buildModel } from '../models/build';
import {
  CheckpointData,
  CheckpointError,
  loadCheckpoint,
  readSafetensorsFile,
  tensorsUnder,
} from '../checkpoint/format';
import { writeFileAtomic } from '../util/atomicWrite';
import { packageVersion } from '../util/packageRoot';
import { PortableModel, PortableSampler, SampleKind, expertPrefix } from './model';
import {
  decodeSafetensorsExport,
  decodeTfjsExport,
  encodeSafetensorsExport,
  encodeTfjsExport,
  Exported,
  TFJS_WEIGHTS_FILE,
} from './formats';
import { openPortable, OpenedModel, TEACHER_SAMPLER } from './open';

export type ExportFormat = 'tfjs' | 'safetensors';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tfjs', 'safetensors'];

/** What a model's samples are, from its architecture: 2-D points, images, or plain vectors. */
export const sampleKindOf = (model: ModelConfig): SampleKind =>
  model.kind === 'mlp' ? (model.dim === 2 ? 'points' : 'vectors') : model.frames === undefined ? 'images' : 'vectors';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A teacher or student checkpoint as a portable model: tensors `<param>` (teacher) or
 * `expert<k>/<param>` (student), the training-time state (Adam moments, fake score) left out.
 */
export const portableFromCheckpoint = (
  file: string,
  data: CheckpointData,
): E.Either<CheckpointError, { description: PortableModel; tensors: NamedTensorData[] }> => {
  const fail = (m: string) => E.left(new CheckpointError(file, m));
  const { meta } = data;
  if (!isRecord(meta.modelConfig)) return fail('meta.modelConfig: expected a model config');
  const model = meta.modelConfig as ModelConfig;
  const config = meta.config;
  if (meta.kind === 'teacher') {
    const trained = isRecord(config) && isRecord(config.sampler) ? (config.sampler as Partial<PortableSampler>) : {};
    return E.right({
      description: {
        kind: 'teacher',
        method: 'teacher',
        model,
        samples: sampleKindOf(model),
        sampler: { ...TEACHER_SAMPLER, ...trained },
        config,
      },
      tensors: tensorsUnder(data, 'teacher/'),
    });
  }
  if (meta.kind === 'student') {
    const grids = meta.grids;
    if (!Array.isArray(grids)) return fail('meta.grids: expected one time grid per phase');
    return E.right({
      description: {
        kind: 'student',
        method: String(meta.method),
        model,
        samples: sampleKindOf(model),
        grids: grids as number[][],
        config,
      },
      tensors: data.tensors.filter((t) => grids.some((_, k) => t.name.startsWith(expertPrefix(k)))),
    });
  }
  return fail(
    'meta.kind: expected "teacher" or "student" (a finished run\'s teacher.ckpt or student.ckpt), ' +
      `got ${JSON.stringify(meta.kind)}`,
  );
};

/** Reads a checkpoint and converts it (see portableFromCheckpoint). */
export const loadPortableCheckpoint = (
  file: string,
): E.Either<CheckpointError, { description: PortableModel; tensors: NamedTensorData[] }> =>
  E.chain((d: CheckpointData) => portableFromCheckpoint(file, d))(loadCheckpoint(file));

/**
 * Writes an export: safetensors → one file `out`; tfjs → directory `out` with weights.bin,
 * then model.json (written last, atomically: a directory with model.json is complete).
 */
export const writeExport = (
  out: string,
  format: ExportFormat,
  description: PortableModel,
  tensors: readonly NamedTensorData[],
): string[] => {
  if (format === 'safetensors') {
    writeFileAtomic(out, Buffer.from(encodeSafetensorsExport(description, tensors)));
    return [out];
  }
  const { modelJson, weights } = encodeTfjsExport(description, tensors, `phased-dmd ${packageVersion()}`);
  const files = [path.join(out, TFJS_WEIGHTS_FILE), path.join(out, 'model.json')];
  writeFileAtomic(files[0], Buffer.from(weights));
  writeFileAtomic(files[1], `${JSON.stringify(modelJson, null, 1)}\n`);
  return files;
};

const readFile = (file: string): E.Either<Error, Buffer> => {
  try {
    return E.right(fs.readFileSync(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return E.left(
      new Error(`${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (err as Error).message})`}`),
    );
  }
};

/** Reads an export: a directory or a model.json (tfjs), else a safetensors file. */
export const readExport = (where: string): E.Either<Error, Exported> => {
  const isDir = fs.existsSync(where) && fs.statSync(where).isDirectory();
  if (isDir || path.basename(where) === 'model.json') {
    const json = isDir ? path.join(where, 'model.json') : where;
    return E.chain((b: Buffer): E.Either<Error, Exported> => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(b.toString('utf8'));
      } catch {
        return E.left(new Error(`${json}: not valid JSON`));
      }
      const paths = ((parsed as { weightsManifest?: Array<{ paths?: string[] }> }).weightsManifest ?? []).flatMap(
        (g) => g.paths ?? [],
      );
      const files = new Map<string, Uint8Array>();
      for (const p of paths) {
        const bytes = readFile(path.join(path.dirname(json), p));
        if (E.isRight(bytes)) files.set(p, bytes.right);
      }
      const r = decodeTfjsExport(parsed, files);
      return E.isLeft(r) ? E.left(new Error(`${json}: ${r.left}`)) : r;
    })(readFile(json));
  }
  return E.chain((b: Buffer): E.Either<Error, Exported> => {
    const r = decodeSafetensorsExport(b);
    return E.isLeft(r) ? E.left(new Error(`${where}: ${r.left}`)) : r;
  })(readFile(where));
};

/** An exported model, ready to sample (needs an initialised tfjs backend). */
export const loadExport = (where: string): E.Either<Error, OpenedModel> =>
  E.chain((x: Exported) => openPortable(x.description, x.tensors, where))(readExport(where));

/**
 * Bring your own teacher: weights from a safetensors file written elsewhere (PyTorch),
 * named as the architecture names its parameters (`dense0.W`, … with W as [in, out]),
 * into a frozen model of `config`. A missing or misshapen tensor is refused by name.
 */
export const teacherFromSafetensors = (
  file: string,
  config: ModelConfig,
  prefix = '',
): E.Either<Error, VelocityModel> =>
  E.chain((st: { tensors: NamedTensorData[] }): E.Either<Error, VelocityModel> => {
    const model = buildModel(config);
    try {
      const tensors = st.tensors
        .filter((t) => t.name.startsWith(prefix))
        .map((t) => ({ ...t, name: t.name.slice(prefix.length) }));
      model.params.write(tensors, file);
    } catch (err) {
      model.dispose();
      return E.left(new Error((err as Error).message));
    }
    model.params.setTrainable(false);
    return E.right(model);
  })(readSafetensorsFile(file));
