/**
 * tfjs's Adam with one fused kernel for all variables where the backend has one (the native
 * wasm path, lib/backend/native): θ, m and v updated in one pass instead of ~14 kernels
 * per variable. Same state (m, v, β powers, iteration count), same checkpoint format
 * (getWeights/setWeights are AdamOptimizer's), the same float32 operations in the same
 * order — so the numbers match the stock optimiser; without the kernel it *is* the stock
 * optimiser.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM } from '../backend/kernels';

/** tfjs-core's NamedTensor (not re-exported by the package index). */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface AdamInternals {
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  iterations_: number;
  epsilon: number;
  learningRate: number;
  beta1: number;
  beta2: number;
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /**
   * β₁^(t+1), β₂^(t+1) as float32 values on the host, mirroring the accBeta1/2 variables
   * (tfjs starts them at β and multiplies by β in float32 each step), so a step never
   * reads them back from the device.
   */
  private accBetas: [number, number];

  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
    this.accBetas = [Math.fround(beta1), Math.fround(beta2)];
  }

  private get internals(): AdamInternals {
    return this as unknown as AdamInternals;
  }

  private advanceAccBetas(): void {
    const f = Math.fround;
    this.accBetas = [f(this.accBetas[0] * f(this.internals.beta1)), f(this.accBetas[1] * f(this.internals.beta2))];
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    if (tf.getKernel(ADAM, tf.getBackend()) === undefined) {
      // (AdamOptimizer declares NamedVariableMap; its code, like ours, takes any named tensors)
      super.applyGradients(variableGradients as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
      this.advanceAccBetas();
      return;
    }
    const s = this.internals;
    const f = Math.fround;
    const [acc1, acc2] = this.accBetas;
    const attrs = {
      beta1: f(s.beta1),
      oneMinusBeta1: f(1 - s.beta1),
      beta2: f(s.beta2),
      oneMinusBeta2: f(1 - s.beta2),
      oneMinusAccBeta1: f(1 - acc1),
      oneMinusAccBeta2: f(1 - acc2),
      epsilon: f(s.epsilon),
      negLearningRate: f(-s.learningRate),
    };
    const named: NamedTensor[] = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    tf.tidy(() => {
      const stepped: Array<{ value: tf.Variable; m: tf.Variable; v: tf.Variable; gradient: tf.Tensor }> = [];
      named.forEach(({ name, tensor: gradient }, i) => {
        const value = tf.engine().registeredVariables[name];
        s.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        s.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        if (gradient == null) return;
        stepped.push({
          value,
          m: s.accumulatedFirstMoment[i]!.variable,
          v: s.accumulatedSecondMoment[i]!.variable,
          gradient,
        });
      });
      // every variable in one kernel call: inputs theta0, m0, v0, g0, theta1, …; outputs θ'0, m'0, v'0, θ'1, …
      const inputs: tf.NamedTensorMap = {};
      stepped.forEach(({ value, m, v, gradient }, j) => {
        Object.assign(inputs, { [`theta${j}`]: value, [`m${j}`]: m, [`v${j}`]: v, [`g${j}`]: gradient });
      });
      const outs =
        stepped.length === 0
          ? []
          : (tf.engine().runKernel(ADAM, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]);
      stepped.forEach(({ value, m, v }, j) => {
        m.assign(outs[3 * j + 1]);
        v.assign(outs[3 * j + 2]);
        value.assign(outs[3 * j]);
      });
      this.advanceAccBetas();
      s.accBeta1.assign(tf.scalar(this.accBetas[0]));
      s.accBeta2.assign(tf.scalar(this.accBetas[1]));
    });
    this.incrementIterations();
  }

  /**
   * The β powers after a synchronous restore (lib/optim/adamState restoreAdamState, which
   * assigns accBeta1/2 itself): the host mirror must follow, or the next fused step would
   * bias-correct with β¹ instead of the restored βᵏ.
   */
  restoreAccBetas(acc1: number, acc2: number): void {
    this.accBetas = [Math.fround(acc1), Math.fround(acc2)];
  }

  /** Restores a checkpoint (AdamOptimizer's format); reads the β powers once, at restore time. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await super.setWeights(weightValues);
    const s = this.internals;
    this.accBetas = [(await s.accBeta1.data())[0], (await s.accBeta2.data())[0]];
  }
}

/** Adam(lr, β₁, β₂, ε) with the fused step where available. */
export const fusedAdam = (learningRate: number, beta1: number, beta2: number, epsilon?: number): tf.Optimizer =>
  new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
