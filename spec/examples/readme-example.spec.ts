/**
 * The README's custom-pipeline example is examples/custom-pipeline.ts verbatim, and it runs.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { main } from '../../examples/custom-pipeline';
import { useBackend } from '../../lib/backend';

const root = path.join(__dirname, '..', '..');

beforeAll(async () => {
  await useBackend('wasm');
});

describe('README custom pipeline example', () => {
  it('is quoted verbatim in the README', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const example = fs.readFileSync(path.join(root, 'examples', 'custom-pipeline.ts'), 'utf8').trimEnd();
    expect(readme).toContain('```ts\n' + example + '\n```');
    expect(example.split('\n').length).toBeLessThan(30);
  });

  it('trains the ring with a user-written loss operator', async () => {
    const before = tf.memory().numTensors;
    const report = await main(300);
    expect(report.modesCovered).toBeGreaterThanOrEqual(6);
    // the example disposes everything it created
    expect(tf.memory().numTensors).toBe(before);
  });
});
