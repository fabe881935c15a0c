/**
 * PLS (Sharma & Jacobs CVPR 2011, "Bypassing synthesis"; methods.md §3) and the `pls` stage kind.
 *
 * {@link fitPls} is the loop of Sharma's `PLS_basesLatest` (NIPALS/PLS2 with X-deflation, W
 * acting on the undeflated X): with `A = XᵀY`, `M = XᵀX`, `C = I`, for each factor
 * `q` = top right singular vector of A, `w = C A q / ‖·‖`, `p = M w / c` with `c = wᵀMw`,
 * `z = Aᵀw / c`, then `A −= c p zᵀ`, `M −= c p pᵀ`, `C −= w pᵀ`. The data are centred and, by
 * default, divided by sqrt(population std) per feature (the code's behaviour with both flags 0).
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import type { Matrix } from "../linalg/matrix.ts";
import {
  columnMeans,
  columnStds,
  crossprod,
  gram,
  matmul,
  scaleColumns,
  svd,
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

/** Per-feature scaling applied before the PLS loop. */
export type PlsScale = "sqrt-std" | "std" | "none";

/** A fitted PLS model. */
export interface PlsModel {
  /** `dx × k` X weights (act on the scaled, centred X). */
  w: Matrix;
  /** `dy × k` Y loadings `Yᵀt/tᵀt` (Sharma projects Y with them directly). */
  z: Matrix;
  /** `c = wᵀMw` per factor: ≈ 0 means the factor exceeds rank(X) and is noise. */
  c: Float64Array;
  /** Train means. */
  meanX: Float64Array;
  /** Train means. */
  meanY: Float64Array;
  /** Per-feature divisors used on X (1 where the std is 0). */
  divX: Float64Array;
  /** Per-feature divisors used on Y. */
  divY: Float64Array;
}

function divisors(a: Matrix, mode: PlsScale): Float64Array {
  const d = new Float64Array(a.cols).fill(1);
  if (mode === "none") return d;
  const s = columnStds(a);
  for (let j = 0; j < a.cols; j++) {
    const v = s[j] === 0 ? 1 : s[j];
    d[j] = mode === "sqrt-std" ? Math.sqrt(v) : v;
  }
  return d;
}

/** Fit `k` PLS factors on paired rows of `x` (N×dx) and `y` (N×dy). */
export function fitPls(x: Matrix, y: Matrix, options: { k: number; scale?: PlsScale }): PlsModel {
  if (x.rows !== y.rows) {
    throw new Error(`pls: x has ${x.rows} rows and y ${y.rows}; rows must pair`);
  }
  const k = options.k;
  if (!Number.isInteger(k) || k < 1 || k > Math.min(x.cols, y.cols)) {
    throw new Error(`pls: k = ${k} must be an integer in [1, ${Math.min(x.cols, y.cols)}]`);
  }
  const mode = options.scale ?? "sqrt-std";
  const meanX = columnMeans(x), meanY = columnMeans(y);
  const xc = scaleColumns(x, { shift: meanX });
  const yc = scaleColumns(y, { shift: meanY });
  const divX = divisors(xc, mode), divY = divisors(yc, mode);
  const X = scaleColumns(xc, { div: divX });
  const Y = scaleColumns(yc, { div: divY });
  const dx = X.cols, dy = Y.cols;
  const A = crossprod(X, Y); // dx × dy
  const M = gram(X); // dx × dx
  const C = zeros(dx, dx);
  for (let i = 0; i < dx; i++) C.data[i * dx + i] = 1;
  const W = zeros(dx, k), Z = zeros(dy, k);
  const cs = new Float64Array(k);
  for (let f = 0; f < k; f++) {
    const q = svd(A).v; // first column = top right singular vector
    const aq = new Float64Array(dx);
    for (let i = 0; i < dx; i++) {
      let s = 0;
      for (let j = 0; j < dy; j++) s += A.data[i * dy + j] * q.data[j * q.cols];
      aq[i] = s;
    }
    const w = new Float64Array(dx);
    for (let i = 0; i < dx; i++) {
      let s = 0;
      for (let j = 0; j < dx; j++) s += C.data[i * dx + j] * aq[j];
      w[i] = s;
    }
    const nw = Math.hypot(...w);
    for (let i = 0; i < dx; i++) w[i] /= nw;
    const p = new Float64Array(dx);
    for (let i = 0; i < dx; i++) {
      let s = 0;
      for (let j = 0; j < dx; j++) s += M.data[i * dx + j] * w[j];
      p[i] = s;
    }
    let c = 0;
    for (let i = 0; i < dx; i++) c += w[i] * p[i];
    for (let i = 0; i < dx; i++) p[i] /= c;
    const z = new Float64Array(dy);
    for (let j = 0; j < dy; j++) {
      let s = 0;
      for (let i = 0; i < dx; i++) s += A.data[i * dy + j] * w[i];
      z[j] = s / c;
    }
    for (let i = 0; i < dx; i++) W.data[i * k + f] = w[i];
    for (let j = 0; j < dy; j++) Z.data[j * k + f] = z[j];
    cs[f] = c;
    for (let i = 0; i < dx; i++) {
      for (let j = 0; j < dy; j++) A.data[i * dy + j] -= c * p[i] * z[j];
      for (let j = 0; j < dx; j++) {
        M.data[i * dx + j] -= c * p[i] * p[j];
        C.data[i * dx + j] -= w[i] * p[j];
      }
    }
  }
  return { w: W, z: Z, c: cs, meanX, meanY, divX, divY };
}

