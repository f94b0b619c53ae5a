/**
 * An ordered set of named trainable variables: what a model owns, what an optimiser
 * updates, and what a checkpoint stores.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface NamedTensorData {
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array;
}

export class Params {
  private readonly byName = new Map<string, tf.Variable>();
  private disposed = false;
  /** Tensors read in place of named parameters while `withSubstitutes` runs (LoRA's W + A·B). */
  private substitutes: ReadonlyMap<string, tf.Tensor> | null = null;

  /** Creates a variable from an initialiser tensor (the initialiser is disposed). */
  add(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.byName.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const v = tf.variable(init, trainable, `${name}_${uniqueId()}`);
    init.dispose();
    this.byName.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    // A substitute is only ever read as a tensor (models read parameters inside apply), never assigned.
    const sub = this.substitutes?.get(name);
    if (sub !== undefined) return sub as tf.Variable;
    const v = this.byName.get(name);
    if (v === undefined) throw new Error(`no parameter named ${name}`);
    return v;
  }

  /**
   * Runs f with some parameters read as other tensors (same shapes): low-rank adapters
   * on a shared frozen backbone read W + A·B without copying the backbone. The
   * substitutes stay owned by the caller; nesting is not supported.
   */
  withSubstitutes<T>(substitutes: ReadonlyMap<string, tf.Tensor>, f: () => T): T {
    if (this.substitutes !== null)
      throw new Error('Params.withSubstitutes: already substituting (a backbone is shared by one adapter at a time)');
    for (const [name, t] of substitutes) {
      const v = this.get(name);
      if (t.shape.join() !== v.shape.join())
        throw new Error(`substitute for ${name}: shape [${t.shape}] does not match [${v.shape}]`);
    }
    this.substitutes = substitutes;
    try {
      return f();
    } finally {
      this.substitutes = null;
    }
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get variables(): tf.Variable[] {
    return [...this.byName.values()];
  }

  get size(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** Copies values by name; shapes must match. */
  assignFrom(other: Params): void {
    for (const [name, v] of this.byName) {
      const src = other.get(name);
      if (src.shape.join() !== v.shape.join())
        throw new Error(`parameter ${name}: shape [${src.shape}] does not match [${v.shape}]`);
      v.assign(src);
    }
  }

  /** Host copies of every parameter, in order (for checkpoints). */
  read(): NamedTensorData[] {
    return [...this.byName].map(([name, v]) => ({
      name,
      shape: v.shape.slice(),
      values: v.dataSync() as Float32Array,
    }));
  }

  /** Restores values from host data; every parameter must be present with its shape. */
  write(data: readonly NamedTensorData[], where = 'parameters'): void {
    const given = new Map(data.map((d) => [d.name, d]));
    for (const [name, v] of this.byName) {
      const d = given.get(name);
      if (d === undefined) throw new Error(`${where}: missing parameter ${name}`);
      if (d.shape.join() !== v.shape.join())
        throw new Error(`${where}.${name}: expected shape [${v.shape}], got [${d.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(d.values, d.shape, 'float32')));
    }
  }

  setTrainable(trainable: boolean): void {
    for (const v of this.byName.values()) v.trainable = trainable;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.byName.values()) v.dispose();
    this.disposed = true;
  }
}

/**
 * What a plain model (MLP, U-Net) does with its parameters, whatever its layers: owns
 * them, clones itself (the same class from the same config, then these weights), copies
 * weights by name, frees them. Subclasses add their parameters in their constructor.
 */
export abstract class ParamModel<Config> {
  readonly params = new Params();

  constructor(readonly config: Config) {}

  clone(): this {
    const copy = new (this.constructor as new (config: Config) => this)(this.config);
    copy.copyWeightsFrom(this);
    return copy;
  }

  copyWeightsFrom(other: { readonly params: Params }): void {
    this.params.assignFrom(other.params);
  }

  dispose(): void {
    this.params.dispose();
  }
}

let counter = 0;
const uniqueId = (): number => ++counter;

/** Glorot-uniform initialiser from an explicit seed. */
export const glorotUniform = (
  shape: [number, number] | number[],
  fanIn: number,
  fanOut: number,
  seed: number,
): tf.Tensor => {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform(shape, -limit, limit, 'float32', seed);
};
