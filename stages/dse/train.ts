/**
 * Training DSE-S / DSE-CS / DSE-DS (the `train-dse` stage kind), following §3.5 of the paper.
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
import type { Params, StageContext, StageKind } from "../../pipeline/types.ts";
import { readNpy, writeLabels, writeNpy } from "../tensor_io/npy.ts";
import { resolveBackendName, selectBackend } from "./backend.ts";
import { registerGradients } from "./gradients.ts";
import { oneHot } from "./losses.ts";
import { LOSS_NAMES, lossSpec } from "./loss_registry.ts";
import { VSE_MARGIN } from "./loss_vse.ts";
import { CLIP_TEMPERATURE } from "./loss_infonce.ts";
import {
  type BatchStats,
  createModel,
  decayedNames,
  disposeModel,
  type DseModel,
  embedImages,
  embedTexts,
  type Head,
  type ImageBackboneFactory,
  type LossKind,
  makeVariable,
  namedVariables,
  trainableVariables,
  updateRunningStats,
} from "./model.ts";
import { Rng, type RngState } from "./rng.ts";

/** Resolved parameters of `train-dse`. */
export interface DseParams extends Params {
  /** Loss, by its name in the registry (`loss_registry.ts`). */
  loss: LossKind;
  /** Hinge margin α (vse0, vsepp). */
  margin: number;
  /** Initial temperature τ₀ (infonce; learned from there). */
  temperature: number;
  /** λ (center-loss weight for CS, pull weight for DS); null = the paper's default for the loss. */
  lambda: number | string | null;
  /** Center update rate α (CS). */
  alpha: number;
  /** Embedding width d. */
  dim: number;
  /** Maximum epochs. */
  epochs: number;
  /** Batch size (half images, half texts). */
  batch: number;
  /** Adam learning rate. */
  lr: number;
  /** Coupled L2 weight decay on kernels. */
  weight_decay: number;
  /** Epochs without training-accuracy gain before lr ×0.1. */
  plateau_patience: number;
  /** Epochs without training-accuracy gain before stopping. */
  stop_patience: number;
  /** Seed of initialisation and sampling. */
  seed: number;
  /** `features` or `end-to-end`. */
  image_branch: "features" | "end-to-end";
  /** Backbone name for `end-to-end`. */
  backbone: string;
  /** How texts are matched to images in a batch (class-balanced losses; paired losses always pair). */
  pairing: "label" | "pair";
  /** Input normalisation (train statistics). */
  normalize: "none" | "zscore" | "l2";
}

/** The paper's default λ per loss. */
export const DEFAULT_LAMBDA: Record<LossKind, number> = {
  s: 0,
  cs: 0.01,
  ds: 0.1,
  vse0: 0,
  vsepp: 0,
  infonce: 0,
  malali: 0.01,
  xu: 0.35,
};

/**
 * The λ a run uses: the `lambda` param (a number, or a numeric string such as "1e-4" from a
 * matrix), or the paper's default for the loss when it is null.
 */
export function resolveLambda(params: { loss: LossKind; lambda: unknown }): number {
  const v = params.lambda;
  if (v === null || v === undefined || v === "") return DEFAULT_LAMBDA[params.loss];
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new Error(`train-dse: lambda must be a number ≥ 0 or null (got ${JSON.stringify(v)})`);
  }
  return n;
}

/** One epoch's record in `history.json`. */
export interface EpochRecord {
  /** 1-based epoch. */
  epoch: number;
  /** Mean total loss over the epoch's steps (data loss + L2 term). */
  loss: number;
  /** Training accuracy over both modalities. */
  acc: number;
  /** Training accuracy of the image rows. */
  acc_img: number;
  /** Training accuracy of the text rows. */
  acc_txt: number;
  /** Learning rate used in the epoch. */
  lr: number;
  /** Wall seconds of the epoch (in the checkpoint and the manifest, not in history.json). */
  seconds: number;
}

/** In-memory training data (float32 rows). */
export interface DseData {
  /** Training images: features [n, p] or raw images [n, ...]. */
  imgTrain: { data: Float32Array; shape: number[] };
  /** Test images. */
  imgTest: { data: Float32Array; shape: number[] };
  /** Training texts [n, q]. */
  txtTrain: { data: Float32Array; shape: number[] };
  /** Test texts [m, q]. */
  txtTest: { data: Float32Array; shape: number[] };
  /** Training labels. */
  yTrain: Int32Array;
  /** Test labels. */
  yTest: Int32Array;
  /** Number of classes. */
  numClasses: number;
}

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
  stopReason: "early-stop" | "max-epochs";
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

