/**
 * Regularised canonical correlation analysis (methods.md §2) and the `cca` stage kind.
 *
 * {@link fitCca} is the numerical core (also used by SCM): centre both views, form
 * `Cxx = XᵀX/(N−1) + r_x I`, `Cyy = YᵀY/(N−1) + r_y I`, `Cxy = XᵀY/(N−1)`, and solve either
 * - the SVD form: `SVD(Cxx^{-1/2} Cxy Cyy^{-1/2}) = U S Vᵀ`, `Wx = Cxx^{-1/2} U_k`,
 *   `Wy = Cyy^{-1/2} V_k` (a singular C is pseudo-inverted on its range, like MATLAB
 *   `canoncorr`'s rank reduction; pairs beyond min(rank Cxx, rank Cyy) are zero columns), or
 * - the GEV form: `[[0,Cxy],[Cyx,0]] w = ρ [[Cxx,0],[0,Cyy]] w`, B-normalised.
 *
 * The stage kind also offers Sharma's `Newgma` CCA branch (methods.md §5/§6), which is the
 * GMA generalized eigenproblem with `XᵀX` on the diagonal of both sides and `ReguAlpha`.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import type { Matrix } from "../linalg/matrix.ts";
import {
  blockMatrix,
  columnMeans,
  crossprod,
  genSymEig,
  gram,
  matmul,
  projectCentred,
  scale,
  scaleColumns,
  sliceCols,
  sliceRows,
  svd,
  symEig,
  zeros,
} from "../linalg/mod.ts";
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
import { runGmaStage } from "./gma.ts";

/** Options of {@link fitCca}. */
export interface CcaOptions {
  /** Number of canonical pairs to keep. */
  k: number;
  /** Ridge added to both covariances (absolute, on the `/(N−1)` scale). Default 0. */
  reg?: number;
  /** Ridge for the Y covariance only; defaults to `reg`. */
  regY?: number;
  /** Solver: `svd` (default) or `gev`. */
  form?: "svd" | "gev";
  /** Relative eigenvalue threshold below which a covariance direction counts as null (svd form). */
  rankTol?: number;
}

/** A fitted CCA model. Project with {@link projectCca}. */
export interface CcaModel {
  /** `p × k` directions for X (acting on centred X). */
  wx: Matrix;
  /** `q × k` directions for Y (acting on centred Y). */
  wy: Matrix;
  /** Canonical correlations of the kept pairs, descending. */
  rho: Float64Array;
  /** Train column mean of X. */
  meanX: Float64Array;
  /** Train column mean of Y. */
  meanY: Float64Array;
  /**
   * Number of pairs whose correlation is supported by both covariances' ranks. Pairs beyond it
   * (possible with `reg = 0` on rank-deficient data) are zero columns of `wx`/`wy` with ρ = 0
   * (svd form); `k > rank` is allowed but flagged.
   */
  rank: number;
}

/** `C^{-1/2}` on the range of a symmetric PSD matrix (null directions map to 0), and its rank. */
function invSqrtRange(c: Matrix, tol: number): { k: Matrix; rank: number } {
  const e = symEig(c);
  const n = c.rows;
  const top = Math.max(e.values[0] ?? 0, 0);
  const f = new Float64Array(n);
  let rank = 0;
  for (let i = 0; i < n; i++) {
    if (e.values[i] > tol * top && e.values[i] > 0) {
      f[i] = 1 / Math.sqrt(e.values[i]);
      rank++;
    }
  }
  const V = e.vectors;
  const out = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let m = 0; m < n; m++) s += V.data[i * n + m] * f[m] * V.data[j * n + m];
      out.data[i * n + j] = s;
      out.data[j * n + i] = s;
    }
  }
  return { k: out, rank };
}

/**
 * Fit regularised CCA on paired rows of `x` (N×p) and `y` (N×q). The data are centred here
 * with their train means; scale them beforehand if you want z-scored CCA.
 */
