/**
 * Mode metrics of a teacher or student checkpoint on a known 2-D mixture: draw n
 * samples from a fixed seed (teacher: its configured multi-step sampler with CFG;
 * student: its few-step Euler grid, no CFG) and count modes covered and the
 * high-quality share (within 3σ of a centre), lib/metrics/mixture.ts.
 */
import * as E from 'fp-ts/Either';
import { loadCheckpoint, CheckpointError } from '../lib/checkpoint/format';
import { MIXTURES, MixtureName } from '../lib/data/mixtures';
import { modeReport, ModeReport } from '../lib/metrics/mixture';
import { sampleStudent, studentNfe } from '../lib/distill/student';
import { loadTeacher, sampleTeacher, teacherNfe } from '../lib/teacher/teacher';
import { loadStudent } from '../lib/distill/distill';

export interface CheckpointReport extends ModeReport {
  readonly kind: 'teacher' | 'student';
  readonly method: string;
  /** Network evaluations per sample (CFG with g ≠ 1 counts two). */
  readonly nfe: number;
  readonly n: number;
  readonly seed: number;
}

export const evaluateCheckpoint = (
  file: string,
  options: { mixture: MixtureName; n: number; seed: number },
): CheckpointReport => {
  const mixture = MIXTURES[options.mixture];
  const header = loadCheckpoint(file);
  if (E.isLeft(header)) throw header.left;
  const kind = header.right.meta.kind;
  if (kind === 'teacher') {
    const t = loadTeacher(file);
    if (E.isLeft(t)) throw t.left;
    const sampler = t.right.config.sampler;
    const { x, labels } = sampleTeacher(t.right.model, { n: options.n, seed: options.seed, sampler });
    const report = modeReport(x.dataSync() as Float32Array, 2, mixture);
    x.dispose();
    labels?.dispose();
    t.right.model.dispose();
    return {
      ...report,
      kind: 'teacher',
      method: 'teacher',
      nfe: teacherNfe(sampler, t.right.model.numClasses),
      n: options.n,
      seed: options.seed,
    };
  }
  if (kind === 'student') {
    const s = loadStudent(file);
    if (E.isLeft(s)) throw s.left;
    const { x, labels } = sampleStudent(s.right.experts, { n: options.n, seed: options.seed });
    const report = modeReport(x.dataSync() as Float32Array, 2, mixture);
    x.dispose();
    labels?.dispose();
    const nfe = studentNfe(s.right.experts);
    s.right.experts.forEach((e) => e.expert.dispose());
    return { ...report, kind: 'student', method: s.right.method, nfe, n: options.n, seed: options.seed };
  }
  throw new CheckpointError(file, `meta.kind: expected "teacher" or "student", got ${JSON.stringify(kind)}`);
};