interface Schedule {
  lr: number;
  plateauBest: number;
  plateauWait: number;
  stopBest: number;
  stopWait: number;
}

interface CkptState {
  version: 1;
  fingerprint: string;
  epoch: number;
  step: number;
  rng: RngState;
  schedule: Schedule;
  history: EpochRecord[];
  done: boolean;
  stopReason?: "early-stop" | "max-epochs";
  variables: string[];
  adam: string[];
}

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
const PLATEAU_MIN_DELTA = 1e-4;

function fingerprint(params: DseParams, data: DseData, backend: string): string {
  return JSON.stringify({
    params,
    backend,
    shapes: [data.imgTrain.shape, data.txtTrain.shape, data.imgTest.shape, data.txtTest.shape],
  });
}

function checkParams(p: DseParams, data: DseData): void {
  const bad = (m: string) => {
    throw new Error(`train-dse: ${m}`);
  };
  if (!LOSS_NAMES.includes(p.loss)) {
    bad(`loss must be one of ${LOSS_NAMES.join(", ")} (got ${p.loss})`);
  }
  const spec = lossSpec(p.loss);
  if (spec.batching === "paired" && p.batch < 4) {
    bad(`loss ${p.loss} needs in-batch negatives: batch must be ≥ 4 (2 pairs); got ${p.batch}`);
  }
  if (!(p.batch >= 2 && p.batch % 2 === 0)) {
    bad(`batch must be an even number ≥ 2 (half images, half texts); got ${p.batch}`);
  }
  if (!(p.dim >= 1)) bad(`dim must be ≥ 1; got ${p.dim}`);
  if (!(p.epochs >= 1)) bad(`epochs must be ≥ 1; got ${p.epochs}`);
  const n = data.yTrain.length;
  if (data.imgTrain.shape[0] !== n || data.txtTrain.shape[0] !== n) {
    bad(
      `img_train (${data.imgTrain.shape[0]}), txt_train (${
        data.txtTrain.shape[0]
      }) and y_train (${n}) must have the same number of rows (row i is pair i)`,
    );
  }
  if (data.imgTest.shape[0] !== data.yTest.length || data.txtTest.shape[0] !== data.yTest.length) {
    bad("img_test, txt_test and y_test must have the same number of rows");
  }
  for (const y of [data.yTrain, data.yTest]) {
    for (const v of y) {
      if (!(v >= 0 && v < data.numClasses)) {
        bad(`label ${v} is outside 0..${data.numClasses - 1}: labels must be 0-based class ids`);
      }
    }
  }
  if (p.image_branch === "features" && data.imgTrain.shape.length !== 2) {
    bad(
      `image_branch "features" needs 2-D image features; img_train has shape [${data.imgTrain.shape}] ` +
        `(use image_branch: end-to-end for raw images)`,
    );
  }
}

/** Per-column statistics of the training rows, used for `normalize`. */
function normalizeInPlace(
  train: { data: Float32Array; shape: number[] },
  tests: { data: Float32Array; shape: number[] }[],
  mode: DseParams["normalize"],
): void {
  if (mode === "none") return;
  const [n, p] = train.shape;
  if (mode === "l2") {
    for (const m of [train, ...tests]) {
      const rows = m.shape[0];
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let k = 0; k < p; k++) s += m.data[i * p + k] ** 2;
        const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
        for (let k = 0; k < p; k++) m.data[i * p + k] *= inv;
      }
    }
    return;
  }
  const mean = new Float64Array(p);
  const sd = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let k = 0; k < p; k++) mean[k] += train.data[i * p + k];
  for (let k = 0; k < p; k++) mean[k] /= n;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < p; k++) sd[k] += (train.data[i * p + k] - mean[k]) ** 2;
  }
  for (let k = 0; k < p; k++) sd[k] = Math.sqrt(sd[k] / Math.max(n - 1, 1)) || 1;
  for (const m of [train, ...tests]) {
    const rows = m.shape[0];
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < p; k++) m.data[i * p + k] = (m.data[i * p + k] - mean[k]) / sd[k];
    }
  }
}

