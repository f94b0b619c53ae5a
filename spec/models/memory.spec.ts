/**
 * The memory estimates (lib/models/memory.ts) against hand-computed values: the network
 * sizes of an MLP and a U-Net, a teacher's training, a distillation's (frozen teacher,
 * trained roles with their Adam state, frozen experts, one batch's activations; full
 * copies or LoRA; sequential or concurrent phases) and the O(N²) metrics'.
 */
import {
  distillMemory,
  mlpSize,
  pairwiseMemory,
  tooMuchMemory,
  trainingMemory,
  unetSize,
} from '../../lib/models/memory';

// widths (2 + 8, 4, 2): weights (10+1)·4 + (4+1)·2 = 54; activations 2·(10+4+2) = 32 per sample;
// LoRA fans (10+4) + (4+2) = 20
const mlp = mlpSize([4], 8, 2);

describe('network sizes', () => {
  test('an MLP: weights, activations per sample, LoRA adapters', () => {
    expect(mlp.weights).toBe(54);
    expect(mlp.activationsPerSample).toBe(32);
    expect(mlp.loraWeights(3)).toBe(60);
  });

  test('a U-Net: two 3×3 convolutions at full width, eight feature maps per sample, one adapted c → c layer', () => {
    const u = unetSize(16, 28);
    expect(u.weights).toBe(2 * 9 * 16 * 16);
    expect(u.activationsPerSample).toBe(8 * 28 * 28 * 16);
    expect(u.loraWeights(4)).toBe(2 * 4 * 16);
    expect(unetSize(16, 28, 32).activationsPerSample).toBe(8 * 28 * 32 * 16);
  });
});

describe('training', () => {
  test('weights four times and the activations of a batch; the larger term names the field', () => {
    expect(trainingMemory(mlp, 3)).toEqual({ bytes: 4 * (4 * 54 + 96), weights: 54, path: 'model' });
    expect(trainingMemory(mlp, 100).path).toBe('batchSize');
  });
});

describe('distillation', () => {
  test('one phase of full copies: the frozen teacher, generator and fake score kept 4 times, a batch', () => {
    const m = distillMemory(mlp, { phases: 1, batch: 2 });
    expect(m).toEqual({
      bytes: 4 * (54 + 8 * 54 + 2 * 32),
      weights: 54,
      roleWeights: 54,
      trainedRoles: 2,
      frozenExperts: 0,
      activations: 64,
      path: 'experts',
    });
  });

  test('sequential phases keep the finished experts; concurrent ones train every phase at once', () => {
    expect(distillMemory(mlp, { phases: 4, batch: 2 }).bytes).toBe(4 * (54 + 8 * 54 + 3 * 54 + 64));
    const c = distillMemory(mlp, { phases: 4, batch: 2, concurrent: true });
    expect(c.bytes).toBe(4 * (54 + 4 * 8 * 54 + 64));
    expect([c.trainedRoles, c.frozenExperts]).toEqual([8, 0]);
  });

  test('LoRA roles are their adapters; a large batch makes the activations dominate', () => {
    const l = distillMemory(mlp, { phases: 2, batch: 2, loraRank: 3 });
    expect(l.roleWeights).toBe(60);
    expect(l.bytes).toBe(4 * (54 + 8 * 60 + 60 + 64));
    expect(distillMemory(mlp, { phases: 1, batch: 1000 }).path).toBe('batchSize');
  });
});

describe('metrics and messages', () => {
  test('the pairwise distances of N points: ≈ 2N² float64 values', () => {
    expect(pairwiseMemory(1000)).toBe(16e6);
  });

  test('a refusal states the estimate, what it counts, and the budget', () => {
    expect(tooMuchMemory(2.5e12, 8e9, 'x')).toBe(
      "the run needs at least 2.5 TB of memory (x), more than this machine's 8.0 GB",
    );
  });
});