export function fitCca(x: Matrix, y: Matrix, options: CcaOptions): CcaModel {
  if (x.rows !== y.rows) {
    throw new Error(`fitCca: x has ${x.rows} rows and y has ${y.rows}; rows must be paired`);
  }
  if (x.rows < 2) throw new Error("fitCca: need at least 2 paired rows");
  const p = x.cols, q = y.cols;
  const k = options.k;
  if (!Number.isInteger(k) || k < 1 || k > Math.min(p, q)) {
    throw new Error(`fitCca: k = ${k} must be an integer in [1, min(p, q) = ${Math.min(p, q)}]`);
  }
  const rx = options.reg ?? 0;
  const ry = options.regY ?? rx;
  if (rx < 0 || ry < 0) throw new Error("fitCca: reg must be ≥ 0");
  const meanX = columnMeans(x), meanY = columnMeans(y);
  const xc = scaleColumns(x, { shift: meanX });
  const yc = scaleColumns(y, { shift: meanY });
  const n1 = x.rows - 1;
  const cxx = scale(gram(xc), 1 / n1);
  const cyy = scale(gram(yc), 1 / n1);
  const cxy = scale(crossprod(xc, yc), 1 / n1);
  for (let i = 0; i < p; i++) cxx.data[i * p + i] += rx;
  for (let i = 0; i < q; i++) cyy.data[i * q + i] += ry;
  const form = options.form ?? "svd";
  if (form === "svd") {
    const tol = options.rankTol ?? 1e-12;
    const kx = invSqrtRange(cxx, tol);
    const ky = invSqrtRange(cyy, tol);
    const dec = svd(matmul(matmul(kx.k, cxy), ky.k));
    const rank = Math.min(kx.rank, ky.rank, k);
    const wx = matmul(kx.k, sliceCols(dec.u, [0, k]));
    const wy = matmul(ky.k, sliceCols(dec.v, [0, k]));
    // Pairs beyond the supported rank have ρ = 0 and singular vectors that rounding alone picks
    // (they differ between linear-algebra backends): they are zeroed, which is MATLAB
    // `canoncorr`'s rank reduction at the requested width.
    const rho = dec.s.slice(0, k);
    for (let j = rank; j < k; j++) {
      rho[j] = 0;
      for (let i = 0; i < p; i++) wx.data[i * k + j] = 0;
      for (let i = 0; i < q; i++) wy.data[i * k + j] = 0;
    }
    return { wx, wy, rho, meanX, meanY, rank };
  }
  if (form !== "gev") throw new Error(`fitCca: form must be "svd" or "gev", got ${form}`);
  const cyx = crossprod(yc, xc);
  for (let i = 0; i < cyx.data.length; i++) cyx.data[i] /= n1;
  const a = blockMatrix([[zeros(p, p), cxy], [cyx, zeros(q, q)]]);
  const b = blockMatrix([[cxx, null], [null, cyy]]);
  const e = genSymEig(a, b, { k });
  const wx = sliceRows(e.vectors, [0, p]);
  const wy = sliceRows(e.vectors, [p, p + q]);
  return { wx, wy, rho: e.values, meanX, meanY, rank: k };
}

/**
 * Project new rows with a fitted model: `(x − μ_X)·Wx` and/or `(y − μ_Y)·Wy`.
 * @param model from {@link fitCca}
 * @param views the rows to project (either or both)
 */
export function projectCca(
  model: CcaModel,
  views: { x?: Matrix; y?: Matrix },
): { x?: Matrix; y?: Matrix } {
  return projectCentred(views, { name: "projectCca", ...model });
}

/** Params of the kind, derived from {@link CCA_PARAMS}. */
type CcaKindParams = ParamsOf<typeof CCA_PARAMS>;

async function runCca(ctx: StageContext<CcaKindParams>): Promise<void> {
  const p = ctx.params;
  if (p.solver === "newgma") {
    await runGmaStage(ctx, { method: "cca", name: "cca" });
    return;
  }
  const fs = await readFeatureSet(featureInput(ctx));
  const v = prepareViews(fs, p);
  const k = Math.min(p.k, v.img.train.cols, v.txt.train.cols);
  const model = fitCca(v.img.train, v.txt.train, { k, reg: p.reg, form: p.solver });
  const proj = projectCca(model, { x: v.img.test, y: v.txt.test });
  const notes: string[] = [];
  if (model.rank < k) {
    notes.push(
      `k = ${k} exceeds the covariance rank (${model.rank} supported pairs): the extra pairs are ` +
        "noise; use reg > 0 or k ≤ rank",
    );
  }
  ctx.log(`cca: rho = ${Array.from(model.rho).map((r) => r.toFixed(4)).join(", ")}`);
  ctx.provenance.pcaK = v.pcaK;
  await writeEmbedding(ctx, {
    img: proj.x!,
    txt: proj.y!,
    y: fs.yTest,
    dataset: String(fs.meta.dataset ?? "unknown"),
    method: "cca",
    pca: pcaApplied(fs, p.pca),
    score: "cosine",
    hyper: { ...ctx.params, kEffective: k, rank: model.rank, pcaComponents: v.pcaK },
    notes,
  });
}

/** The declared params of `ccaKind` (its params type, {@link CcaKindParams}, derives from them). */
const CCA_PARAMS = {
  ...preprocessParams(),
  k: { type: "integer", default: 10, doc: "canonical pairs kept (capped at min view dim)" },
  reg: { type: "number", default: 0, doc: "ridge on both covariances (svd/gev solvers)" },
  solver: {
    type: "string",
    default: "svd",
    enum: ["svd", "gev", "newgma"],
    doc: "svd | gev (§2) | newgma (§5/§6 GMA form with Lamda and ReguAlpha)",
  },
  lamda: { type: "number", default: 1, doc: "newgma: cross-block weight (Lamda)" },
  reguAlpha: { type: "number", default: 0.01, doc: "newgma: ReguAlpha (net 2·ReguAlpha·I)" },
  viewOrder: {
    type: "string",
    default: "image-text",
    enum: ["image-text", "text-image"],
    doc: "newgma: which modality is view 1 (§6: text-image)",
  },
} as const satisfies ParamSchema;

/**
 * `cca` stage kind: Feature set → Embedding. `solver` `svd`/`gev` is the regularised CCA of
 * methods.md §2 (image = X, text = Y, `reg` on both covariances); `newgma` is Sharma's Newgma
 * CCA branch (§5/§6: `Lamda`, `ReguAlpha`, `viewOrder`).
 */
export const ccaKind = defineKind({
  name: "cca",
  description: "regularised CCA (SVD/GEV, or Newgma's GMA form): Feature set → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: CCA_PARAMS,
  outputs: EMBEDDING_OUTPUTS,
  run: runCca,
});
