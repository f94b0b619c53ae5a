/**
 * Bring your own teacher: velocity-network weights trained elsewhere (PyTorch:
 * examples/torch_teacher.py), saved as safetensors under phased-dmd's parameter names,
 * loaded into the matching architecture and distilled into a 4-step, 2-phase student.
 *
 *   python3 examples/torch_teacher.py ring8-teacher.safetensors      # optional: needs PyTorch
 *   npx tsx examples/byo-teacher.ts ring8-teacher.safetensors runs/byo
 */
import * as E from 'fp-ts/Either';
import * as pd from '..';

/** The architecture the weights were trained with (examples/torch_teacher.py builds the same). */
export const TEACHER_ARCHITECTURE = { kind: 'mlp', dim: 2, hidden: [256, 256, 256], timeEmbedDim: 32, numClasses: 8 };

export const main = async (
  weights: string,
  outDir: string,
  options: { iterations?: number; architecture?: unknown; log?: (line: string) => void } = {},
): Promise<string> => {
  await pd.useBackend();
  const modelConfig = pd.decodeOrThrow(
    pd.ModelConfig,
    options.architecture ?? TEACHER_ARCHITECTURE,
    'teacher architecture',
  );
  const teacher = pd.teacherFromSafetensors(weights, modelConfig);
  if (E.isLeft(teacher)) throw teacher.left;
  const config = {
    method: 'phased',
    teacher: weights,
    preset: '4x2',
    iterations: options.iterations ?? 400,
    batchSize: 128,
  };
  const result = await pd.pipelines.distill.trainDistill(config, {
    outDir,
    teacher: { model: teacher.right, modelConfig },
    log: options.log ?? console.log,
  });
  result.experts.forEach((e) => e.expert.dispose());
  teacher.right.dispose();
  return `${outDir}/student.ckpt`;
};

if (require.main === module) {
  const [weights, outDir] = process.argv.slice(2);
  if (weights === undefined || outDir === undefined) {
    console.error('usage: byo-teacher.ts <teacher.safetensors> <out-dir>');
    process.exitCode = 1;
  } else
    main(weights, outDir).then((f) =>
      console.log(`student: ${f} (phased-dmd export --model ${f} --format tfjs --page --out site)`),
    );
}
