/**
 * MsAlg (Wu, Xu & Li 2010; "PMLS" in Wu, Lu & Li, JMLR 2013), methods.md §7, and the `msalg`
 * stage kind.
 *
 * max Σ_ij c_ij x_iᵀ Lx Lyᵀ y_j s.t. LxᵀLx = LyᵀLy = I_k, with c_ij = 1 for a same-class pair
 * and 0 otherwise, on centred data. The solution: Lx, Ly are the top-k left and right singular
 * vectors of M = Σ_ij c_ij x_i y_jᵀ = Σ_c S^X_c (S^Y_c)ᵀ, where S_c is the sum of class c's
 * centred rows. Retrieval compares the projections x·Lx and y·Ly by inner product (the bilinear
 * similarity xᵀ Lx Lyᵀ y), or by cosine as an ablation.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import type { Matrix } from "../linalg/matrix.ts";
import { columnMeans, projectCentred, scaleColumns, sliceCols, svd, zeros } from "../linalg/mod.ts";
import {
  featureInput,
  FEATURES_INPUT,
  pcaApplied,
  prepareViews,
  preprocessParams,
  writeEmbedding,
} from "./common.ts";
import { EMBEDDING_OUTPUTS } from "../formats/embedding.ts";
import { readFeatureSet } from "../formats/feature_set.ts";

/** Options of {@link fitMsAlg}. */
export interface MsAlgOptions {
  /** Class ids (0-based) of the paired rows. */
  labels: ArrayLike<number>;
  /** Number of directions (default: classes − 1, the rank of M on centred data). */
  k?: number;
}

/** A fitted MsAlg model. */
export interface MsAlgModel {
  /** p × k image-side mapping (orthonormal columns). */
  lx: Matrix;
  /** q × k text-side mapping (orthonormal columns). */
  ly: Matrix;
  /** Singular values of M for the kept directions, descending. */
  sigma: Float64Array;
  /** Train column mean of X. */
  meanX: Float64Array;
  /** Train column mean of Y. */
  meanY: Float64Array;
}

/** M = Σ_c S^X_c (S^Y_c)ᵀ on data already centred (p × q). */
export function classCrossMoment(
  xc: Matrix,
  yc: Matrix,
  options: { labels: ArrayLike<number>; classes: number },
): Matrix {
  const { labels, classes } = options;
  const p = xc.cols, q = yc.cols;
  const sx = zeros(classes, p), sy = zeros(classes, q);
  for (let i = 0; i < xc.rows; i++) {
    const c = labels[i];
    for (let j = 0; j < p; j++) sx.data[c * p + j] += xc.data[i * p + j];
    for (let j = 0; j < q; j++) sy.data[c * q + j] += yc.data[i * q + j];
  }
  const m = zeros(p, q);
  for (let c = 0; c < classes; c++) {
    for (let a = 0; a < p; a++) {
      const v = sx.data[c * p + a];
      if (v === 0) continue;
      for (let b = 0; b < q; b++) m.data[a * q + b] += v * sy.data[c * q + b];
    }
  }
  return m;
}

/**
 * Fit MsAlg on paired rows of `x` (N×p) and `y` (N×q) with their class labels.
 */
