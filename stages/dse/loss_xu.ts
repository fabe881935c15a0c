/**
 * Xu, Yu, Guo, Hu & Tan (ICCS 2019, LNCS 11537), **our reading of the abstract** (docs/losses.md,
 * methods.md §12). The abstract gives: a siamese text network scores how similar a pair's text is
 * to the text of the pair's image; those scores are fine-grained labels of the positives and the
 * negatives in a pairwise similarity loss, so that hard positives and hard negatives weigh more.
 * The formulas below are ours.
 *
 * - The scorer: h(x) = LReLU(x·W + b, 0.2) on the raw text features (shared weights: siamese),
 *   s(x, x') = (1 + cos(h(x), h(x')))/2 ∈ [0, 1], trained on the **training texts only** with the
 *   binary cross-entropy of s against "same class" on sampled pairs (half same class), then frozen.
 * - The loss, on a paired batch (row i = image i with its own text T_i), S = cosine scores of the
 *   embeddings (image rows, text columns), Y[i, j] = s(T_i, T_j): positives are the same-class
 *   cells (the diagonal included), negatives the others; weights w₊ = 2 − Y (a positive whose text
 *   is unlike the image's own text is hard), w₋ = 1 + Y (a negative whose text is like it is hard).
 *   With μ, σ² the w-weighted mean and variance of S over each set, the "global" pairwise loss of
 *   the same group (Yu et al. 2018): L = σ²₊ + σ²₋ + λ·max(0, m − (μ₊ − μ₋)), m = 0.8, λ = 0.35.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { glorotUniform, makeVariable } from "./model.ts";
import { Rng } from "../util/rng.ts";

/** The global loss's margin m (Yu et al. 2018's value, as we read it). */
export const XU_MARGIN = 0.8;
/** The global loss's weight λ of the mean term. */
export const XU_LAMBDA = 0.35;
/** The scorer's width and training recipe. */
export const XU_SCORER = { hidden: 32, steps: 300, pairs: 256, lr: 0.01 } as const;

/** The slope of the scorer's LeakyReLU (as the DSE heads). */
export const SCORER_SLOPE = 0.2;

/** The scorer's weights. */
export interface TextScorer {
  /** W [q, h]. */
  w: tf.Tensor2D;
  /** b [h]. */
  b: tf.Tensor1D;
}

/** Pairwise text similarities s(x_i, x'_j) = (1 + cos(h(x_i), h(x'_j)))/2, [n, m], h = LReLU(xW + b). */
export function textSimilarity(x: tf.Tensor2D, x2: tf.Tensor2D, scorer: TextScorer): tf.Tensor2D {
  const h = (v: tf.Tensor2D) => {
    const z = tf.leakyRelu(tf.add(tf.matMul(v, scorer.w), scorer.b), SCORER_SLOPE);
    return tf.mul(z, tf.rsqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)));
  };
  return tf.mul(0.5, tf.add(1, tf.matMul(h(x), h(x2), false, true))) as tf.Tensor2D;
}

/**
 * The weighted global loss.
 * @param scores S [B, B], image rows, text columns
 * @param labels Y [B, B] in [0, 1], the scorer's similarity of image i's own text to text j
 * @param target one-hot classes [B, c] of the rows (image i and text i share a class)
 */
export function xuGlobalLoss(
  scores: tf.Tensor2D,
  labels: tf.Tensor2D,
  target: tf.Tensor2D,
  options: { margin: number; lambda: number },
): tf.Scalar {
  const pos = tf.matMul(target, target, false, true); // 1 where the classes agree
  const wPos = tf.mul(pos, tf.sub(2, labels));
  const wNeg = tf.mul(tf.sub(1, pos), tf.add(1, labels));
  const moments = (w: tf.Tensor) => {
    const sw = tf.add(tf.sum(w), 1e-12);
    const mu = tf.div(tf.sum(tf.mul(w, scores)), sw);
    const v = tf.div(tf.sum(tf.mul(w, tf.square(tf.sub(scores, mu)))), sw);
    return { mu, v };
  };
  const p = moments(wPos), n = moments(wNeg);
  const gap = tf.relu(tf.sub(options.margin, tf.sub(p.mu, n.mu)));
  return tf.addN([p.v, n.v, tf.mul(options.lambda, gap)]) as tf.Scalar;
}

