/**
 * Training DSE-S / DSE-CS / DSE-DS (and the pair losses) on in-memory data: the recipe of §3.5
 * of the paper, top to bottom. The plumbing is elsewhere: params in train_params.ts, data and
 * batches in train_data.ts, one step in train_step.ts, Adam in adam.ts, the lr schedule in
 * schedule.ts, checkpoints in checkpoint.ts, the stage kind in train_kind.ts.
 *
 * - Batches of `batch` rows: `batch/2` images and `batch/2` texts with the same labels. Each epoch
 *   visits every training image and every training text once: per class, the images and the texts
 *   are shuffled independently (`pairing: "label"`, the default) or kept as the dataset's pairs
 *   (`pairing: "pair"`), and the (image, text) couples are then shuffled across classes.
 * - Loss = 0.5·L(images) + 0.5·L(texts) + weight_decay·Σ‖K‖² over the FC kernels and W. The decay is
 *   coupled, like Keras's `kernel_regularizer=l2(weight_decay)`: it is part of the loss that Adam
 *   sees (not AdamW-style decoupled decay). BN parameters, biases and centers are not decayed.
 * - Adam (Keras defaults β1 0.9, β2 0.999, ε 1e-7), lr 1e-3; lr ×0.1 when the epoch's training
 *   accuracy has not improved by 1e-4 for `plateau_patience` epochs (Keras ReduceLROnPlateau);
 *   stop when it has not improved for `stop_patience` epochs (Keras EarlyStopping on accuracy), or
 *   at `epochs`.
 * - DSE-CS: after each step the centers move by the paper's rule using the embeddings of **both
 *   modalities** in the batch (the centers are shared by the modalities, so both pull them).
 * - A checkpoint (every variable as `.npy`, Adam moments, RNG state, epoch, history, schedule
 *   state) is written atomically into the scratch directory after every epoch; a re-run with the
 *   same scratch continues from it. On the cpu backend a resumed run is bit-identical to an
 *   uninterrupted one.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { adamStepSize } from "./adam.ts";
import {
  type CheckpointState,
  type EpochRecord,
  fingerprint,
  readCheckpoint,
  restoreVariables,
  type StopReason,
  writeCheckpoint,
} from "./checkpoint.ts";
import { registerGradients } from "../nn/gradients.ts";
import { withBlasMatmul } from "../nn/fast_kernels.ts";
import { lossSpec } from "./loss_registry.ts";
import {
  createModel,
  decayedNames,
  disposeModel,
  type DseModel,
  type ImageBackbone,
  type ImageBackboneFactory,
  namedVariables,
  trainableVariables,
} from "./model.ts";
import { Rng } from "../util/rng.ts";
import { initialSchedule, scheduleAfterEpoch } from "./schedule.ts";
import { classMeans, type DseData, embedAll, epochBatches, toTensor } from "./train_data.ts";
import { checkParams, type DseParams, resolveLambda } from "./train_params.ts";
import { createAdamMoments, EpochTally, type StepSetup, trainStep } from "./train_step.ts";

export type { EpochRecord } from "./checkpoint.ts";
export { type DseData, epochBatches, loadFeatureSet } from "./train_data.ts";
export { DEFAULT_LAMBDA, DSE_PARAMS, type DseParams, resolveLambda } from "./train_params.ts";

/** Result of {@link trainDse}. */
export interface DseResult {
  /** Test image embeddings [m, d], row-major. */
  imgEmb: Float32Array;
  /** Test text embeddings [m, d]. */
  txtEmb: Float32Array;
  /** Centers [c, d]: CS/DS the model's; S the class means of the training embeddings. */
  centers: Float32Array;
  /** Per-epoch history. */
  history: EpochRecord[];
  /** Epoch training resumed from (0 = fresh). */
  resumedFrom: number;
  /** Why training stopped. */
  stopReason: StopReason;
  /** What the end-to-end image branch was (e.g. `ResNet-50 (legacy names)`); absent in features mode. */
  backbone?: string;
  /** Named final variables (for tests). */
  weights: Record<string, Float32Array>;
}

/** Options of {@link trainDse}. */
export interface TrainOptions {
  /** Checkpoint directory (created if missing). */
  scratch: string;
  /** Cancels training between steps. */
  signal?: AbortSignal;
  /** Log sink. */
  log?: (msg: string) => void;
  /** Progress sink (epochs done, max epochs). */
  progress?: (done: number, total: number, note?: string) => void;
  /**
   * Called after each epoch's checkpoint is written. `embedTest` computes the current test-set
   * embeddings (evaluation mode), e.g. to follow mAP over epochs; it does not touch the RNG.
   */
  onEpoch?: (
    record: EpochRecord,
    tools: { embedTest: () => Promise<{ img: Float32Array; txt: Float32Array }> },
  ) => void | Promise<void>;
  /** Backbone factories for `end-to-end`. */
  backbones?: Record<string, ImageBackboneFactory>;
  /** Pretrained backbone weights path. */
  backboneWeights?: string;
  /** Backend name recorded in the checkpoint fingerprint. */
  backend?: string;
}

