/**
 * The DSE model: two branches into one d-dimensional space and a class head shared by both.
 *
 * - Text branch: FC → BatchNorm → LeakyReLU(0.2).
 * - Image branch: an optional {@link ImageBackbone} (the `end-to-end` mode, e.g. ResNet-50), then the
 *   same FC → BN → LReLU head. In `features` mode there is no backbone: the head runs on
 *   precomputed image features.
 * - Head: `softmax` (W [d, c], b [c]) for DSE-S and DSE-CS, plus non-trainable centers [c, d] for
 *   DSE-CS; `centers` (trainable [c, d], nothing else) for DSE-DS.
 *
 * Layers are written on `@tensorflow/tfjs-core` variables (no tfjs-layers). Keras defaults are
 * followed where the paper (a Keras implementation) is silent: Glorot-uniform kernels, BN momentum
 * 0.99 and ε = 1e-3. The FC layers before BN have no bias (BN's β takes its role; a bias there gets
 * exactly zero gradient in training).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ImageBackbone } from "../nn/backbone.ts";
import type { Rng } from "../util/rng.ts";

export type { ImageBackbone, ImageBackboneFactory } from "../nn/backbone.ts";

/** Glorot-uniform values for a [fanIn, fanOut] kernel. */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * lim;
  return out;
}

/** A variable from a temporary initial value (the temporary is freed). */
export function makeVariable(init: () => tf.Tensor, trainable: boolean): tf.Variable {
  return tf.tidy(() => tf.variable(init(), trainable));
}

/** FC → BN → LeakyReLU head. */
export interface Head {
  /** FC kernel [in, d]. */
  kernel: tf.Variable;
  /** BN scale [d]. */
  gamma: tf.Variable;
  /** BN offset [d]. */
  beta: tf.Variable;
  /** BN running mean [d] (non-trainable). */
  movingMean: tf.Variable;
  /** BN running variance [d] (non-trainable). */
  movingVar: tf.Variable;
}

/** BN and activation constants. */
export const BN_MOMENTUM = 0.99;
/** BN ε (Keras default). */
export const BN_EPSILON = 1e-3;
/** LeakyReLU slope. */
export const LEAKY_ALPHA = 0.2;

/** Create a head from `inDim` to `dim`. */
export function createHead(rng: Rng, inDim: number, dim: number): Head {
  return {
    kernel: makeVariable(() => tf.tensor2d(glorotUniform(rng, inDim, dim), [inDim, dim]), true),
    gamma: makeVariable(() => tf.ones([dim]), true),
    beta: makeVariable(() => tf.zeros([dim]), true),
    movingMean: makeVariable(() => tf.zeros([dim]), false),
    movingVar: makeVariable(() => tf.ones([dim]), false),
  };
}

/** Batch statistics a training forward pass produced (for the running-stat update). */
export interface BatchStats {
  /** Batch mean [d]. */
  mean: tf.Tensor1D;
  /** Batch (biased) variance [d]. */
  variance: tf.Tensor1D;
  /** Batch size. */
  n: number;
}

/**
 * Apply a head. In training BN uses the batch statistics and returns them (kept, the caller
 * disposes them); in evaluation it uses the running statistics. Training runs as one node of the
 * autodiff tape ({@link headTrain}); `options.composite` records every op instead (the reference
 * the fused node is tested against). `inputGrad: false` when nothing upstream of `x` trains.
 */
export function applyHead(
  head: Head,
  x: tf.Tensor2D,
  options: { training: boolean; composite?: boolean; inputGrad?: boolean },
): { y: tf.Tensor2D; stats?: BatchStats } {
  if (options.training && !options.composite) {
    return headTrain(head, x, options.inputGrad ?? true);
  }
  const z = tf.matMul(x, head.kernel);
  let mean: tf.Tensor, variance: tf.Tensor;
  let stats: BatchStats | undefined;
  if (options.training) {
    const m = tf.moments(z, 0);
    mean = m.mean;
    variance = m.variance;
    stats = {
      mean: tf.keep(m.mean) as tf.Tensor1D,
      variance: tf.keep(m.variance) as tf.Tensor1D,
      n: x.shape[0],
    };
  } else {
    mean = head.movingMean;
    variance = head.movingVar;
  }
  const zhat = tf.mul(tf.sub(z, mean), tf.rsqrt(tf.add(variance, BN_EPSILON)));
  const y = tf.leakyRelu(tf.add(tf.mul(zhat, head.gamma), head.beta), LEAKY_ALPHA) as tf.Tensor2D;
  return { y, stats };
}

