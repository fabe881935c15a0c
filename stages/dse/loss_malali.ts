/**
 * Malali & Keller (TPAMI 2021), **our reading of the abstract** (docs/losses.md, methods.md §11).
 * The abstract gives four ingredients: a Euclidean joint embedding, a center loss over identical
 * semantic concepts, a differentiable quantization in the network, and an adaptive-margin hinge
 * refined during training. The formulas below are ours.
 *
 * On a paired batch of B (image, text) rows, e = L2-normalised embeddings, D[i, j] = ‖e_i − t_j‖₂:
 * - hinge (the MH form of VSE++, with distances): h = Σ_i [m + D_ii − min_{j≠i} D_ij]₊ +
 *   Σ_j [m + D_jj − min_{i≠j} D_ij]₊;
 * - center: ½ (C(img) + C(txt)) with C(x) = Σ_i ½‖x_i − c_{y_i}‖²; the centers move by Wen et
 *   al.'s rule after each step (rate `alpha`), as DSE-CS;
 * - quantization: ½ (Q(img) + Q(txt)), Q(x) = Σ_i ‖x_i − q(x_i)‖², q(x) = Σ_k
 *   softmax_k(−‖x − w_k‖²/τ) w_k with K learnable codewords w_k; τ annealed 1 → 0.01
 *   geometrically over the epoch cap;
 * - L = h + λ_c·center + λ_q·quant (λ_c = `lambda`, default 0.01; λ_q = 0.1); every term is
 *   summed over the batch's rows, as vsepp sums its hinges;
 * - adaptive margin: after each step m ← clip(0.9·m + 0.1·median(g), 0.1, 0.5), g the 2B gaps
 *   min-negative distance − positive distance of the batch (both directions); m₀ = 0.2.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { centerLoss, squaredDistances } from "./losses.ts";
import { l2Normalize } from "./loss_vse.ts";

/** The starting margin m₀. */
export const MALALI_MARGIN0 = 0.2;
/** The margin's clip range. */
export const MALALI_MARGIN_RANGE: readonly [number, number] = [0.1, 0.5];
/** The margin's moving-average momentum (per step). */
export const MALALI_MARGIN_MOMENTUM = 0.9;
/** The quantization weight λ_q. */
export const MALALI_QUANT_WEIGHT = 0.1;
/** The quantization temperature at the first and the last epoch. */
export const MALALI_TAU: readonly [number, number] = [1, 0.01];

/** Euclidean distances D[i, j] = ‖a_i − b_j‖₂ (ε = 1e-12 under the root keeps the gradient finite). */
export function euclideanDistances(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.sqrt(tf.add(tf.relu(squaredDistances(a, b)), 1e-12)) as tf.Tensor2D;
}

/** Per row i: the positive distance D_ii and the nearest negative min_{j≠i} D_ij (and per column). */
export function hardestGaps(
  d: tf.Tensor2D,
): { pos: tf.Tensor1D; negRow: tf.Tensor1D; negCol: tf.Tensor1D } {
  const n = d.shape[0];
  const eye = tf.eye(n);
  const pos = tf.sum(tf.mul(d, eye), 1) as tf.Tensor1D;
  // Distances of unit vectors are ≤ 2: +4 on the diagonal takes the positive out of the minimum.
  const masked = tf.add(d, tf.mul(eye, 4));
  return {
    pos,
    negRow: tf.neg(tf.max(tf.neg(masked), 1)) as tf.Tensor1D,
    negCol: tf.neg(tf.max(tf.neg(masked), 0)) as tf.Tensor1D,
  };
}

/**
 * The adaptive-margin hinge of a square distance matrix whose diagonal holds the positives:
 * the sum over rows of [m + D_ii − min_{j≠i} D_ij]₊ plus the same over columns.
 */