export function fitMsAlg(x: Matrix, y: Matrix, options: MsAlgOptions): MsAlgModel {
  if (x.rows !== y.rows || x.rows !== options.labels.length) {
    throw new Error(
      `msalg: x has ${x.rows} rows, y ${y.rows}, labels ${options.labels.length}; ` +
        "they must be the same paired training rows",
    );
  }
  let classes = 0;
  for (let i = 0; i < options.labels.length; i++) {
    const l = options.labels[i];
    if (!Number.isInteger(l) || l < 0) {
      throw new Error(`msalg: label ${l} at row ${i} is not a 0-based class id`);
    }
    classes = Math.max(classes, l + 1);
  }
  const k = options.k ?? classes - 1;
  const kmax = Math.min(x.cols, y.cols);
  if (!Number.isInteger(k) || k < 1 || k > kmax) {
    throw new Error(`msalg: k = ${k} must be an integer in [1, min(p, q) = ${kmax}]`);
  }
  const meanX = columnMeans(x), meanY = columnMeans(y);
  const xc = scaleColumns(x, { shift: meanX });
  const yc = scaleColumns(y, { shift: meanY });
  const m = classCrossMoment(xc, yc, { labels: options.labels, classes });
  const dec = svd(m);
  return {
    lx: sliceCols(dec.u, [0, k]),
    ly: sliceCols(dec.v, [0, k]),
    sigma: dec.s.slice(0, k),
    meanX,
    meanY,
  };
}

/** Project rows with a fitted model: (x − μ_X)·Lx and/or (y − μ_Y)·Ly. */
export function projectMsAlg(
  model: MsAlgModel,
  views: { x?: Matrix; y?: Matrix },
): { x?: Matrix; y?: Matrix } {
  return projectCentred(views, {
    name: "msalg",
    wx: model.lx,
    wy: model.ly,
    meanX: model.meanX,
    meanY: model.meanY,
  });
}

/** Params of the kind, derived from {@link MSALG_PARAMS}. */
type MsAlgKindParams = ParamsOf<typeof MSALG_PARAMS>;

async function runMsAlg(ctx: StageContext<MsAlgKindParams>): Promise<void> {
  const p = ctx.params;
  const fs = await readFeatureSet(featureInput(ctx));
  const v = prepareViews(fs, p);
  let classes = 0;
  for (const l of fs.yTrain) classes = Math.max(classes, l + 1);
  const kmax = Math.min(v.img.train.cols, v.txt.train.cols);
  const k = Math.min(p.k > 0 ? p.k : classes - 1, kmax);
  const model = fitMsAlg(v.img.train, v.txt.train, { labels: fs.yTrain, k });
  const proj = projectMsAlg(model, { x: v.img.test, y: v.txt.test });
  const notes: string[] = [];
  if (k > classes - 1) {
    notes.push(
      `k = ${k} exceeds rank(M) ≤ C − 1 = ${classes - 1}: the extra directions have σ ≈ 0`,
    );
  }
  ctx.log(`msalg: sigma = ${Array.from(model.sigma).map((s) => s.toExponential(3)).join(", ")}`);
  ctx.provenance.pcaK = v.pcaK;
  await writeEmbedding(ctx, {
    img: proj.x!,
    txt: proj.y!,
    y: fs.yTest,
    dataset: String(fs.meta.dataset ?? "unknown"),
    method: "msalg",
    pca: pcaApplied(fs, p.pca),
    score: p.score,
    hyper: { ...ctx.params, kEffective: k, pcaComponents: v.pcaK },
    notes,
  });
}

/** The declared params of `msalgKind` (its params type, {@link MsAlgKindParams}, derives from them). */
const MSALG_PARAMS = {
  ...preprocessParams({ normalize: "none" }),
  k: { type: "integer", default: 0, doc: "directions kept (0 = classes − 1, the rank of M)" },
  score: {
    type: "string",
    default: "inner",
    enum: ["inner", "cosine"],
    doc: "native similarity: inner (xᵀLxLyᵀy, §7) or cosine (ablation)",
  },
} as const satisfies ParamSchema;

/**
 * `msalg` stage kind: centre both views, take the top-k singular vectors of
 * M = Σ_c S^X_c (S^Y_c)ᵀ, embed x·Lx and y·Ly; native score = inner product (the bilinear
 * similarity).
 */
export const msalgKind = defineKind({
  name: "msalg",
  description: "MsAlg/PMLS: top-k SVD of the class cross-moment Σ_c S^X_c S^Yᵀ_c → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: MSALG_PARAMS,
  outputs: EMBEDDING_OUTPUTS,
  run: runMsAlg,
});