/** The (image, text) index couples of one epoch, batched. */
export function epochBatches(
  y: Int32Array,
  options: { half: number; pairing: "label" | "pair"; rng: Rng; numClasses: number },
): { img: Int32Array; txt: Int32Array }[] {
  const { half, pairing, rng, numClasses } = options;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  y.forEach((c, i) => byClass[c].push(i));
  const couples: [number, number][] = [];
  for (const rows of byClass) {
    const imgs = rows.slice();
    rng.shuffle(imgs);
    const txts = pairing === "pair" ? imgs : rows.slice();
    if (pairing === "label") rng.shuffle(txts);
    for (let k = 0; k < imgs.length; k++) couples.push([imgs[k], txts[k]]);
  }
  rng.shuffle(couples);
  const out: { img: Int32Array; txt: Int32Array }[] = [];
  for (let s = 0; s < couples.length; s += half) {
    const part = couples.slice(s, s + half);
    // A final batch of one row would give BN a zero variance: drop it (it is reshuffled next epoch).
    if (part.length < 2 && out.length > 0) break;
    out.push({ img: Int32Array.from(part, (c) => c[0]), txt: Int32Array.from(part, (c) => c[1]) });
  }
  return out;
}

async function writeCheckpoint(
  dir: string,
  state: CkptState,
  vars: Record<string, tf.Variable>,
  adam: Record<string, tf.Variable>,
): Promise<void> {
  const tmp = `${dir}/ckpt.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  for (const [name, v] of [...Object.entries(vars), ...Object.entries(adam)]) {
    const data = await v.data() as Float32Array;
    await writeNpy(`${tmp}/${name}.npy`, data, v.shape);
  }
  await Deno.writeTextFile(`${tmp}/state.json`, JSON.stringify(state));
  const cur = `${dir}/ckpt`;
  const old = `${dir}/ckpt.old`;
  await Deno.remove(old, { recursive: true }).catch(() => {});
  const hasCur = await Deno.stat(cur).then(() => true, () => false);
  if (hasCur) await Deno.rename(cur, old);
  await Deno.rename(tmp, cur);
  await Deno.remove(old, { recursive: true }).catch(() => {});
}

async function readCheckpoint(dir: string): Promise<{ path: string; state: CkptState } | null> {
  // `ckpt` is the latest complete checkpoint; `ckpt.old` exists only if a kill hit between renames.
  for (const name of ["ckpt", "ckpt.old"]) {
    const path = `${dir}/${name}`;
    try {
      const state = JSON.parse(await Deno.readTextFile(`${path}/state.json`)) as CkptState;
      return { path, state };
    } catch {
      // missing or incomplete: try the next
    }
  }
  return null;
}

async function restoreVariables(path: string, vars: Record<string, tf.Variable>): Promise<void> {
  for (const [name, v] of Object.entries(vars)) {
    const a = await readNpy(`${path}/${name}.npy`);
    if (a.shape.join(",") !== v.shape.join(",")) {
      throw new Error(`checkpoint ${path}: ${name} has shape [${a.shape}], expected [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(a.data as Float32Array, v.shape, "float32")));
  }
}

function toTensor(m: { data: Float32Array; shape: number[] }): tf.Tensor {
  return tf.tensor(m.data, m.shape, "float32");
}

/** Rows of a host array (rank 2 features or rank 4 images), as one float32 tensor. */
function hostRows(
  m: { data: Float32Array; shape: number[] },
  rows: ArrayLike<number>,
): tf.Tensor {
  const width = m.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out.set(m.data.subarray(r * width, (r + 1) * width), i * width);
  }
  return tf.tensor(out, [rows.length, ...m.shape.slice(1)], "float32");
}

/**
 * Embeds every row of a host array in chunks. Inputs stay on the host: only one chunk is on the
 * device at a time, which keeps end-to-end image sets (n × 224 × 224 × 3) and their backbone
 * activations within device memory.
 */
async function embedAll(
  model: DseModel,
  x: { data: Float32Array; shape: number[] },
  side: "img" | "txt",
  rng: Rng,
): Promise<Float32Array> {
  const n = x.shape[0];
  const chunk = x.shape.length > 2 ? 32 : 256;
  const out = new Float32Array(n * model.dim);
  for (let s = 0; s < n; s += chunk) {
    const idx = Array.from({ length: Math.min(chunk, n - s) }, (_, i) => s + i);
    const e = tf.tidy(() => {
      const part = hostRows(x, idx);
      return side === "img"
        ? embedImages(model, part, { training: false, rng }).y
        : embedTexts(model, part as tf.Tensor2D, { training: false }).y;
    });
    out.set(await e.data() as Float32Array, s * model.dim);
    e.dispose();
  }
  return out;
}

