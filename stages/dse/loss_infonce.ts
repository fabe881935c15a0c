/**
 * CLIP-style symmetric InfoNCE with a learnable temperature (Radford et al. 2021, the paper's
 * pseudo-code): logits = exp(t)·S with S the cosine scores of a batch of B matched pairs, and
 * L = ½[CE(logits, diag) + CE(logitsᵀ, diag)], each cross-entropy a mean over the B rows.
 * t = log(1/τ) starts at log(1/0.07) and is a trainable scalar; exp(t) is capped at 100 as in CLIP.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** CLIP's initial temperature τ₀ (defined in loss_catalog.ts, which loads no tfjs). */
export { CLIP_TEMPERATURE } from "./loss_catalog.ts";
/** CLIP's cap on the logit scale exp(t). */
export const CLIP_MAX_SCALE = 100;

/**
 * Symmetric InfoNCE of a square cosine-score matrix whose diagonal holds the positives.
 * @param scores S [B, B], row i = image i, column j = text j
 * @param logScale t, a scalar (the logits are min(exp(t), 100)·S)
 */
export function infoNceLoss(scores: tf.Tensor2D, logScale: tf.Scalar): tf.Scalar {
  const n = scores.shape[0];
  const logits = tf.mul(tf.minimum(tf.exp(logScale), CLIP_MAX_SCALE), scores);
  const eye = tf.eye(n);
  const ce = (z: tf.Tensor) =>
    tf.neg(tf.mean(tf.sum(tf.mul(eye, tf.logSoftmax(z as tf.Tensor2D)), 1)));
  return tf.mul(0.5, tf.add(ce(logits), ce(tf.transpose(logits)))) as tf.Scalar;
}