/**
 * The training-mode head FC → BN (batch statistics) → LeakyReLU as one autodiff node with its
 * gradient written out, instead of the ~25 recorded ops (and their backward ops) of the composite
 * form. With N rows, x̂ = (z − μ)·r, r = (σ² + ε)^(−½), u = γ x̂ + β, y = LReLU(u):
 *
 * ```
 * du = dy ⊙ (u > 0 ? 1 : α)      dγ = Σ_rows du ⊙ x̂      dβ = Σ_rows du      dx̂ = du ⊙ γ
 * dz = (r / N) ⊙ (N·dx̂ − Σ_rows dx̂ − x̂ ⊙ Σ_rows (dx̂ ⊙ x̂))
 * dW = xᵀ dz      dx = dz Wᵀ
 * ```
 *
 * (the batch-norm backward of Ioffe & Szegedy 2015; checked against the composite form's autodiff
 * in tests/stages/dse/model_test.ts).
 */
function headTrain(
  head: Head,
  x: tf.Tensor2D,
  inputGrad: boolean,
): { y: tf.Tensor2D; stats: BatchStats } {
  let stats!: BatchStats;
  const n = x.shape[0];
  // Without `inputGrad` (precomputed features, texts) x is a constant of the node, not an input:
  // no gradient (a 16×d·d×in product) is computed for it.
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const k = inputGrad ? 1 : 0;
    const xi = inputGrad ? args[0] as tf.Tensor : x;
    const [w, gamma, beta] = args.slice(k, k + 3) as tf.Tensor[];
    const save = args[k + 3] as tf.GradSaveFunc;
    const z = tf.matMul(xi as tf.Tensor2D, w as tf.Tensor2D);
    const m = tf.moments(z, 0);
    stats = {
      mean: tf.keep(m.mean) as tf.Tensor1D,
      variance: tf.keep(m.variance) as tf.Tensor1D,
      n,
    };
    const r = tf.rsqrt(tf.add(m.variance, BN_EPSILON));
    const xhat = tf.mul(tf.sub(z, m.mean), r);
    const u = tf.add(tf.mul(xhat, gamma), beta);
    save([xi, w, gamma, xhat, r, u]);
    return {
      value: tf.leakyRelu(u, LEAKY_ALPHA),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sw, sg, sxhat, sr, su] = saved;
        const g = dy as tf.Tensor;
        const du = tf.where(tf.greater(su, 0), g, tf.mul(g, LEAKY_ALPHA));
        const dxhat = tf.mul(du, sg);
        const s1 = tf.sum(dxhat, 0);
        const s2 = tf.sum(tf.mul(dxhat, sxhat), 0);
        const dz = tf.mul(
          tf.sub(tf.sub(tf.mul(dxhat, n), s1), tf.mul(sxhat, s2)),
          tf.div(sr, n),
        ) as tf.Tensor2D;
        const grads = [
          tf.matMul(sx as tf.Tensor2D, dz, true, false),
          tf.sum(tf.mul(du, sxhat), 0),
          tf.sum(du, 0),
        ];
        return inputGrad ? [tf.matMul(dz, sw as tf.Tensor2D, false, true), ...grads] : grads;
      },
    };
  });
  const params = [head.kernel, head.gamma, head.beta];
  const y = (inputGrad ? f(x, ...params) : f(...params)) as tf.Tensor2D;
  return { y, stats };
}

/**
 * Update a head's running statistics as Keras does (momentum 0.99); the running variance gets the
 * unbiased batch variance (n/(n−1)), as TensorFlow's fused batch norm does.
 */
export function updateRunningStats(head: Head, stats: BatchStats): void {
  tf.tidy(() => {
    const unbiased = stats.n > 1 ? stats.n / (stats.n - 1) : 1;
    head.movingMean.assign(
      tf.add(tf.mul(head.movingMean, BN_MOMENTUM), tf.mul(stats.mean, 1 - BN_MOMENTUM)),
    );
    head.movingVar.assign(
      tf.add(
        tf.mul(head.movingVar, BN_MOMENTUM),
        tf.mul(tf.mul(stats.variance, unbiased), 1 - BN_MOMENTUM),
      ),
    );
  });
}

/**
 * Which loss the head serves: DSE's class losses (`s`, `cs`, `ds`), the pair losses `vse0` and
 * `vsepp` (no head), `infonce` (a learnable log-scale), `malali` and `xu` (their state in
 * `extra`, made by the loss's `init`). See `loss_registry.ts`.
 */
export type LossKind = "s" | "cs" | "ds" | "vse0" | "vsepp" | "infonce" | "malali" | "xu";

/** The whole model. */
export interface DseModel {
  /** Loss family. */
  loss: LossKind;
  /** Embedding width d. */
  dim: number;
  /** Number of classes c. */
  numClasses: number;
  /** Image head (after the backbone in end-to-end mode). */
  img: Head;
  /** Text head. */
  txt: Head;
  /** End-to-end image module, absent in `features` mode. */
  backbone?: ImageBackbone;
  /** Softmax classifier W [d, c] (S, CS). */
  w?: tf.Variable;
  /** Softmax bias b [c] (S, CS). */
  b?: tf.Variable;
  /** Centers [c, d]: non-trainable for CS, trainable for DS, absent for S. */
  centers?: tf.Variable;
  /** InfoNCE's learnable t = log(1/τ) (a scalar). */
  logScale?: tf.Variable;
  /**
   * State a loss owns beyond the shared heads (its registry entry's `init` makes it), by stable
   * name; checkpointed as `loss.<name>`, trained when the variable is trainable, never decayed.
   */
  extra?: Record<string, tf.Variable>;
}

