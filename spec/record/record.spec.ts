/**
 * Use (a): test one operator against a recorded input stream. A live pipeline records
 * the NoisedBatch stream entering `flowMatchingLoss` and the loss values leaving it;
 * replaying the recorded inputs through the operator alone reproduces every recorded
 * loss exactly, with no tensor leaked — and a different model does not.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { OperatorFunction, lastValueFrom, map, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { stepKeys } from '../../lib/operators/source/stepKeys';
import { sampleBatch } from '../../lib/operators/batch/sampleBatch';
import { dropCondition } from '../../lib/operators/batch/dropCondition';
import { sampleTimesteps } from '../../lib/operators/noise/sampleTimesteps';
import { forwardProcess } from '../../lib/operators/noise/forwardProcess';
import { flowMatchingLoss } from '../../lib/operators/loss/flowMatchingLoss';
import { mixtureDataset } from '../../lib/data/mixtures';
import { timeRange } from '../../lib/schedule/sampling';
import type { LossStep } from '../../lib/stream/types';
import { record } from '../../lib/record/record';
import { RecordingWriter, makeHeader } from '../../lib/record/writer';
import { replayValues } from '../../lib/record/replay';
import { smallMlp } from '../helpers/operators';

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Evaluates each LossStep's loss (no update) and frees what the step owned. */
const evaluate = (): OperatorFunction<LossStep, number> =>
  map((step) => {
    const x = tf.tidy(() => step.loss().dataSync()[0]);
    step.owned.forEach((t) => t.dispose());
    return x;
  });

test(
  'a recorded NoisedBatch stream replayed through flowMatchingLoss reproduces every recorded loss ' + 'exactly',
  async () => {
    const dataset = mixtureDataset('ring8');
    const model = smallMlp(dataset.numClasses, 5);
    const file = path.join(dir, 'flow.ndjson');
    const w = RecordingWriter.create(
      file,
      makeHeader({ config: { operator: 'flowMatchingLoss', model: model.config }, seed: 11 }),
    );
    if (E.isLeft(w)) throw w.left;
    const live = await lastValueFrom(
      stepKeys(11, 0, 0, 12).pipe(
        sampleBatch(dataset, 24),
        dropCondition(0.2, dataset.numClasses),
        sampleTimesteps(timeRange(0, 1, 3, 'uniform')),
        forwardProcess(),
        record(w.right, { tap: 'input' }),
        flowMatchingLoss(model),
        record(w.right, { tap: 'output' }),
        evaluate(),
        toArray(),
      ),
    );
    w.right.close();

    const recorded = await lastValueFrom(
      replayValues(file, 'loss', { tap: 'output' }).pipe(
        map((l) => l.value),
        toArray(),
      ),
    );
    expect(recorded).toEqual(live);

    const before = tf.memory().numTensors;
    const replayed = await lastValueFrom(
      replayValues(file, 'noisedBatch', { tap: 'input' }).pipe(flowMatchingLoss(model), evaluate(), toArray()),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(replayed).toHaveLength(12);
    expect(replayed).toEqual(recorded);

    // the comparison has teeth: another model gives other losses on the same recorded inputs
    const other = smallMlp(dataset.numClasses, 6);
    const different = await lastValueFrom(
      replayValues(file, 'noisedBatch', { tap: 'input' }).pipe(flowMatchingLoss(other), evaluate(), toArray()),
    );
    expect(different.filter((x, i) => x !== recorded[i])).toHaveLength(12);
    model.dispose();
    other.dispose();
  },
);
