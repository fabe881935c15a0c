/**
 * One optimiser step of `train-dse` on one batch, and the epoch's running totals. The recipe it
 * follows is in train.ts; this module is the tensor plumbing.
 *
 * A step: embed the batch's images and texts (training mode) → the loss of `loss_registry.ts`
 * plus the coupled L2 term → gradients → {@link adamStep} on every trainable variable → BN
 * running statistics → (DSE-CS) the centers' update rule on both modalities' embeddings.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { adamStep } from "./adam.ts";
import { oneHot } from "./losses.ts";
import type { LossSpec } from "./loss_registry.ts";
import {
  type BatchStats,
  type DseModel,
  embedImages,
  embedTexts,
  type Head,
  makeVariable,
  updateRunningStats,
} from "./model.ts";
import type { Rng } from "../util/rng.ts";
import { hostRows } from "./train_data.ts";

/** What every step of a run uses. */
export interface StepSetup {
  /** The model. */
  model: DseModel;
  /** Its trainable variables by name. */
  trainable: Record<string, tf.Variable>;
  /** Adam's moments by name: `adam_m.<var>` and `adam_v.<var>`. */
  adam: Record<string, tf.Variable>;
  /** Names of the trainable variables under the L2 term. */
  decay: string[];
  /** The loss. */
  spec: LossSpec;
  /** Loss hyper-parameters. */
  hyper: { lambda: number; margin: number; alpha: number; weightDecay: number; epochs: number };
  /** Training images on the device, or undefined when they stay on the host (raw images). */
  xImg?: tf.Tensor;
  /** Training images on the host (used when `xImg` is undefined). */
  imgHost: { data: Float32Array; shape: number[] };
  /** Training texts. */
  xTxt: tf.Tensor2D;
  /** Training labels. */
  yTrain: tf.Tensor1D;
  /** Number of classes. */
  numClasses: number;
  /** Augmentation randomness (end-to-end backbones). */
  rng: Rng;
}

/** Zero Adam moments for each trainable variable, named `adam_m.<name>` and `adam_v.<name>`. */
export function createAdamMoments(
  trainable: Record<string, tf.Variable>,
): Record<string, tf.Variable> {
  const adam: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(trainable)) {
    adam[`adam_m.${k}`] = makeVariable(() => tf.zerosLike(v), false);
    adam[`adam_v.${k}`] = makeVariable(() => tf.zerosLike(v), false);
  }
  return adam;
}

/** Running sums of an epoch on the device (read once at the end of the epoch). */
export class EpochTally {
  /** Σ batch loss × batch rows. */
  lossSum: tf.Tensor = tf.scalar(0);
  /** Correct image predictions. */
  hitImg: tf.Tensor = tf.scalar(0);
  /** Correct text predictions. */
  hitTxt: tf.Tensor = tf.scalar(0);
  /** Rows seen (per modality). */
  rows = 0;

  /** The totals, read from the device; frees the tensors. */
  async read(): Promise<{ loss: number; hitImg: number; hitTxt: number; rows: number }> {
    const [ls, hi, ht] = await Promise.all([
      this.lossSum.data(),
      this.hitImg.data(),
      this.hitTxt.data(),
    ]);
    this.dispose();
    return { loss: ls[0], hitImg: hi[0], hitTxt: ht[0], rows: this.rows };
  }

  /** Frees the tensors. */
  dispose(): void {
    tf.dispose([this.lossSum, this.hitImg, this.hitTxt]);
  }
}

/**
 * One step on the batch of (image, text) row indices, with Adam step size `stepSize`: updates
 * the model and Adam's moments in place and adds the batch to `tally`.
 */
