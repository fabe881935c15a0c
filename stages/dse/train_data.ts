/**
 * The data side of `train-dse`: the Feature-set artifact read into memory, input normalisation,
 * the batches of an epoch, and embedding a whole set in chunks.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NpyArray } from "../tensor_io/npy.ts";
import { readFeatureSetArrays } from "../formats/feature_set.ts";
import { type DseModel, embedImages, embedTexts } from "./model.ts";
import type { Rng } from "../util/rng.ts";

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

/** Load a Feature-set artifact directory (docs/architecture.md) into {@link DseData}. */
export async function loadFeatureSet(
  dir: string,
): Promise<DseData & { meta: Record<string, unknown> }> {
  const fs = await readFeatureSetArrays(dir);
  const f32 = (a: NpyArray) => ({
    data: a.data instanceof Float32Array ? a.data : Float32Array.from(a.data),
    shape: a.shape,
  });
  const { meta, yTrain, yTest } = fs;
  const classes = Array.isArray(meta.classes) ? meta.classes.length : 0;
  const numClasses = Math.max(classes, ...yTrain, ...yTest) + (classes ? 0 : 1);
  return {
    imgTrain: f32(fs.img.train),
    imgTest: f32(fs.img.test),
    txtTrain: f32(fs.txt.train),
    txtTest: f32(fs.txt.test),
    yTrain,
    yTest,
    numClasses: classes || numClasses,
    meta,
  };
}

/**
 * Normalises the training rows and `tests` in place with the training rows' statistics:
 * `zscore` per column (mean, n−1 standard deviation), `l2` each row to unit length.
 */
export function normalizeInPlace(
  train: { data: Float32Array; shape: number[] },
  tests: { data: Float32Array; shape: number[] }[],
  mode: "none" | "zscore" | "l2",
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

/** A host array as one float32 tensor. */
export function toTensor(m: { data: Float32Array; shape: number[] }): tf.Tensor {
  return tf.tensor(m.data, m.shape, "float32");
}

/** Rows of a host array (rank 2 features or rank 4 images), as one float32 tensor. */
export function hostRows(
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
export async function embedAll(
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

/** Per-class means of the rows of `emb` (each [n, dim], labels `y`), as [numClasses, dim]. */
export function classMeans(
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