function classMeans(
  emb: Float32Array[],
  y: Int32Array,
  numClasses: number,
  dim: number,
): Float32Array {
  const sums = new Float64Array(numClasses * dim);
  const counts = new Float64Array(numClasses);
  for (const e of emb) {
    y.forEach((c, i) => {
      counts[c]++;
      for (let k = 0; k < dim; k++) sums[c * dim + k] += e[i * dim + k];
    });
  }
  const out = new Float32Array(numClasses * dim);
  for (let c = 0; c < numClasses; c++) {
    for (let k = 0; k < dim; k++) out[c * dim + k] = counts[c] ? sums[c * dim + k] / counts[c] : 0;
  }
  return out;
}

/**
 * Train a DSE model on in-memory data, checkpointing into `options.scratch` after every epoch and
 * resuming from a checkpoint found there. Uses the active tfjs backend.
 */
export async function trainDse(
  data: DseData,
  params: DseParams,
  options: TrainOptions,
): Promise<DseResult> {
  registerGradients();
  checkParams(params, data);
  const log = options.log ?? (() => {});
  const lambda = resolveLambda(params);
  const fp = fingerprint(params, data, options.backend ?? tf.getBackend());
  await Deno.mkdir(options.scratch, { recursive: true });

  const rng = new Rng(params.seed);
  let backbone;
  if (params.image_branch === "end-to-end") {
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
    backbone = await factory({
      inputShape: data.imgTrain.shape.slice(1),
      rng,
      weights: options.backboneWeights,
    });
    if (backbone.description) log(`backbone ${params.backbone}: ${backbone.description}`);
  }
  const spec = lossSpec(params.loss);
  const pairing = spec.batching === "paired" ? "pair" : params.pairing;
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
  const adam: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(trainable)) {
    adam[`adam_m.${k}`] = makeVariable(() => tf.zerosLike(v), false);
    adam[`adam_v.${k}`] = makeVariable(() => tf.zerosLike(v), false);
  }
  const decay = decayedNames(model).filter((k) => k in trainable);

  let schedule: Schedule = {
    lr: params.lr,
    plateauBest: -Infinity,
    plateauWait: 0,
    stopBest: -Infinity,
    stopWait: 0,
  };
  let history: EpochRecord[] = [];
  let epoch = 0;
  let step = 0;
  let done = false;
  let stopReason: "early-stop" | "max-epochs" = "max-epochs";
  let resumedFrom = 0;

  const ck = await readCheckpoint(options.scratch);
  if (ck && ck.state.fingerprint === fp) {
    await restoreVariables(ck.path, vars);
    await restoreVariables(ck.path, adam);
    rng.setState(ck.state.rng);
    schedule = ck.state.schedule;
    history = ck.state.history;
    epoch = ck.state.epoch;
    step = ck.state.step;
    done = ck.state.done;
    stopReason = ck.state.stopReason ?? "max-epochs";
    resumedFrom = epoch;
    log(
      `resumed from the checkpoint after epoch ${epoch}${done ? " (training had finished)" : ""}`,
    );
  } else if (ck) {
    log("ignoring a checkpoint written with other params, data shapes or backend");
  }

  // Feature matrices live on the device; raw image sets (rank 4) stay on the host and each batch
  // is gathered there, so a 224×224 dataset never has to fit in device memory at once.
  const imgOnHost = data.imgTrain.shape.length > 2;
  const xImg = imgOnHost ? undefined : toTensor(data.imgTrain);
  const xTxt = toTensor(data.txtTrain) as tf.Tensor2D;
  const yTrain = tf.tensor1d(data.yTrain, "int32");
  const half = params.batch / 2;

  try {
    while (!done && epoch < params.epochs) {
      const t0 = performance.now();
      const batches = epochBatches(data.yTrain, {
        half,
        pairing,
        rng,
        numClasses: data.numClasses,
      });
      let lossSum: tf.Tensor = tf.scalar(0);
      let hitImg: tf.Tensor = tf.scalar(0);
      let hitTxt: tf.Tensor = tf.scalar(0);
      let rows = 0;
      for (const bt of batches) {
        if (options.signal?.aborted) {
          tf.dispose([lossSum, hitImg, hitTxt]);
          throw options.signal.reason ?? new Error("train-dse: aborted");
        }
        step++;
        const iImg = tf.tensor1d(bt.img, "int32");
        const iTxt = tf.tensor1d(bt.txt, "int32");
        const xb = xImg ? tf.gather(xImg, iImg) : hostRows(data.imgTrain, bt.img);
        const tb = tf.gather(xTxt, iTxt) as tf.Tensor2D;
        const target = tf.tidy(() =>
          oneHot(tf.gather(yTrain, iImg) as tf.Tensor1D, data.numClasses)
        );
        const lossOptions = {
          lambda,
          margin: params.margin,
          alpha: params.alpha,
          epoch,
          epochs: params.epochs,
        };
        let kept: tf.Tensor[] = [];
        let eImg!: tf.Tensor2D, eTxt!: tf.Tensor2D, pImg!: tf.Tensor, pTxt!: tf.Tensor;
        let sImg: BatchStats | undefined, sTxt: BatchStats | undefined;
        const f = () => {
          const a = embedImages(model, xb, { training: true, rng });
          const b = embedTexts(model, tb, { training: true });
          sImg = a.stats;
          sTxt = b.stats;
          const out = spec.compute(model, { img: a.y, txt: b.y, target, txtIn: tb }, lossOptions);
          let total = out.loss;
          if (params.weight_decay > 0 && decay.length > 0) {
            const l2 = tf.addN(decay.map((k) => tf.sum(tf.square(trainable[k]))));
            total = tf.add(total, tf.mul(params.weight_decay, l2)) as tf.Scalar;
          }
          eImg = tf.keep(a.y);
          eTxt = tf.keep(b.y);
          pImg = tf.keep(tf.argMax(out.scoresImg, 1));
          pTxt = tf.keep(tf.argMax(out.scoresTxt, 1));
          kept = [eImg, eTxt, pImg, pTxt];
          return total;
        };
        const { value, grads } = tf.variableGrads(f, Object.values(trainable));
        // Adam step (Keras form), then the non-gradient updates.
        const t = step;
        const lrT = schedule.lr * Math.sqrt(1 - ADAM.beta2 ** t) / (1 - ADAM.beta1 ** t);
        tf.tidy(() => {
          for (const [k, v] of Object.entries(trainable)) {
            const g = grads[v.name];
            const m = adam[`adam_m.${k}`];
            const s = adam[`adam_v.${k}`];
            m.assign(tf.add(tf.mul(m, ADAM.beta1), tf.mul(g, 1 - ADAM.beta1)));
            s.assign(tf.add(tf.mul(s, ADAM.beta2), tf.mul(tf.square(g), 1 - ADAM.beta2)));
            v.assign(tf.sub(v, tf.mul(lrT, tf.div(m, tf.add(tf.sqrt(s), ADAM.epsilon)))));
          }
        });
        const pairs: [BatchStats | undefined, Head][] = [[sImg, model.img], [sTxt, model.txt]];
        for (const [stats, head] of pairs) {
          if (stats) {
            updateRunningStats(head, stats);
            tf.dispose([stats.mean, stats.variance]);
          }
        }
        // The loss's non-gradient updates (DSE-CS's centers; malali's centers and margin).
        spec.afterStep?.(model, { img: eImg, txt: eTxt, target }, lossOptions);
        const [newLoss, newHitI, newHitT] = tf.tidy(() => {
          // What a prediction should be: the class, or (pair losses) the partner's batch index.
          const yb = spec.predicts === "class"
            ? tf.gather(yTrain, iImg)
            : tf.range(0, bt.img.length, 1, "int32");
          const hits = (p: tf.Tensor) => tf.sum(tf.cast(tf.equal(p, yb), "float32"));
          return [
            tf.add(lossSum, tf.mul(value, bt.img.length)),
            tf.add(hitImg, hits(pImg)),
            tf.add(hitTxt, hits(pTxt)),
          ];
        });
        tf.dispose([lossSum, hitImg, hitTxt, value, iImg, iTxt, xb, tb, target, ...kept]);
        tf.dispose(Object.values(grads));
        lossSum = newLoss;
        hitImg = newHitI;
        hitTxt = newHitT;
        rows += bt.img.length;
        // Keep the tape's async work bounded on GPU backends, and let the signal be seen.
        if (step % 16 === 0) await lossSum.data();
      }
      const [ls, hi, ht] = await Promise.all([lossSum.data(), hitImg.data(), hitTxt.data()]);
      tf.dispose([lossSum, hitImg, hitTxt]);
      epoch++;
      const rec: EpochRecord = {
        epoch,
        loss: ls[0] / rows,
        acc: (hi[0] + ht[0]) / (2 * rows),
        acc_img: hi[0] / rows,
        acc_txt: ht[0] / rows,
        lr: schedule.lr,
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(rec);
      if (!Number.isFinite(rec.loss)) {
        throw new Error(
          `train-dse: loss is ${rec.loss} at epoch ${epoch}; lower lr or lambda, or set normalize`,
        );
      }
      // Schedule (Keras semantics): plateau on accuracy with min_delta 1e-4, early stop with 0.
      if (rec.acc > schedule.plateauBest + PLATEAU_MIN_DELTA) {
        schedule.plateauBest = rec.acc;
        schedule.plateauWait = 0;
      } else if (++schedule.plateauWait >= params.plateau_patience) {
        schedule.lr *= 0.1;
        schedule.plateauWait = 0;
        log(`epoch ${epoch}: training accuracy plateaued, lr → ${schedule.lr.toExponential(1)}`);
      }
      if (rec.acc > schedule.stopBest) {
        schedule.stopBest = rec.acc;
        schedule.stopWait = 0;
      } else if (++schedule.stopWait >= params.stop_patience) {
        done = true;
        stopReason = "early-stop";
      }
      if (epoch >= params.epochs) done = true;
      log(
        `epoch ${epoch}: loss ${rec.loss.toFixed(4)} acc ${rec.acc.toFixed(4)} ` +
          `(img ${rec.acc_img.toFixed(3)}, txt ${rec.acc_txt.toFixed(3)}) lr ${rec.lr} ` +
          `${rec.seconds.toFixed(2)}s`,
      );
      await writeCheckpoint(
        options.scratch,
        {
          version: 1,
          fingerprint: fp,
          epoch,
          step,
          rng: rng.getState(),
          schedule,
          history,
          done,
          stopReason,
          variables: Object.keys(vars),
          adam: Object.keys(adam),
        },
        vars,
        adam,
      );
      options.progress?.(epoch, params.epochs, `acc ${rec.acc.toFixed(3)}`);
      await options.onEpoch?.(rec, {
        embedTest: async () => {
          return {
            img: await embedAll(model, data.imgTest, "img", rng),
            txt: await embedAll(model, data.txtTest, "txt", rng),
          };
        },
      });
    }
    const imgEmb = await embedAll(model, data.imgTest, "img", rng);
    const txtEmb = await embedAll(model, data.txtTest, "txt", rng);
    let centers: Float32Array;
    if (model.centers) centers = await model.centers.data() as Float32Array;
    else {
      const trImg = await embedAll(model, data.imgTrain, "img", rng);
      const trTxt = await embedAll(model, data.txtTrain, "txt", rng);
      centers = classMeans([trImg, trTxt], data.yTrain, data.numClasses, params.dim);
    }
    const weights: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(vars)) weights[k] = await v.data() as Float32Array;
    return {
      imgEmb,
      txtEmb,
      centers,
      history,
      resumedFrom,
      stopReason,
      weights,
      backbone: backbone?.description,
    };
  } finally {
    tf.dispose([...(xImg ? [xImg] : []), xTxt, yTrain, ...Object.values(adam)]);
    disposeModel(model);
  }
}

