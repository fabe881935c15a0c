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
import {
  centerUpdate,
  dseCSLoss,
  dseDSLoss,
  dseSLoss,
  softmaxLogits,
  squaredDistances,
} from "./losses.ts";
import { cosineScores, l2Normalize, vseHingeLoss } from "./loss_vse.ts";
import { infoNceLoss } from "./loss_infonce.ts";
import {
  euclideanDistances,
  MALALI_MARGIN0,
  malaliLoss,
  type MalaliState,
  malaliTau,
  nextMargin,
} from "./loss_malali.ts";
import {
  type TextScorer,
  textSimilarity,
  trainTextScorer,
  XU_SCORER,
  xuGlobalLoss,
} from "./loss_xu.ts";
import { type DseModel, glorotUniform, type LossKind, makeVariable } from "./model.ts";
import type { Rng } from "../util/rng.ts";
import { LOSS_INFO, LOSS_NAMES, type LossInfo } from "./loss_catalog.ts";

/** A batch's embeddings and labels. */
export interface LossBatch {
  /** Image embeddings [B, d] (row i pairs with text row i). */
  img: tf.Tensor2D;
  /** Text embeddings [B, d]. */
  txt: tf.Tensor2D;
  /** One-hot labels [B, c] of the rows (images and texts share them). */
  target: tf.Tensor2D;
  /** The batch's raw text features [B, q] (for losses that score text against text: `xu`). */
  txtIn?: tf.Tensor2D;
}

/** What a loss may read besides the batch. */
export interface LossOptions {
  /** λ (the loss's own weight; `resolveLambda` gives each loss's default). */
  lambda: number;
  /** Margin (vse0, vsepp: α; xu: m of the global loss). */
  margin: number;
  /** Center update rate α (cs, malali). */
  alpha?: number;
  /** The current epoch, 0-based (malali's τ schedule). */
  epoch?: number;
  /** The epoch cap. */
  epochs?: number;
}

