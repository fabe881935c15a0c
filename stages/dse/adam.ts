/**
 * Adam (Kingma & Ba 2015) as Keras 2 implements it, the optimiser of the paper (§3.5: "the
 * default Adam optimizer in Keras"): β1 0.9, β2 0.999, ε 1e-7, with the bias correction folded
 * into the step size and ε added to the uncorrected √v:
 *
 * ```
 * m ← β1·m + (1 − β1)·g
 * v ← β2·v + (1 − β2)·g²
 * x ← x − stepSize(t)·m / (√v + ε),   stepSize(t) = lr·√(1 − β2^t) / (1 − β1^t)
 * ```
 *
 * PyTorch's `torch.optim.Adam` corrects m and v instead (x ← x − lr·m̂/(√v̂ + ε)); the two agree
 * exactly when ε = 0 and differ only in where ε enters otherwise.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ADAM_KERNEL, hasFusedAdam } from "../nn/fast_kernels.ts";

/** Adam's constants. */
export interface AdamConfig {
  /** Decay of the first moment. */
  beta1: number;
  /** Decay of the second moment. */
  beta2: number;
  /** Added to √v. */
  epsilon: number;
}

/** Keras 2's defaults (`keras.optimizers.Adam()`), used by the paper. */
export const KERAS_ADAM: Readonly<AdamConfig> = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/** The bias-corrected step size of step `step` (1-based): lr·√(1 − β2^t) / (1 − β1^t). */
export function adamStepSize(lr: number, step: number, config: AdamConfig = KERAS_ADAM): number {
  return lr * Math.sqrt(1 - config.beta2 ** step) / (1 - config.beta1 ** step);
}

/** One parameter tensor with its two moments. */
export interface AdamSlot {
  /** The parameter. */
  x: tf.Tensor;
  /** First moment m. */
  m: tf.Tensor;
  /** Second moment v. */
  v: tf.Tensor;
}

/**
 * One Adam update of parameters and their moments by their gradients `grads` (slot i by
 * `grads[i]`), with the step size of {@link adamStepSize}. Pure: returns new tensors (the caller
 * assigns them and owns them).
 *
 * On a backend with the multi-tensor kernel (`stages/nn/fast_kernels.ts`: wasm and cpu, once
 * registered) every parameter is updated by one kernel call, bit for bit as the nine elementwise
 * kernels per parameter below would (`fused: false` forces those).
 */
export function adamStep(
  slots: AdamSlot[],
  grads: tf.Tensor[],
  options: { stepSize: number; config?: AdamConfig; fused?: boolean },
): AdamSlot[] {
  const { beta1, beta2, epsilon } = options.config ?? KERAS_ADAM;
  if (slots.length !== grads.length) {
    throw new Error(`adamStep: ${slots.length} parameters but ${grads.length} gradients`);
  }
  const n = slots.length;
  if (
    options.fused !== false && n > 0 && hasFusedAdam() &&
    slots.every((s, i) => s.x.dtype === "float32" && grads[i].dtype === "float32")
  ) {
    const inputs: Record<string, tf.Tensor> = {};
    slots.forEach((s, i) => {
      inputs[`x${i}`] = s.x;
      inputs[`m${i}`] = s.m;
      inputs[`v${i}`] = s.v;
      inputs[`g${i}`] = grads[i];
    });
    const out = tf.engine().runKernel(
      ADAM_KERNEL,
      inputs,
      { beta1, beta2, epsilon, stepSize: options.stepSize, count: n },
    ) as tf.Tensor[];
    return slots.map((_, i) => ({ x: out[i], m: out[n + i], v: out[2 * n + i] }));
  }
  return slots.map((slot, i) =>
    tf.tidy(() => {
      const g = grads[i];
      const m = tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1));
      const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const x = tf.sub(slot.x, tf.mul(options.stepSize, tf.div(m, tf.add(tf.sqrt(v), epsilon))));
      return { x, m, v };
    })
  );
}