export function adaptiveHingeLoss(d: tf.Tensor2D, margin: number | tf.Scalar): tf.Scalar {
  const { pos, negRow, negCol } = hardestGaps(d);
  const base = tf.add(pos, margin);
  return tf.add(
    tf.sum(tf.relu(tf.sub(base, negRow))),
    tf.sum(tf.relu(tf.sub(base, negCol))),
  ) as tf.Scalar;
}

/** Soft quantization q(x) = softmax(−‖x − w‖²/τ) · W of rows x [n, d] on codewords W [K, d]. */
export function softQuantize(x: tf.Tensor2D, codewords: tf.Tensor2D, tau: number): tf.Tensor2D {
  const a = tf.softmax(tf.div(tf.neg(squaredDistances(x, codewords)), tau));
  return tf.matMul(a, codewords) as tf.Tensor2D;
}

/** Q(x) = Σ_i ‖x_i − q(x_i)‖². */
export function quantizationLoss(x: tf.Tensor2D, codewords: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.sum(tf.sum(tf.squaredDifference(x, softQuantize(x, codewords, tau)), 1)) as tf.Scalar;
}

/** The quantization temperature of a 0-based epoch: 1 → 0.01 geometrically over `epochs`. */
export function malaliTau(epoch: number, epochs: number): number {
  const [t0, t1] = MALALI_TAU;
  const f = epochs > 1 ? Math.min(epoch, epochs - 1) / (epochs - 1) : 1;
  return t0 * (t1 / t0) ** f;
}

/** The state the loss owns (the model's `extra`). */
export interface MalaliState {
  /** Concept centers [c, d] (non-trainable, Wen et al.'s update). */
  centers: tf.Tensor2D;
  /** Codewords [K, d] (trainable). */
  codewords: tf.Tensor2D;
  /** The current margin m (a scalar). */
  margin: tf.Scalar;
}

/**
 * The whole loss of a paired batch (raw embeddings; normalised here).
 * @returns the loss and the distance matrix D (image rows, text columns)
 */
export function malaliLoss(
  batch: { img: tf.Tensor2D; txt: tf.Tensor2D; target: tf.Tensor2D },
  state: MalaliState,
  options: { lambda: number; tau: number; quantWeight?: number },
): { loss: tf.Scalar; distances: tf.Tensor2D } {
  const e = l2Normalize(batch.img), t = l2Normalize(batch.txt);
  const d = euclideanDistances(e, t);
  const hinge = adaptiveHingeLoss(d, state.margin);
  // losses.ts's centerLoss is a batch mean: × B gives the sum over the rows.
  const n = batch.img.shape[0];
  const center = tf.mul(
    0.5 * n,
    tf.add(centerLoss(e, batch.target, state.centers), centerLoss(t, batch.target, state.centers)),
  );
  const quant = tf.mul(
    0.5,
    tf.add(
      quantizationLoss(e, state.codewords, options.tau),
      quantizationLoss(t, state.codewords, options.tau),
    ),
  );
  const lq = options.quantWeight ?? MALALI_QUANT_WEIGHT;
  const loss = tf.addN([hinge, tf.mul(options.lambda, center), tf.mul(lq, quant)]) as tf.Scalar;
  return { loss, distances: d };
}

/** Median of a list (mean of the two middle values for an even length). */
export function median(v: ArrayLike<number>): number {
  const s = Array.from(v).sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * The margin after one step: clip(μ·m + (1 − μ)·median(gaps), 0.1, 0.5), the gaps being
 * nearest-negative − positive distances of the batch's rows and columns.
 */
export function nextMargin(margin: number, distances: tf.Tensor2D): number {
  const gaps = tf.tidy(() => {
    const { pos, negRow, negCol } = hardestGaps(distances);
    return tf.concat([tf.sub(negRow, pos), tf.sub(negCol, pos)]);
  });
  const g = median(gaps.dataSync());
  gaps.dispose();
  const mu = MALALI_MARGIN_MOMENTUM;
  const [lo, hi] = MALALI_MARGIN_RANGE;
  return Math.min(hi, Math.max(lo, mu * margin + (1 - mu) * g));
}