// ---------------------------------------------------------------------------------------------
// The stage kind

async function readF32(path: string): Promise<{ data: Float32Array; shape: number[] }> {
  const a = await readNpy(path);
  const data = a.data instanceof Float32Array
    ? a.data
    : Float32Array.from(a.data as ArrayLike<number>);
  return { data, shape: a.shape };
}

/** Load a Feature-set artifact directory (docs/architecture.md) into {@link DseData}. */
export async function loadFeatureSet(
  dir: string,
): Promise<DseData & { meta: Record<string, unknown> }> {
  const need = [
    "img_train.npy",
    "img_test.npy",
    "txt_train.npy",
    "txt_test.npy",
    "y_train.npy",
    "y_test.npy",
  ];
  for (const f of need) {
    try {
      await Deno.stat(`${dir}/${f}`);
    } catch {
      throw new Error(
        `train-dse: input data (${dir}) lacks ${f}; give a Feature-set artifact (img/txt/y _train/_test .npy)`,
      );
    }
  }
  let meta: Record<string, unknown> = {};
  try {
    meta = JSON.parse(await Deno.readTextFile(`${dir}/dataset.json`));
  } catch {
    // optional
  }
  const yTrain = Int32Array.from((await readNpy(`${dir}/y_train.npy`)).data as ArrayLike<number>);
  const yTest = Int32Array.from((await readNpy(`${dir}/y_test.npy`)).data as ArrayLike<number>);
  const classes = Array.isArray(meta.classes) ? meta.classes.length : 0;
  const numClasses = Math.max(classes, ...yTrain, ...yTest) + (classes ? 0 : 1);
  return {
    imgTrain: await readF32(`${dir}/img_train.npy`),
    imgTest: await readF32(`${dir}/img_test.npy`),
    txtTrain: await readF32(`${dir}/txt_train.npy`),
    txtTest: await readF32(`${dir}/txt_test.npy`),
    yTrain,
    yTest,
    numClasses: classes || numClasses,
    meta,
  };
}

