import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, map, toArray } from 'rxjs';
import * as pd from '..';

/** A loss operator of our own: flow matching weighted towards noise, w(t) = 0.5 + t. */
const weightedFlowMatching = (model: pd.VelocityModel) =>
  map((b: pd.NoisedBatch): pd.LossStep => {
    const [w, target] = [tf.add(0.5, b.t), pd.velocityTarget(b.x0, b.eps)];
    return { key: b.key, role: 'teacher', owned: [...pd.tensorsOf(b), w, target],
      loss: () => pd.weightedMeanSquaredError(model.apply(b.xt, b.t, b.labels), target, w) };
  });

export const main = async (steps = 1500): Promise<pd.ModeReport> => {
  await pd.useBackend('wasm');
  const data = pd.mixtureDataset('ring8');
  const model = pd.buildModel(pd.modelConfigFor(pd.decodeOrThrow(pd.ModelSpec, { kind: 'mlp' }), data, 0));
  const trainer = pd.makeTrainer(model.params.variables, {}, { lr: 1e-3, betas: [0.9, 0.999] });
  await lastValueFrom(pd.stepKeys(/* seed */ 0, /* phase */ 0, 0, steps).pipe(
    pd.sampleBatch(data, 256), pd.dropCondition(0.1, data.numClasses),
    pd.sampleTimesteps(pd.timeRange(0, 1, /* shift */ 1)), pd.forwardProcess(),
    weightedFlowMatching(model), pd.optimise({ teacher: trainer }), pd.logMetrics(500), toArray()));
  const { x, labels } = pd.pipelines.teacher.sampleTeacher(model, { n: 2000, seed: 1, sampler: { steps: 40 } });
  const report = pd.modeReport(x.dataSync() as Float32Array, 2, pd.ring8);
  tf.dispose([x, labels ?? []]); model.dispose(); trainer.optimizer.dispose();
  return report;
};

if (require.main === module)
  main().then((r) => console.log(`modes ${r.modesCovered}/8, high quality ${r.highQualityPercent.toFixed(1)} %`));
