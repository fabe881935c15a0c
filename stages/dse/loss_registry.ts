/**
 * The losses `train-dse` can train with, by name. Every loss shares the model (two FC → BN → LReLU
 * heads), Adam, the schedule, checkpointing and resume; a loss says only how it scores a batch and
 * which batches it needs:
 * - `class-balanced` (DSE, as the paper): `batch/2` images and `batch/2` texts with the same labels,
 *   texts shuffled within a class independently of the images unless `pairing: pair`;
 * - `paired` (ranking and contrastive losses): the `batch/2` images with their own texts, so that
 *   the diagonal of the batch's score matrix holds the positives.
 *
 * `compute` returns the data loss (no weight decay) and, per modality, scores whose row-wise
 * argmax is the prediction the training accuracy counts: a class (`predicts: "class"`) or, for
 * pair losses, the index of the partner in the batch (`predicts: "partner"`; in-batch R@1).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { dseCSLoss, dseDSLoss, dseSLoss, softmaxLogits, squaredDistances } from "./losses.ts";
import { cosineScores, vseHingeLoss } from "./loss_vse.ts";
import { infoNceLoss } from "./loss_infonce.ts";
import type { DseModel, LossKind } from "./model.ts";

/** A batch's embeddings and labels. */
export interface LossBatch {
  /** Image embeddings [B, d] (row i pairs with text row i). */
  img: tf.Tensor2D;
  /** Text embeddings [B, d]. */
  txt: tf.Tensor2D;
  /** One-hot labels [B, c] of the rows (images and texts share them). */
  target: tf.Tensor2D;
}

/** What a loss returns for one batch. */
export interface LossOutput {
  /** The data loss. */
  loss: tf.Scalar;
  /** Image-query scores: [B, c] class logits or [B, B] scores against the batch's texts. */
  scoresImg: tf.Tensor2D;
  /** Text-query scores, likewise. */
  scoresTxt: tf.Tensor2D;
}

/** One registered loss. */
export interface LossSpec {
  /** Name used in pipeline.yaml (`loss:`). */
  name: LossKind;
  /** Method label written to embedding.json. */
  method: string;
  /** Batches it needs. */
  batching: "class-balanced" | "paired";
  /** What the argmax of a score row predicts. */
  predicts: "class" | "partner";
  /** The formula's source and whether it is verified or our reading (README, docs/losses.md). */
  source: string;
  /** A one-line note for embedding.json. */
  note: string;
  /** The loss of a batch. */
  compute(
    model: DseModel,
    batch: LossBatch,
    options: { lambda: number; margin: number },
  ): LossOutput;
}

function softmaxHead(model: DseModel) {
  return {
    w: model.w as unknown as tf.Tensor2D,
    b: model.b as unknown as tf.Tensor1D,
    centers: model.centers as unknown as tf.Tensor2D,
  };
}

function hinge(maxViolation: boolean): LossSpec["compute"] {
  return (_model, batch, options) => {
    const s = cosineScores(batch.img, batch.txt);
    return {
      loss: vseHingeLoss(s, { margin: options.margin, maxViolation }),
      scoresImg: s,
      scoresTxt: tf.transpose(s) as tf.Tensor2D,
    };
  };
}

/** The registry. DSE's class losses weigh each modality's batch-mean loss by ½. */
export const LOSSES: Readonly<Record<LossKind, LossSpec>> = {
  s: {
    name: "s",
    method: "dse-s",
    batching: "class-balanced",
    predicts: "class",
    source: "Kang et al. 2017, eq. 1 (verified: the paper)",
    note: "S: softmax(Wx+b); centers.npy holds class means of the training embeddings",
    compute: (model, { img, txt, target }) => {
      const head = softmaxHead(model);
      return {
        loss: tf.mul(0.5, tf.add(dseSLoss(img, target, head), dseSLoss(txt, target, head))),
        scoresImg: softmaxLogits(img, head),
        scoresTxt: softmaxLogits(txt, head),
      };
    },
  },
  cs: {
    name: "cs",
    method: "dse-cs",
    batching: "class-balanced",
    predicts: "class",
    source: "Kang et al. 2017, eqs. 2–4 (verified: the paper)",
    note:
      "center loss ½‖x−c_y‖²; centers updated by Δc_j=Σ(c_j−x_i)/n_j, α, from both modalities' rows",
    compute: (model, { img, txt, target }, { lambda }) => {
      const head = softmaxHead(model);
      const l = (x: tf.Tensor2D) => dseCSLoss(x, target, head, { lambda });
      return {
        loss: tf.mul(0.5, tf.add(l(img), l(txt))),
        scoresImg: softmaxLogits(img, head),
        scoresTxt: softmaxLogits(txt, head),
      };
    },
  },
  ds: {
    name: "ds",
    method: "dse-ds",
    batching: "class-balanced",
    predicts: "class",
    source: "Kang et al. 2017, eqs. 5–6 (verified: the paper)",
    note: "DS: −log softmax(−‖x−c‖²)_y + λ‖x−c_y‖²; centers learned by gradient",
    compute: (model, { img, txt, target }, { lambda }) => {
      const c = model.centers as unknown as tf.Tensor2D;
      const l = (x: tf.Tensor2D) => dseDSLoss(x, target, c, { lambda });
      return {
        loss: tf.mul(0.5, tf.add(l(img), l(txt))),
        scoresImg: tf.neg(squaredDistances(img, c)),
        scoresTxt: tf.neg(squaredDistances(txt, c)),
      };
    },
  },
  vse0: {
    name: "vse0",
    method: "vse0",
    batching: "paired",
    predicts: "partner",
    source: "Faghri et al. 2018, sum of hinges (verified: fartashf/vsepp model.py)",
    note: "VSE0: Σ_ij [α−S_ii+S_ij]₊ + [α−S_jj+S_ij]₊ over in-batch negatives, cosine, summed",
    compute: hinge(false),
  },
  vsepp: {
    name: "vsepp",
    method: "vsepp",
    batching: "paired",
    predicts: "partner",
    source: "Faghri et al. 2018, max of hinges (verified: fartashf/vsepp model.py)",
    note: "VSE++: Σ_i max_j [α−S_ii+S_ij]₊ + Σ_j max_i [α−S_jj+S_ij]₊, cosine, summed",
    compute: hinge(true),
  },
  infonce: {
    name: "infonce",
    method: "infonce",
    batching: "paired",
    predicts: "partner",
    source: "Radford et al. 2021 (CLIP), symmetric InfoNCE (verified: the paper's pseudo-code)",
    note: "InfoNCE: ½[CE(e^t S, diag) + CE(e^t Sᵀ, diag)], t learnable from log(1/0.07), e^t ≤ 100",
    compute: (model, { img, txt }) => {
      const s = cosineScores(img, txt);
      return {
        loss: infoNceLoss(s, model.logScale as unknown as tf.Scalar),
        scoresImg: s,
        scoresTxt: tf.transpose(s) as tf.Tensor2D,
      };
    },
  },
};

/** The names of the registered losses. */
export const LOSS_NAMES: readonly LossKind[] = Object.keys(LOSSES) as LossKind[];

/** The registered loss `name`; throws listing the known names. */
export function lossSpec(name: string): LossSpec {
  const spec = (LOSSES as Record<string, LossSpec>)[name];
  if (!spec) {
    throw new Error(`train-dse: unknown loss "${name}"; use one of ${LOSS_NAMES.join(", ")}`);
  }
  return spec;
}