export function trainStep(
  s: StepSetup,
  batch: { img: Int32Array; txt: Int32Array },
  options: { stepSize: number; tally: EpochTally; epoch: number },
): void {
  const { model, trainable, adam, spec, hyper, tally } = { ...s, ...options };
  const lossOptions = {
    lambda: hyper.lambda,
    margin: hyper.margin,
    alpha: hyper.alpha,
    epoch: options.epoch,
    epochs: hyper.epochs,
  };
  const iImg = tf.tensor1d(batch.img, "int32");
  const iTxt = tf.tensor1d(batch.txt, "int32");
  const xb = s.xImg ? tf.gather(s.xImg, iImg) : hostRows(s.imgHost, batch.img);
  const tb = tf.gather(s.xTxt, iTxt) as tf.Tensor2D;
  const target = tf.tidy(() => oneHot(tf.gather(s.yTrain, iImg) as tf.Tensor1D, s.numClasses));

  // Forward: the loss of both modalities and the coupled L2 term (Keras kernel_regularizer).
  let kept: tf.Tensor[] = [];
  let eImg!: tf.Tensor2D, eTxt!: tf.Tensor2D, pImg!: tf.Tensor, pTxt!: tf.Tensor;
  let sImg: BatchStats | undefined, sTxt: BatchStats | undefined;
  const f = () => {
    const a = embedImages(model, xb, { training: true, rng: s.rng });
    const b = embedTexts(model, tb, { training: true });
    sImg = a.stats;
    sTxt = b.stats;
    const out = spec.compute(model, { img: a.y, txt: b.y, target, txtIn: tb }, lossOptions);
    let total = out.loss;
    if (hyper.weightDecay > 0 && s.decay.length > 0) {
      const l2 = tf.addN(s.decay.map((k) => tf.sum(tf.square(trainable[k]))));
      total = tf.add(total, tf.mul(hyper.weightDecay, l2)) as tf.Scalar;
    }
    eImg = tf.keep(a.y);
    eTxt = tf.keep(b.y);
    pImg = tf.keep(tf.argMax(out.scoresImg, 1));
    pTxt = tf.keep(tf.argMax(out.scoresTxt, 1));
    kept = [eImg, eTxt, pImg, pTxt];
    return total;
  };
  const { value, grads } = tf.variableGrads(f, Object.values(trainable));

  // Backward: Adam on every trainable variable.
  tf.tidy(() => {
    const names = Object.keys(trainable);
    const slots = names.map((k) => ({
      x: trainable[k],
      m: adam[`adam_m.${k}`],
      v: adam[`adam_v.${k}`],
    }));
    // Every variable in one multi-tensor update (`adam.ts`).
    const next = adamStep(slots, names.map((k) => grads[trainable[k].name]), {
      stepSize: options.stepSize,
    });
    next.forEach((n, i) => {
      slots[i].m.assign(n.m);
      slots[i].v.assign(n.v);
      slots[i].x.assign(n.x);
    });
  });

  // The updates that are not gradient steps: BN running statistics, then the loss's own.
  const pairs: [BatchStats | undefined, Head][] = [[sImg, model.img], [sTxt, model.txt]];
  for (const [stats, head] of pairs) {
    if (stats) {
      updateRunningStats(head, stats);
      tf.dispose([stats.mean, stats.variance]);
    }
  }
  // The loss's non-gradient updates (DSE-CS's centers; malali's centers and margin).
  spec.afterStep?.(model, { img: eImg, txt: eTxt, target }, lossOptions);

  // The epoch's totals: loss × rows and hits (a class, or for pair losses the partner's index).
  const [lossSum, hitImg, hitTxt] = tf.tidy(() => {
    const yb = spec.predicts === "class"
      ? tf.gather(s.yTrain, iImg)
      : tf.range(0, batch.img.length, 1, "int32");
    const hits = (p: tf.Tensor) => tf.sum(tf.cast(tf.equal(p, yb), "float32"));
    return [
      tf.add(tally.lossSum, tf.mul(value, batch.img.length)),
      tf.add(tally.hitImg, hits(pImg)),
      tf.add(tally.hitTxt, hits(pTxt)),
    ];
  });
  tf.dispose([tally.lossSum, tally.hitImg, tally.hitTxt, value, iImg, iTxt, xb, tb, target]);
  tf.dispose([...kept, ...Object.values(grads)]);
  tally.lossSum = lossSum;
  tally.hitImg = hitImg;
  tally.hitTxt = hitTxt;
  tally.rows += batch.img.length;
}
