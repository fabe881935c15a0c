/**
 * The VSE hinge losses (Faghri et al., BMVC 2018; docs/methods.md §9, verified from
 * `fartashf/vsepp` `model.py` ContrastiveLoss) on a batch of B matched pairs.
 *
 * S = f(I)·g(C)ᵀ on L2-normalised embeddings (cosine); the diagonal holds the positives.
 * - cost_c[i,j] = [α − S_ii + S_ij]₊ (caption negatives of image i),
 * - cost_i[i,j] = [α − S_jj + S_ij]₊ (image negatives of caption j),
 * both with the diagonal zeroed.
 * - VSE0 (sum of hinges): Σ_ij cost_c + Σ_ij cost_i.
 * - VSE++ (max violation): Σ_i max_j cost_c[i,j] + Σ_j max_i cost_i[i,j].
 * Summed over the batch, not averaged (as vsepp).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The margin α of vsepp's default recipe (defined in loss_catalog.ts, which loads no tfjs). */
export { VSE_MARGIN } from "./loss_catalog.ts";

/** Rows divided by their L2 norm (ε = 1e-12 inside the root keeps a zero row finite). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))) as tf.Tensor2D;
}

/** Cosine scores S[i, j] = cos(img_i, txt_j) of two [B, d] batches. */
export function cosineScores(img: tf.Tensor2D, txt: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(l2Normalize(img), l2Normalize(txt), false, true) as tf.Tensor2D;
}

/**
 * The VSE hinge loss of a square score matrix whose diagonal holds the positives.
 * @param scores S [B, B], row i = image i, column j = text j
 * @param options `margin` α; `maxViolation` true = VSE++ (hardest negative), false = VSE0 (all)
 */
export function vseHingeLoss(
  scores: tf.Tensor2D,
  options: { margin: number; maxViolation: boolean },
): tf.Scalar {
  const n = scores.shape[0];
  const diag = tf.sum(tf.mul(scores, tf.eye(n)), 1); // [B]
  const offDiag = tf.sub(1, tf.eye(n));
  const base = tf.add(scores, options.margin);
  // cost_c[i, j] = [α + S_ij − S_ii]₊; cost_i[i, j] = [α + S_ij − S_jj]₊; diagonal masked.
  const costC = tf.mul(tf.relu(tf.sub(base, tf.reshape(diag, [n, 1]))), offDiag);
  const costI = tf.mul(tf.relu(tf.sub(base, tf.reshape(diag, [1, n]))), offDiag);
  if (options.maxViolation) {
    return tf.add(tf.sum(tf.max(costC, 1)), tf.sum(tf.max(costI, 0))) as tf.Scalar;
  }
  return tf.add(tf.sum(costC), tf.sum(costI)) as tf.Scalar;
}
