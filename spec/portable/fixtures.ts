/**
 * Small teacher and student checkpoints (random weights: these specs test transport of
 * weights and configs, not sample quality), written as training writes them.
 */
import * as path from 'path';
import { buildModel } from '../../lib/models/build';
import type { ModelConfig } from '../../lib/models/config';
import { saveCheckpoint, withPrefix } from '../../lib/checkpoint/format';
import { saveStudent } from '../../lib/distill/distill';

export const MLP: ModelConfig = {
  kind: 'mlp',
  dim: 2,
  hidden: [32, 32],
  timeEmbedDim: 8,
  numClasses: 3,
  seed: 1,
} as ModelConfig;
export const GRIDS = [
  [1, 0.9, 0.6],
  [0.6, 0.3, 0],
];
/** The teacher's trained sampler: CFG on, so exports must carry it. */
export const TEACHER_SAMPLER = { steps: 12, method: 'euler', guidance: 2, shift: 1 };

/** teacher.ckpt and student.ckpt (phased, 2 phases × 2 steps) in `dir`. */
export const writeCheckpoints = (dir: string, model: ModelConfig = MLP): { teacher: string; student: string } => {
  const teacher = path.join(dir, 'teacher.ckpt');
  const t = buildModel(model);
  saveCheckpoint(teacher, {
    meta: {
      kind: 'teacher',
      modelConfig: model,
      config: { model: { kind: model.kind }, sampler: TEACHER_SAMPLER },
      step: 0,
    },
    tensors: withPrefix('teacher/', t.params.read()),
  });
  t.dispose();
  const student = path.join(dir, 'student.ckpt');
  const experts = GRIDS.map((grid, k) => ({ grid, expert: buildModel({ ...model, seed: 10 + k } as ModelConfig) }));
  saveStudent(student, {
    method: 'phased',
    modelConfig: model,
    experts,
    config: { method: 'phased', teacher: 'teacher.ckpt' },
  });
  experts.forEach((e) => e.expert.dispose());
  return { teacher, student };
};