/** Create a model. `imgDim` is the image feature width (or the backbone's `outDim`). */
export function createModel(
  rng: Rng,
  options: {
    loss: LossKind;
    imgDim: number;
    txtDim: number;
    dim: number;
    numClasses: number;
    backbone?: ImageBackbone;
    /** InfoNCE's initial temperature τ₀ (default 0.07, CLIP's). */
    temperature?: number;
  },
): DseModel {
  const { loss, dim, numClasses } = options;
  const imgIn = options.backbone ? options.backbone.outDim : options.imgDim;
  const model: DseModel = {
    loss,
    dim,
    numClasses,
    img: createHead(rng, imgIn, dim),
    txt: createHead(rng, options.txtDim, dim),
    backbone: options.backbone,
  };
  if (loss === "s" || loss === "cs") {
    model.w = makeVariable(
      () => tf.tensor2d(glorotUniform(rng, dim, numClasses), [dim, numClasses]),
      true,
    );
    model.b = makeVariable(() => tf.zeros([numClasses]), true);
  }
  if (loss === "cs") {
    // Wen et al. start the centers at zero; they then track the class means.
    model.centers = makeVariable(() => tf.zeros([numClasses, dim]), false);
  } else if (loss === "ds") {
    model.centers = makeVariable(
      () => tf.tensor2d(glorotUniform(rng, numClasses, dim), [numClasses, dim]),
      true,
    );
  } else if (loss === "infonce") {
    const t0 = Math.log(1 / (options.temperature ?? 0.07));
    model.logScale = makeVariable(() => tf.scalar(t0), true);
  }
  return model;
}

/** Every variable of the model by stable name (trainable and not), for checkpoints. */
export function namedVariables(model: DseModel): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const side of ["img", "txt"] as const) {
    const h = model[side];
    out[`${side}.kernel`] = h.kernel;
    out[`${side}.gamma`] = h.gamma;
    out[`${side}.beta`] = h.beta;
    out[`${side}.moving_mean`] = h.movingMean;
    out[`${side}.moving_var`] = h.movingVar;
  }
  if (model.w) out["head.w"] = model.w;
  if (model.b) out["head.b"] = model.b;
  if (model.centers) out["head.centers"] = model.centers;
  if (model.logScale) out["head.log_scale"] = model.logScale;
  for (const [k, v] of Object.entries(model.extra ?? {})) out[`loss.${k}`] = v;
  if (model.backbone) {
    for (const [k, v] of Object.entries(model.backbone.trainable)) out[`backbone.${k}`] = v;
    for (const [k, v] of Object.entries(model.backbone.state)) out[`backbone.${k}`] = v;
  }
  return out;
}

/** Trainable variables by name. */
export function trainableVariables(model: DseModel): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(namedVariables(model))) if (v.trainable) out[k] = v;
  return out;
}

/** Names of the variables that get L2 weight decay (FC kernels, W, backbone kernels). */
export function decayedNames(model: DseModel): string[] {
  const names = ["img.kernel", "txt.kernel"];
  if (model.w) names.push("head.w");
  if (model.backbone) names.push(...model.backbone.decay.map((k) => `backbone.${k}`));
  return names;
}

/** Number of parameters in the class head (W, b and trainable centers). */
export function headParameterCount(model: DseModel): number {
  let n = 0;
  if (model.w) n += model.w.size;
  if (model.b) n += model.b.size;
  if (model.centers && model.centers.trainable) n += model.centers.size;
  return n;
}

/** Image embeddings of a batch (backbone, then head). */
export function embedImages(
  model: DseModel,
  x: tf.Tensor,
  options: { training: boolean; rng: Rng },
): { y: tf.Tensor2D; stats?: BatchStats } {
  const feats = model.backbone ? model.backbone.apply(x, options) : (x as tf.Tensor2D);
  return applyHead(model.img, feats, { ...options, inputGrad: model.backbone !== undefined });
}

/** Text embeddings of a batch. */
export function embedTexts(
  model: DseModel,
  x: tf.Tensor2D,
  options: { training: boolean },
): { y: tf.Tensor2D; stats?: BatchStats } {
  return applyHead(model.txt, x, { ...options, inputGrad: false });
}

/** Free every variable. */
export function disposeModel(model: DseModel): void {
  for (const v of Object.values(namedVariables(model))) v.dispose();
  model.backbone?.dispose();
}