/**
 * Train a DSE model on in-memory data, checkpointing into `options.scratch` after every epoch and
 * resuming from a checkpoint found there. Uses the active tfjs backend; on wasm its products run
 * on the system BLAS when one loads (`stages/nn/fast_kernels.ts`).
 */
export function trainDse(
  data: DseData,
  params: DseParams,
  options: TrainOptions,
): Promise<DseResult> {
  return withBlasMatmul((matmul) => train(data, params, { ...options, matmul }));
}

async function train(
  data: DseData,
  params: DseParams,
  options: TrainOptions & { matmul: string },
): Promise<DseResult> {
  registerGradients();
  const matmul = options.matmul;
  checkParams(params, data);
  const log = options.log ?? (() => {});
  const lambda = resolveLambda(params);
  await Deno.mkdir(options.scratch, { recursive: true });

  // The model: one RNG (seeded) initialises it and then draws every batch.
  const rng = new Rng(params.seed);
  const backbone = await buildBackbone(data, params, { ...options, rng, log });
  const spec = lossSpec(params.loss);
  const model = createModel(rng, {
    loss: params.loss,
    temperature: params.temperature,
    imgDim: data.imgTrain.shape[1],
    txtDim: data.txtTrain.shape[1],
    dim: params.dim,
    numClasses: data.numClasses,
    backbone,
  });
  // State the loss owns (malali's centers, codewords, margin; xu's text scorer), checkpointed.
  if (spec.init) {
    model.extra = spec.init(rng, {
      dim: params.dim,
      numClasses: data.numClasses,
      txtTrain: data.txtTrain,
      yTrain: data.yTrain,
      seed: params.seed,
      log,
    });
  }
  const vars = namedVariables(model);
  const trainable = trainableVariables(model);
  const adam = createAdamMoments(trainable);

  // Where training stands: fresh, or as the last checkpoint of the same run left it.
  const backendName = options.backend ?? tf.getBackend();
  // The wasm product's provider changes rounding: a checkpoint resumes only with the same one.
  const fp = fingerprint(params, data, backendName === "wasm" ? `wasm+${matmul}` : backendName);
  let state: CheckpointState = {
    version: 1,
    fingerprint: fp,
    epoch: 0,
    step: 0,
    rng: rng.getState(),
    schedule: initialSchedule(params.lr),
    history: [],
    done: false,
    variables: Object.keys(vars),
    adam: Object.keys(adam),
  };
  const ck = await readCheckpoint(options.scratch);
  if (ck && ck.state.fingerprint === fp) {
    await restoreVariables(ck.path, vars);
    await restoreVariables(ck.path, adam);
    rng.setState(ck.state.rng);
    state = { ...state, ...ck.state };
    log(
      `resumed from the checkpoint after epoch ${state.epoch}${
        state.done ? " (training had finished)" : ""
      }`,
    );
  } else if (ck) {
    log("ignoring a checkpoint written with other params, data shapes or backend");
  }
  const resumedFrom = state.epoch;

  // Feature matrices live on the device; raw image sets (rank 4) stay on the host and each batch
  // is gathered there, so a 224×224 dataset never has to fit in device memory at once.
  const setup: StepSetup = {
    model,
    trainable,
    adam,
    decay: decayedNames(model).filter((k) => k in trainable),
    spec,
    hyper: {
      lambda,
      margin: params.margin,
      alpha: params.alpha,
      weightDecay: params.weight_decay,
      epochs: params.epochs,
    },
    xImg: data.imgTrain.shape.length > 2 ? undefined : toTensor(data.imgTrain),
    imgHost: data.imgTrain,
    xTxt: toTensor(data.txtTrain) as tf.Tensor2D,
    yTrain: tf.tensor1d(data.yTrain, "int32"),
    numClasses: data.numClasses,
    rng,
  };
  const pairing = spec.batching === "paired" ? "pair" : params.pairing;

  try {
    while (!state.done && state.epoch < params.epochs) {
      const t0 = performance.now();
      const batches = epochBatches(data.yTrain, {
        half: params.batch / 2,
        pairing,
        rng,
        numClasses: data.numClasses,
      });
      const tally = new EpochTally();
      for (const batch of batches) {
        if (options.signal?.aborted) {
          tally.dispose();
          throw options.signal.reason ?? new Error("train-dse: aborted");
        }
        state.step++;
        const stepSize = adamStepSize(state.schedule.lr, state.step);
        trainStep(setup, batch, { stepSize, tally, epoch: state.epoch });
        // Keep the tape's async work bounded on GPU backends, and let the signal be seen.
        if (state.step % 16 === 0) await tally.lossSum.data();
      }
      const sums = await tally.read();
      state.epoch++;
      const rec: EpochRecord = {
        epoch: state.epoch,
        loss: sums.loss / sums.rows,
        acc: (sums.hitImg + sums.hitTxt) / (2 * sums.rows),
        acc_img: sums.hitImg / sums.rows,
        acc_txt: sums.hitTxt / sums.rows,
        lr: state.schedule.lr,
        seconds: (performance.now() - t0) / 1000,
      };
      state.history.push(rec);
      if (!Number.isFinite(rec.loss)) {
        throw new Error(
          `train-dse: loss is ${rec.loss} at epoch ${state.epoch}; lower lr or lambda, or set normalize`,
        );
      }

      // The schedule on training accuracy: lr ×0.1 on a plateau, early stop after a longer one.
      const next = scheduleAfterEpoch(state.schedule, rec.acc, {
        plateauPatience: params.plateau_patience,
        stopPatience: params.stop_patience,
      });
      state.schedule = next.state;
      if (next.lrCut) {
        log(
          `epoch ${state.epoch}: training accuracy plateaued, lr → ${
            state.schedule.lr.toExponential(1)
          }`,
        );
      }
      if (next.stop) {
        state.done = true;
        state.stopReason = "early-stop";
      }
      if (state.epoch >= params.epochs) state.done = true;
      log(
        `epoch ${state.epoch}: loss ${rec.loss.toFixed(4)} acc ${rec.acc.toFixed(4)} ` +
          `(img ${rec.acc_img.toFixed(3)}, txt ${rec.acc_txt.toFixed(3)}) lr ${rec.lr} ` +
          `${rec.seconds.toFixed(2)}s`,
      );

      await writeCheckpoint(options.scratch, { ...state, rng: rng.getState() }, { vars, adam });
      options.progress?.(state.epoch, params.epochs, `acc ${rec.acc.toFixed(3)}`);
      await options.onEpoch?.(rec, {
        embedTest: async () => ({
          img: await embedAll(model, data.imgTest, "img", rng),
          txt: await embedAll(model, data.txtTest, "txt", rng),
        }),
      });
    }

    // The result: test embeddings, and the centers (S: class means of the training embeddings).
    const weights: Record<string, Float32Array> = {};
    const result: DseResult = {
      imgEmb: await embedAll(model, data.imgTest, "img", rng),
      txtEmb: await embedAll(model, data.txtTest, "txt", rng),
      centers: await finalCenters(model, data, rng),
      history: state.history,
      resumedFrom,
      stopReason: state.stopReason ?? "max-epochs",
      weights,
      backbone: backbone?.description,
    };
    for (const [k, v] of Object.entries(vars)) weights[k] = await v.data() as Float32Array;
    return result;
  } finally {
    tf.dispose([...(setup.xImg ? [setup.xImg] : []), setup.xTxt, setup.yTrain]);
    tf.dispose(Object.values(adam));
    disposeModel(model);
  }
}