/** Params of the kind, derived from {@link PLS_PARAMS}. */
type PlsKindParams = ParamsOf<typeof PLS_PARAMS>;

async function runPls(ctx: StageContext<PlsKindParams>): Promise<void> {
  const p = ctx.params;
  const fs = await readFeatureSet(featureInput(ctx));
  const v = prepareViews(fs, p);
  const textFirst = p.viewOrder === "text-image";
  const [sx, sy] = textFirst ? [v.txt, v.img] : [v.img, v.txt];
  const k = Math.min(p.k, sx.train.cols, sy.train.cols);
  const model = fitPls(sx.train, sy.train, { k, scale: p.scale });
  const map = (m: Matrix, mean: Float64Array, div: Float64Array) =>
    p.testTransform === "raw" ? m : scaleColumns(m, { shift: mean, div });
  const px = matmul(map(sx.test, model.meanX, model.divX), model.w);
  const py = matmul(map(sy.test, model.meanY, model.divY), model.z);
  const [img, txt] = textFirst ? [py, px] : [px, py];
  const notes: string[] = [];
  const cmax = Math.max(...model.c.map(Math.abs));
  const weak = Array.from(model.c).findIndex((c) => Math.abs(c) < 1e-10 * cmax);
  if (weak >= 0) {
    notes.push(
      `factor ${weak + 1} has c ≈ 0: k = ${k} exceeds the rank of view 1, so it is round-off ` +
        "noise (numerically degenerate); use k ≤ rank",
    );
  }
  ctx.log(`pls: c = ${Array.from(model.c).map((c) => c.toPrecision(4)).join(", ")}`);
  ctx.provenance.pcaK = v.pcaK;
  await writeEmbedding(ctx, {
    img,
    txt,
    y: fs.yTest,
    dataset: String(fs.meta.dataset ?? "unknown"),
    method: "pls",
    pca: pcaApplied(fs, p.pca),
    score: "cosine",
    hyper: { ...ctx.params, kEffective: k, pcaComponents: v.pcaK },
    notes,
  });
}

/** The declared params of `plsKind` (its params type, {@link PlsKindParams}, derives from them). */
const PLS_PARAMS = {
  ...preprocessParams(),
  k: { type: "integer", default: 9, doc: "PLS factors (≤ rank of view 1; Wiki text rank is 9)" },
  scale: {
    type: "string",
    default: "sqrt-std",
    enum: ["sqrt-std", "std", "none"],
    doc: "per-feature divisor inside PLS (Sharma's code: sqrt of population std)",
  },
  viewOrder: {
    type: "string",
    default: "image-text",
    enum: ["image-text", "text-image"],
    doc: "which modality is X (view 1, deflated); §6: text-image",
  },
  testTransform: {
    type: "string",
    default: "train",
    enum: ["train", "raw"],
    doc: "train: map test with PLS's train mean/scale; raw: test·W directly (§6)",
  },
} as const satisfies ParamSchema;

/**
 * `pls` stage kind: Feature set → Embedding. View 1 (`viewOrder`) is the deflated X side;
 * `testTransform: raw` projects the (preprocessed) test rows without PLS's own centring and
 * scaling, as Sharma's Newgma/TongJiayan retrieval does (§6).
 */
export const plsKind = defineKind({
  name: "pls",
  description: "PLS (Sharma's PLS_basesLatest): Feature set → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: PLS_PARAMS,
  outputs: EMBEDDING_OUTPUTS,
  run: runPls,
});