/** Declared params of `train-dse` (defaults = the paper's recipe). */
export const DSE_PARAMS = {
  loss: {
    type: "string",
    enum: ["s", "cs", "ds", "vse0", "vsepp", "infonce", "malali", "xu"],
    doc:
      "loss (stages/dse/loss_registry.ts): DSE s/cs/ds, vse0, vsepp, infonce, malali or xu (the last two our reading of their abstracts)",
  },
  margin: {
    type: "number",
    default: VSE_MARGIN,
    doc: "margin: hinge α (vse0, vsepp); m of the global loss (xu, ours 0.8)",
  },
  temperature: {
    type: "number",
    default: CLIP_TEMPERATURE,
    doc: "initial temperature τ₀ of infonce (then learned)",
  },
  lambda: {
    type: "any",
    default: null,
    doc:
      "λ: center-loss weight (cs, paper 0.01; malali 0.01) / pull weight (ds, paper 0.1) / mean-gap weight (xu 0.35); null = default",
  },
  alpha: { type: "number", default: 0.5, doc: "center update rate α (cs, malali)" },
  dim: { type: "integer", default: 2048, doc: "embedding width d" },
  epochs: { type: "integer", default: 400, doc: "maximum epochs" },
  batch: {
    type: "integer",
    default: 32,
    doc: "batch size: half images, half texts (same labels, or pairs for pair losses)",
  },
  lr: { type: "number", default: 1e-3, doc: "Adam learning rate" },
  weight_decay: {
    type: "number",
    default: 1e-3,
    doc: "coupled L2 (Keras kernel_regularizer) on FC kernels and W",
  },
  plateau_patience: {
    type: "integer",
    default: 10,
    doc: "epochs of flat train acc before lr ×0.1",
  },
  stop_patience: { type: "integer", default: 15, doc: "epochs of flat train acc before stopping" },
  seed: { type: "integer", default: 0, doc: "seed of init and batch sampling (recorded)" },
  image_branch: {
    type: "string",
    enum: ["features", "end-to-end"],
    default: "features",
    doc: "features: FC head on precomputed features; end-to-end: a backbone before the head",
  },
  backbone: { type: "string", default: "resnet50", doc: "backbone for end-to-end" },
  pairing: {
    type: "string",
    enum: ["label", "pair"],
    default: "label",
    doc: "texts in a batch: random same-label texts (label) or the images' own pairs (pair)",
  },
  normalize: {
    type: "string",
    enum: ["none", "zscore", "l2"],
    default: "none",
    doc: "input normalisation with train statistics",
  },
} as const;