/**
 * Train the siamese scorer on training texts only: `steps` Adam steps on `pairs` sampled pairs
 * (half of the partners from the anchor's class, half from any row), binary cross-entropy of s
 * against "same class". Deterministic for a seed (its own generator, not the training one's).
 * @returns the frozen weights, and the last step's loss
 */
export function trainTextScorer(
  txt: { data: Float32Array; shape: number[] },
  y: Int32Array,
  options: { seed: number; hidden?: number; steps?: number; pairs?: number; lr?: number },
): { w: Float32Array; b: Float32Array; shape: [number, number]; loss: number } {
  const hidden = options.hidden ?? XU_SCORER.hidden;
  const steps = options.steps ?? XU_SCORER.steps;
  const pairs = options.pairs ?? XU_SCORER.pairs;
  const [n, q] = txt.shape;
  const rng = new Rng(options.seed ^ 0x5ca1ab1e);
  const byClass = new Map<number, number[]>();
  y.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const w = makeVariable(() => tf.tensor2d(glorotUniform(rng, q, hidden), [q, hidden]), true);
  const b = makeVariable(() => tf.zeros([hidden]), true);
  const opt = tf.train.adam(options.lr ?? XU_SCORER.lr);
  const x = tf.tensor2d(txt.data, [n, q]);
  let last = NaN;
  try {
    for (let s = 0; s < steps; s++) {
      const a: number[] = [], p: number[] = [], same: number[] = [];
      for (let k = 0; k < pairs; k++) {
        const i = Math.floor(rng.next() * n);
        const pool = k % 2 === 0 ? byClass.get(y[i])! : null;
        const j = pool ? pool[Math.floor(rng.next() * pool.length)] : Math.floor(rng.next() * n);
        a.push(i);
        p.push(j);
        same.push(y[i] === y[j] ? 1 : 0);
      }
      const cost = opt.minimize(() =>
        tf.tidy(() => {
          const xa = tf.gather(x, a), xp = tf.gather(x, p);
          const ones = tf.ones([pairs, 1]);
          // diag(s(xa, xp)) without the [pairs, pairs] matrix: row-wise cosine.
          const sc: TextScorer = { w: w as unknown as tf.Tensor2D, b: b as unknown as tf.Tensor1D };
          const h = (v: tf.Tensor) => {
            const z = tf.leakyRelu(tf.add(tf.matMul(v as tf.Tensor2D, sc.w), sc.b), SCORER_SLOPE);
            return tf.mul(z, tf.rsqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)));
          };
          const cos = tf.matMul(tf.mul(h(xa), h(xp)), tf.ones([hidden, 1]));
          // s squeezed into [1e-6, 1 − 1e-6] (affine, so it keeps a gradient) for the logs.
          const sp = tf.add(tf.mul(0.5 * (1 - 2e-6), tf.add(ones, cos)), 1e-6);
          const t = tf.tensor2d(same, [pairs, 1]);
          const bce = tf.add(tf.mul(t, tf.log(sp)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, sp))));
          return tf.neg(tf.mean(bce)) as tf.Scalar;
        }), true);
      if (s === steps - 1) last = cost!.dataSync()[0];
      cost?.dispose();
    }
    return {
      w: w.dataSync() as Float32Array,
      b: b.dataSync() as Float32Array,
      shape: [q, hidden],
      loss: last,
    };
  } finally {
    opt.dispose();
    tf.dispose([w, b, x]);
  }
}
