/**
 * The three DSE losses (Kang et al., ACML 2017, eqs. 1–6), on tfjs tensors.
 *
 * Conventions (ours, recorded in `embedding.json` notes by the train stage):
 * - Every loss is a **mean over the batch** (Keras losses are batch means).
 * - Center loss (DSE-CS) is **½‖x − c_y‖²** (Wen et al. 2016), so its gradient in x is x − c_y and
 *   the center update Δc_j = Σ_{y_i=j}(c_j − x_i)/n_j is the same expression averaged per class.
 * - DSE-DS uses the paper's **λ‖x − c_y‖²** (no ½), with the softmax over −‖x − c_j‖².
 * - Class targets enter as one-hot matrices and c_y is `onehot · C`, so no gather is needed
 *   (gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** One-hot float32 [n, c] matrix of int labels. */
export function oneHot(y: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(y, numClasses), "float32") as tf.Tensor2D;
}

/** Mean softmax cross-entropy of `logits` [n, c] against one-hot `target` [n, c]. */
export function crossEntropy(logits: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Logits of the softmax head: x W + b. */
export function softmaxLogits(
  x: tf.Tensor2D,
  head: { w: tf.Tensor2D; b: tf.Tensor1D },
): tf.Tensor2D {
  return tf.add(tf.matMul(x, head.w), head.b) as tf.Tensor2D;
}

/** DSE-S (eq. 1): mean softmax cross-entropy of x W + b. */
export function dseSLoss(
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  head: { w: tf.Tensor2D; b: tf.Tensor1D },
): tf.Scalar {
  return crossEntropy(softmaxLogits(x, head), target);
}

/** Mean over the batch of ½‖x_i − c_{y_i}‖² (the center loss of DSE-CS). */
export function centerLoss(x: tf.Tensor2D, target: tf.Tensor2D, centers: tf.Tensor2D): tf.Scalar {
  const cy = tf.matMul(target, centers);
  return tf.mul(0.5, tf.mean(tf.sum(tf.squaredDifference(x, cy), 1))) as tf.Scalar;
}

/**
 * DSE-CS (eqs. 2–4): softmax cross-entropy + λ · center loss. The centers are constants here;
 * they move only through {@link centerUpdate}.
 */
export function dseCSLoss(
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  head: { w: tf.Tensor2D; b: tf.Tensor1D; centers: tf.Tensor2D },
  options: { lambda: number },
): tf.Scalar {
  const ce = dseSLoss(x, target, head);
  if (options.lambda === 0) return ce;
  return tf.add(ce, tf.mul(options.lambda, centerLoss(x, target, head.centers))) as tf.Scalar;
}

/**
 * The center update of DSE-CS (eq. 4): Δc_j = Σ_{i: y_i = j}(c_j − x_i) / Σ_i δ(y_i = j), then
 * c_j ← c_j − α Δc_j. Classes absent from the batch keep their center.
 * @param x the batch's embeddings [n, d] (the train stage passes both modalities' rows)
 * @param target one-hot labels [n, c]
 * @returns the new centers [c, d]
 */
export function centerUpdate(
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  centers: tf.Tensor2D,
  options: { alpha: number },
): tf.Tensor2D {
  return tf.tidy(() => {
    const counts = tf.sum(target, 0); // [c]
    const sums = tf.matMul(target, x, true, false); // [c, d]
    const delta = tf.div(
      tf.sub(tf.mul(tf.expandDims(counts, 1), centers), sums),
      tf.expandDims(tf.maximum(counts, 1), 1),
    );
    return tf.sub(centers, tf.mul(options.alpha, delta)) as tf.Tensor2D;
  });
}

/** Squared Euclidean distances ‖x_i − c_j‖² [n, c]. */
export function squaredDistances(x: tf.Tensor2D, centers: tf.Tensor2D): tf.Tensor2D {
  const xx = tf.sum(tf.square(x), 1, true); // [n, 1]
  const cc = tf.reshape(tf.sum(tf.square(centers), 1), [1, -1]); // [1, c]
  const xc = tf.matMul(x, centers, false, true); // [n, c]
  return tf.add(tf.sub(xx, tf.mul(2, xc)), cc) as tf.Tensor2D;
}

/**
 * DSE-DS (eqs. 5–6): −log softmax(−‖x − c_j‖²)_y + λ‖x − c_y‖², batch mean. The centers are the
 * only head parameters (c·d of them): no W, no b.
 */
export function dseDSLoss(
  x: tf.Tensor2D,
  target: tf.Tensor2D,
  centers: tf.Tensor2D,
  options: { lambda: number },
): tf.Scalar {
  const d2 = squaredDistances(x, centers);
  const ce = crossEntropy(tf.neg(d2), target);
  if (options.lambda === 0) return ce;
  const pull = tf.mean(tf.sum(tf.mul(target, d2), 1));
  return tf.add(ce, tf.mul(options.lambda, pull)) as tf.Scalar;
}