/**
 * Build the `train-dse` kind. `backbones` plugs end-to-end image modules in (e.g.
 * `{ resnet50: resnet50Backbone }`); the default kind has none and supports `features` only.
 */
export function createTrainDseKind(
  options: {
    backbones?: Record<string, ImageBackboneFactory>;
    /**
     * `import.meta.url` of the module that builds the kind with its backbones (default this one),
     * so that the backbones' code is part of the cache key and a worker finds the kind there.
     */
    module?: string;
  } = {},
): StageKind {
  return {
    name: "train-dse",
    description:
      "Train DSE-S/CS/DS (Kang et al. 2017) or a pair loss (VSE0, VSE++, InfoNCE, Malali & Keller, Xu et al.) on a feature set; writes test embeddings",
    module: options.module ?? import.meta.url,
    inputs: {
      data: "a Feature set (features mode) or image tensors (end-to-end mode)",
      backbone: "end-to-end: the backbone weights (a download stage's `files` output)",
    },
    params: DSE_PARAMS as unknown as StageKind["params"],
    outputs: ["img.npy", "txt.npy", "y.npy", "embedding.json", "centers.npy", "history.json"],
    environment: async (_params, opts) => ({ backend: await resolveBackendName(opts.backend) }),
    run: async (ctx: StageContext) => {
      const p = ctx.params as DseParams;
      if (!ctx.inputs.data) {
        throw new Error(
          "train-dse: needs an input `data` (a Feature-set artifact, e.g. wiki-data)",
        );
      }
      const info = await selectBackend(ctx.env.backend ?? ctx.options.backend, {
        log: ctx.log,
        threads: ctx.options.threads ? Number(ctx.options.threads) : undefined,
      });
      ctx.provenance.backend = info.name;
      ctx.provenance.tfjs = info.tfjsVersion;
      ctx.provenance.backend_details = info.details;
      ctx.provenance.seed = p.seed;
      const data = await loadFeatureSet(ctx.inputs.data);
      if (p.image_branch === "features") {
        normalizeInPlace(data.imgTrain, [data.imgTest], p.normalize);
      }
      normalizeInPlace(data.txtTrain, [data.txtTest], p.normalize);
      const lambda = resolveLambda(p);
      const res = await trainDse(data, p, {
        scratch: ctx.scratch,
        signal: ctx.signal,
        log: ctx.log,
        progress: ctx.progress,
        backbones: options.backbones,
        backboneWeights: ctx.inputs.backbone,
        backend: info.name,
      });
      ctx.provenance.epochs_run = res.history.length;
      ctx.provenance.stop_reason = res.stopReason;
      ctx.provenance.resumed_from_epoch = res.resumedFrom;
      if (res.backbone) ctx.provenance.backbone = res.backbone;
      const m = data.yTest.length;
      await writeNpy(ctx.out("img.npy"), res.imgEmb, [m, p.dim]);
      await writeNpy(ctx.out("txt.npy"), res.txtEmb, [m, p.dim]);
      await writeLabels(ctx.out("y.npy"), data.yTest);
      await writeNpy(ctx.out("centers.npy"), res.centers, [data.numClasses, p.dim]);
      // The object must be a function of its key: wall-clock seconds go to the manifest
      // (provenance), not into history.json.
      ctx.provenance.epoch_seconds = res.history.map((h) => Number(h.seconds.toFixed(3)));
      const history = res.history.map(({ seconds: _s, ...rec }) => rec);
      await Deno.writeTextFile(ctx.out("history.json"), JSON.stringify(history, null, 1));
      const embedding = {
        dataset: data.meta.dataset ?? "unknown",
        method: lossSpec(p.loss).method,
        pca: false,
        score: "cosine",
        hyper: {
          loss: p.loss,
          lambda,
          alpha: p.alpha,
          dim: p.dim,
          epochs_max: p.epochs,
          epochs_run: res.history.length,
          stop_reason: res.stopReason,
          batch: p.batch,
          lr: p.lr,
          weight_decay: p.weight_decay,
          seed: p.seed,
          image_branch: p.image_branch,
          pairing: lossSpec(p.loss).batching === "paired" ? "pair" : p.pairing,
          batching: lossSpec(p.loss).batching,
          margin: p.margin,
          temperature: p.temperature,
          normalize: p.normalize,
          backend: info.name,
        },
        notes: [
          "loss terms are batch means; each modality's loss has weight 0.5",
          lossSpec(p.loss).note,
          `loss source: ${lossSpec(p.loss).source}`,
          "weight decay is coupled L2 on FC kernels and W (Keras kernel_regularizer)",
        ],
      };
      await Deno.writeTextFile(ctx.out("embedding.json"), JSON.stringify(embedding, null, 1));
    },
  };
}

/** The `train-dse` kind with no end-to-end backbone registered. */
export const trainDseKind: StageKind = createTrainDseKind();