/** The end-to-end image backbone of `params.backbone`, or undefined in `features` mode. */
async function buildBackbone(
  data: DseData,
  params: DseParams,
  options: TrainOptions & { rng: Rng; log: (msg: string) => void },
): Promise<ImageBackbone | undefined> {
  if (params.image_branch !== "end-to-end") return undefined;
  const factory = options.backbones?.[params.backbone];
  if (!factory) {
    const known = Object.keys(options.backbones ?? {});
    throw new Error(
      `train-dse: image_branch end-to-end needs backbone "${params.backbone}", but ` +
        (known.length
          ? `only ${known.join(", ")} are registered`
          : "no backbone is registered (build the kind with createTrainDseKind({ backbones }))"),
    );
  }
  const backbone = await factory({
    inputShape: data.imgTrain.shape.slice(1),
    rng: options.rng,
    weights: options.backboneWeights,
  });
  if (backbone.description) options.log(`backbone ${params.backbone}: ${backbone.description}`);
  return backbone;
}

/** The model's centers (CS/DS), or the class means of both modalities' training embeddings. */
async function finalCenters(model: DseModel, data: DseData, rng: Rng): Promise<Float32Array> {
  if (model.centers) return await model.centers.data() as Float32Array;
  const trImg = await embedAll(model, data.imgTrain, "img", rng);
  const trTxt = await embedAll(model, data.txtTrain, "txt", rng);
  return classMeans([trImg, trTxt], data.yTrain, data.numClasses, model.dim);
}