/** What a loss's `init` may use to build its state. */
export interface LossInit {
  /** Embedding width d. */
  dim: number;
  /** Number of classes c. */
  numClasses: number;
  /** Training texts (raw features, after `normalize`) [n, q]: `xu` trains its scorer on them. */
  txtTrain: { data: Float32Array; shape: number[] };
  /** Training labels. */
  yTrain: Int32Array;
  /** The run's seed. */
  seed: number;
  /** Log sink. */
  log?: (msg: string) => void;
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

/** One registered loss: its {@link LossInfo} (stages/dse/loss_catalog.ts) and its code. */
export interface LossSpec extends LossInfo {
  /** The loss of a batch. */
  compute(model: DseModel, batch: LossBatch, options: LossOptions): LossOutput;
  /**
   * Builds the state the loss owns beyond the shared model (stored in `model.extra`, checkpointed
   * as `loss.<name>`); called once, after the model is created and before a checkpoint is read.
   */
  init?(rng: Rng, context: LossInit): Record<string, tf.Variable>;
  /** A non-gradient update after each optimiser step (center updates, an adaptive margin). */
  afterStep?(model: DseModel, batch: LossBatch, options: LossOptions): void;
}

function softmaxHead(model: DseModel) {
  return {
    w: model.w as unknown as tf.Tensor2D,
    b: model.b as unknown as tf.Tensor1D,
    centers: model.centers as unknown as tf.Tensor2D,
  };
}

/** Wen et al.'s center update from both modalities' rows (DSE-CS, malali). */
function bothSidesCenterUpdate(
  centers: tf.Variable,
  img: tf.Tensor2D,
  txt: tf.Tensor2D,
  target: tf.Tensor2D,
  alpha: number | undefined,
): tf.Tensor2D {
  return centerUpdate(
    tf.concat([img, txt], 0) as tf.Tensor2D,
    tf.concat([target, target], 0) as tf.Tensor2D,
    centers as unknown as tf.Tensor2D,
    { alpha: alpha ?? 0.5 },
  );
}

function malaliState(model: DseModel): MalaliState {
  const x = model.extra;
  if (!x?.centers || !x.codewords || !x.margin) {
    throw new Error(
      "train-dse: loss malali needs its state (centers, codewords, margin): call init",
    );
  }
  return {
    centers: x.centers as unknown as tf.Tensor2D,
    codewords: x.codewords as unknown as tf.Tensor2D,
    margin: x.margin as unknown as tf.Scalar,
  };
}

function xuScorer(model: DseModel): TextScorer {
  const x = model.extra;
  if (!x?.scorer_w || !x.scorer_b) {
    throw new Error("train-dse: loss xu needs its text scorer (scorer_w, scorer_b): call init");
  }
  return { w: x.scorer_w as unknown as tf.Tensor2D, b: x.scorer_b as unknown as tf.Tensor1D };
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
    ...LOSS_INFO.s,
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
    ...LOSS_INFO.cs,
    compute: (model, { img, txt, target }, { lambda }) => {
      const head = softmaxHead(model);
      const l = (x: tf.Tensor2D) => dseCSLoss(x, target, head, { lambda });
      return {
        loss: tf.mul(0.5, tf.add(l(img), l(txt))),
        scoresImg: softmaxLogits(img, head),
        scoresTxt: softmaxLogits(txt, head),
      };
    },
    afterStep: (model, { img, txt, target }, { alpha }) => {
      if (!model.centers) return;
      const next = tf.tidy(() => bothSidesCenterUpdate(model.centers!, img, txt, target, alpha));
      model.centers.assign(next);
      next.dispose(); // assign shares next's data; the handle itself must still be freed
    },
  },
  ds: {
    ...LOSS_INFO.ds,
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
    ...LOSS_INFO.vse0,
    compute: hinge(false),
  },
  vsepp: {
    ...LOSS_INFO.vsepp,
    compute: hinge(true),
  },
  infonce: {
    ...LOSS_INFO.infonce,
    compute: (model, { img, txt }) => {
      const s = cosineScores(img, txt);
      return {
        loss: infoNceLoss(s, model.logScale as unknown as tf.Scalar),
        scoresImg: s,
        scoresTxt: tf.transpose(s) as tf.Tensor2D,
      };
    },
  },
  malali: {
    ...LOSS_INFO.malali,
    init: (rng, { dim, numClasses }) => ({
      centers: makeVariable(() => tf.zeros([numClasses, dim]), false),
      // One codeword per class (the "concepts" on a labelled dataset), Glorot-initialised.
      codewords: makeVariable(
        () => tf.tensor2d(glorotUniform(rng, numClasses, dim), [numClasses, dim]),
        true,
      ),
      margin: makeVariable(() => tf.scalar(MALALI_MARGIN0), false),
    }),
    compute: (model, batch, { lambda, epoch, epochs }) => {
      const { loss, distances } = malaliLossParts(model, batch, { lambda, epoch, epochs });
      return {
        loss,
        scoresImg: tf.neg(distances),
        scoresTxt: tf.neg(tf.transpose(distances)) as tf.Tensor2D,
      };
    },
    afterStep: (model, batch, { alpha }) => {
      const x = model.extra;
      if (!x?.centers || !x.margin) malaliState(model); // throws naming what is missing
      const { next, d } = tf.tidy(() => {
        const e = l2Normalize(batch.img), t = l2Normalize(batch.txt);
        return {
          next: bothSidesCenterUpdate(x!.centers, e, t, batch.target, alpha),
          d: euclideanDistances(e, t),
        };
      });
      x!.centers.assign(next);
      const margin = tf.scalar(nextMargin(x!.margin.dataSync()[0], d));
      x!.margin.assign(margin);
      tf.dispose([next, d, margin]); // assign shares their data; the handles must still be freed
    },
  },
  xu: {
    ...LOSS_INFO.xu,
    init: (_rng, { txtTrain, yTrain, seed, log }) => {
      const s = trainTextScorer(txtTrain, yTrain, { seed });
      log?.(
        `xu: text scorer trained on the training texts (${XU_SCORER.steps} steps, ` +
          `last BCE ${s.loss.toFixed(4)})`,
      );
      return {
        scorer_w: makeVariable(() => tf.tensor2d(s.w, s.shape), false),
        scorer_b: makeVariable(() => tf.tensor1d(s.b), false),
      };
    },
    compute: (model, { img, txt, target, txtIn }, { lambda, margin }) => {
      if (!txtIn) throw new Error("train-dse: loss xu needs the batch's raw texts (txtIn)");
      const s = cosineScores(img, txt);
      const y = textSimilarity(txtIn, txtIn, xuScorer(model));
      return {
        loss: xuGlobalLoss(s, y, target, { margin, lambda }),
        scoresImg: s,
        scoresTxt: tf.transpose(s) as tf.Tensor2D,
      };
    },
  },
};

function malaliLossParts(
  model: DseModel,
  batch: LossBatch,
  options: { lambda: number; epoch?: number; epochs?: number },
) {
  const tau = malaliTau(options.epoch ?? 0, options.epochs ?? 1);
  return malaliLoss(batch, malaliState(model), { lambda: options.lambda, tau });
}

export { LOSS_NAMES };

/** The registered loss `name`; throws listing the known names. */
export function lossSpec(name: string): LossSpec {
  const spec = (LOSSES as Record<string, LossSpec>)[name];
  if (!spec) {
    throw new Error(`train-dse: unknown loss "${name}"; use one of ${LOSS_NAMES.join(", ")}`);
  }
  return spec;
}
