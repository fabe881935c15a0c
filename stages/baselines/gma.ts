/**
 * Generalized Multiview Analysis (Sharma, Kumar, Daumé, Jacobs, CVPR 2012; methods.md §5–§6)
 * following the logic of Sharma's `Newgma.m`, and the stage kinds `blm`, `gmlda` and `gmmfa`.
 *
 * Per view i (rows = samples, already preprocessed), a method gives `W_i` (the paper's A_i)
 * and `D_i` (B_i):
 * - `cca`: `W = D = XᵀX`;  `blm`: `W = XᵀX`, `D = I`;
 * - `lda`: `W = XᵀGX`, `D = Xᵀ(I−G)X`, `G^{kl} = 1/N_c` within class c (Deng Cai's supervised
 *   `constructW` with bLDA = 1);
 * - `mfa`: `W = XᵀL_pX`, `D = XᵀL_cX` from myMFA's graphs: intrinsic `S_c` = the intraK+1
 *   nearest same-class samples of each sample (self included; all of them when intraK ≥ class
 *   size − 1; every same-class pair when intraK = 0), penalty `S_p` = the interK smallest
 *   entries of the squared-distance matrix whose same-class entries are masked, taken in
 *   column-major order with a stable sort (ordered pairs), both symmetrised, `L = diag(S1) − S`.
 *
 * Then `Wf` has `W_i` on the diagonal and `Lamda · Z_iᵀ Z_j` off it (Z = the exemplars:
 * all samples, or class means), `Df` has `Mult_i·D_i + ReguAlpha·I` (mfa), `D_i + ReguAlpha·I`
 * (cca) or `Mult_i·D_i` (lda) on the diagonal, then either `+ ReguAlpha·I` once more, or with
 * `autopara` Sharma's `tuneParameter` (D_1 /= Mult_1, rescale each D_r to tr(D_1), + ReguAlpha·I).
 * The k = min(Factor, min_i d_i) largest generalized eigenvectors (B-normalised, like MATLAB
 * `eigs(Wf, Df, k, 'LA')`) are split into per-view bases. `blm` solves the standard problem
 * `eigs(Wf, min(Factor, Σd_i), 'LA')` with unit-norm vectors.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import type { Matrix } from "../linalg/matrix.ts";
import {
  blockMatrix,
  crossprod,
  genSymEig,
  gram,
  identity,
  matmul,
  scale,
  sliceRows,
  sub,
  symEig,
  symmetrize,
  trace,
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

/** The per-view graph/method of the GMA framework. */
export type GmaMethod = "blm" | "cca" | "lda" | "mfa";

/** Options of {@link fitGma} (names follow Newgma's `options`). */
export interface GmaOptions {
  /** Which per-view matrices to build. */
  method: GmaMethod;
  /** `Factor`: requested dimension; capped at min_i d_i (Σ d_i for blm). */
  k: number;
  /** `Lamda` (the paper's α): weight of the cross blocks. */
  lamda: number;
  /** `ReguAlpha`: ridge on Df (see the module doc for where it is added). Ignored by blm. */
  reguAlpha?: number;
  /** `Mult` (the paper's γ_i scale of D_i), one per view; default all 1. */
  mult?: readonly number[];
  /** `Autopara`: Sharma's `tuneParameter` (trace balancing of the D blocks). */
  autopara?: boolean;
  /** Train labels, one per row (needed by lda, mfa and class-mean exemplars). */
  labels?: ArrayLike<number>;
  /** `AlignMode`: 1 = all samples (`all`), 2 = class means (`class-means`). */
  align?: "all" | "class-means";
  /** MFA intrinsic neighbours (myMFA default 5). */
  intraK?: number;
  /** MFA penalty pairs (myMFA default 20). */
  interK?: number;
}

/** Result of {@link fitGma}. */
export interface GmaModel {
  /** Per-view `d_i × k` projection bases (row slices of the eigenvectors). */
  bases: Matrix[];
  /** Eigenvalues, descending. */
  values: Float64Array;
}

/** `X` with rows selected by class: the class means (classes in ascending label order). */
function classMeans(x: Matrix, labels: ArrayLike<number>): Matrix {
  const ids = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const pos = new Map(ids.map((c, i) => [c, i]));
  const out = zeros(ids.length, x.cols);
  const cnt = new Float64Array(ids.length);
  for (let r = 0; r < x.rows; r++) {
    const c = pos.get(labels[r])!;
    cnt[c]++;
    for (let j = 0; j < x.cols; j++) out.data[c * x.cols + j] += x.data[r * x.cols + j];
  }
  for (let c = 0; c < ids.length; c++) {
    for (let j = 0; j < x.cols; j++) out.data[c * x.cols + j] /= cnt[c];
  }
  return out;
}

/** `XᵀGX` with `G^{kl} = 1/N_c` for same-class pairs = Σ_c N_c m_c m_cᵀ. */
function ldaBetween(x: Matrix, labels: ArrayLike<number>): Matrix {
  const m = classMeans(x, labels);
  const ids = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const counts = new Map<number, number>();
  for (let r = 0; r < x.rows; r++) counts.set(labels[r], (counts.get(labels[r]) ?? 0) + 1);
  const w = zeros(m.rows, m.cols);
  ids.forEach((c, i) => {
    const s = Math.sqrt(counts.get(c)!);
    for (let j = 0; j < m.cols; j++) w.data[i * m.cols + j] = m.data[i * m.cols + j] * s;
  });
  return gram(w);
}

/** Squared Euclidean distances between all rows (exactly symmetric, zero diagonal). */
export function squaredDistances(x: Matrix): Float64Array {
  const n = x.rows, d = x.cols;
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const io = i * d;
    for (let j = i + 1; j < n; j++) {
      const jo = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = x.data[io + k] - x.data[jo + k];
        s += t * t;
      }
      D[i * n + j] = s;
      D[j * n + i] = s;
    }
  }
  return D;
}

/** Symmetric 0/1 adjacency as neighbour lists (self loops dropped: they cancel in L). */
type Adjacency = Set<number>[];

function addEdge(adj: Adjacency, i: number, j: number): void {
  if (i === j) return;
  adj[i].add(j);
  adj[j].add(i);
}

/**
 * myMFA's graphs (methods.md §5, §6): intrinsic `S_c` and penalty `S_p` as adjacency lists.
 * @param dist squared distances, N×N row-major (from {@link squaredDistances})
 */
export function mfaGraphs(
  dist: Float64Array,
  options: { labels: ArrayLike<number>; intraK: number; interK: number },
): { intrinsic: Adjacency; penalty: Adjacency; penaltyPairs: [number, number][] } {
  const n = options.labels.length;
  if (dist.length !== n * n) throw new Error("mfaGraphs: distance matrix does not match labels");
  const labels = options.labels;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const intrinsic: Adjacency = Array.from({ length: n }, () => new Set<number>());
  let nIntraPair = 0;
  for (const idx of byClass.values()) {
    nIntraPair += idx.length * idx.length;
    if (options.intraK > 0 && options.intraK + 1 < idx.length) {
      const take = Math.min(options.intraK + 1, idx.length);
      for (const i of idx) {
        // Row of the class distance matrix, stable ascending sort (MATLAB `sort(D,2)`).
        const order = idx.map((j, p) => [dist[i * n + j], p] as const);
        order.sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]));
        for (let t = 0; t < take; t++) addEdge(intrinsic, i, idx[order[t][1]]);
      }
    } else {
      // intraK = 0, or intraK + 1 ≥ class size: myMFA links every same-class pair.
      for (const i of idx) for (const j of idx) addEdge(intrinsic, i, j);
    }
  }
  const penalty: Adjacency = Array.from({ length: n }, () => new Set<number>());
  const K = options.interK;
  if (!(K > 0 && K < n * n - nIntraPair)) {
    throw new Error(
      `mfa: interK = ${K} must be in (0, ${n * n - nIntraPair}) (the number of ` +
        "different-class ordered pairs); the all-pairs penalty graph is not supported",
    );
  }
  // K smallest entries in column-major order (linear index j*n+i), stable: keep a sorted list.
  const bestV: number[] = [], bestI: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      if (labels[i] === labels[j]) continue; // masked to max+100
      const v = dist[i * n + j];
      if (bestV.length === K && !(v < bestV[K - 1])) continue;
      let lo = 0, hi = bestV.length;
      while (lo < hi) { // first position with bestV > v (stable: equal values stay before)
        const mid = (lo + hi) >> 1;
        if (bestV[mid] <= v) lo = mid + 1;
        else hi = mid;
      }
      bestV.splice(lo, 0, v);
      bestI.splice(lo, 0, j * n + i);
      if (bestV.length > K) {
        bestV.pop();
        bestI.pop();
      }
    }
  }
  const penaltyPairs: [number, number][] = [];
  for (const lin of bestI) {
    const i = lin % n, j = Math.floor(lin / n);
    penaltyPairs.push([i, j]);
    addEdge(penalty, i, j);
  }
  return { intrinsic, penalty, penaltyPairs };
}

/** `Xᵀ L X` for the Laplacian `L = diag(S1) − S` of a 0/1 adjacency `S`. */
export function laplacianQuadratic(x: Matrix, adj: Adjacency): Matrix {
  const n = x.rows, d = x.cols;
  if (adj.length !== n) throw new Error("laplacianQuadratic: adjacency size != rows");
  const lx = zeros(n, d); // L X
  for (let i = 0; i < n; i++) {
    const o = i * d;
    const deg = adj[i].size;
    for (let k = 0; k < d; k++) lx.data[o + k] = deg * x.data[o + k];
    for (const j of adj[i]) {
      const jo = j * d;
      for (let k = 0; k < d; k++) lx.data[o + k] -= x.data[jo + k];
    }
  }
  return symmetrize(crossprod(x, lx));
}

/**
 * Fit GMA on paired train views (rows = samples, same N in each view).
 * @param views preprocessed train matrices, in view order (view 1 first)
 */
export function fitGma(views: readonly Matrix[], options: GmaOptions): GmaModel {
  const nV = views.length;
  if (nV < 2) throw new Error("gma: need at least two views");
  const n = views[0].rows;
  for (const v of views) {
    if (v.rows !== n) throw new Error("gma: every view needs the same number of (paired) rows");
  }
  const method = options.method;
  const labels = options.labels;
  if ((method === "lda" || method === "mfa" || options.align === "class-means") && !labels) {
    throw new Error(`gma: method ${method} / align ${options.align} needs train labels`);
  }
  if (labels && labels.length !== n) {
    throw new Error(`gma: ${labels.length} labels for ${n} rows`);
  }
  const mult = options.mult ?? views.map(() => 1);
  if (mult.length !== nV) throw new Error(`gma: mult needs ${nV} values, got ${mult.length}`);
  const regu = options.reguAlpha ?? 0;
  const dims = views.map((v) => v.cols);
  const W: Matrix[] = [], D: Matrix[] = [];
  for (const x of views) {
    switch (method) {
      case "cca": {
        const g = gram(x);
        W.push(g);
        D.push(g);
        break;
      }
      case "blm":
        W.push(gram(x));
        D.push(identity(x.cols));
        break;
      case "lda": {
        const b = ldaBetween(x, labels!);
        W.push(b);
        D.push(symmetrize(sub(gram(x), b)));
        break;
      }
      case "mfa": {
        const g = mfaGraphs(squaredDistances(x), {
          labels: labels!,
          intraK: options.intraK ?? 5,
          interK: options.interK ?? 20,
        });
        W.push(laplacianQuadratic(x, g.penalty));
        D.push(laplacianQuadratic(x, g.intrinsic));
        break;
      }
      default:
        throw new Error(`gma: unknown method "${method}"; use blm, cca, lda or mfa`);
    }
  }
  const Z = options.align === "class-means" ? views.map((v) => classMeans(v, labels!)) : views;
  const wBlocks: (Matrix | null)[][] = [];
  const dBlocks: (Matrix | null)[][] = [];
  for (let r = 0; r < nV; r++) {
    wBlocks.push([]);
    dBlocks.push([]);
    for (let c = 0; c < nV; c++) {
      if (r === c) {
        wBlocks[r].push(W[r]);
        let d: Matrix;
        if (method === "mfa") d = scale(D[r], mult[r]);
        else if (method === "lda") d = scale(D[r], mult[r]);
        else d = D[r];
        if (method === "mfa" || method === "cca") {
          d = { ...d, data: d.data.slice() };
          for (let i = 0; i < d.rows; i++) d.data[i * d.cols + i] += regu;
        }
        dBlocks[r].push(d);
      } else if (r < c) {
        wBlocks[r].push(scale(crossprod(Z[r], Z[c]), options.lamda));
        dBlocks[r].push(null);
      } else {
        wBlocks[r].push(null);
        dBlocks[r].push(null);
      }
    }
  }
  for (let r = 0; r < nV; r++) {
    for (let c = 0; c < r; c++) {
      const up = wBlocks[c][r]!;
      const t = zeros(up.cols, up.rows);
      for (let i = 0; i < up.rows; i++) {
        for (let j = 0; j < up.cols; j++) t.data[j * up.rows + i] = up.data[i * up.cols + j];
      }
      wBlocks[r][c] = t;
    }
  }
  const Wf = symmetrize(blockMatrix(wBlocks));
  if (method === "blm") {
    const k = Math.min(options.k, dims.reduce((a, b) => a + b, 0));
    const e = symEig(Wf, { k });
    return { bases: splitRows(e.vectors, dims), values: e.values };
  }
  if (options.autopara) {
    const d1 = scale(dBlocks[0][0]!, 1 / mult[0]);
    dBlocks[0][0] = d1;
    const t1 = trace(d1);
    for (let r = 1; r < nV; r++) {
      const tr = trace(dBlocks[r][r]!);
      dBlocks[r][r] = scale(dBlocks[r][r]!, t1 / tr);
    }
  }
  const Df = symmetrize(blockMatrix(dBlocks));
  const k = Math.min(options.k, Math.min(...dims));
  const e = genSymEig(Wf, Df, { reg: regu, k });
  return { bases: splitRows(e.vectors, dims), values: e.values };
}

function splitRows(v: Matrix, dims: readonly number[]): Matrix[] {
  const out: Matrix[] = [];
  let s = 0;
  for (const d of dims) {
    out.push(sliceRows(v, [s, s + d]));
    s += d;
  }
  return out;
}

/** View order: which modality is GMA's view 1 (methods.md §6 uses text first). */
export type ViewOrder = "image-text" | "text-image";

/** Params a GMA kind may leave out (`omit`); the run falls back to Newgma's defaults. */
type GmaOptional = "reguAlpha" | "mult" | "autopara" | "labels" | "align" | "intraK" | "interK";

/** The declared params of a GMA kind: every param, those in {@link GmaOptional} possibly left out. */
type GmaSchema =
  & Omit<ReturnType<typeof fullGmaParams>, GmaOptional>
  & Partial<Pick<ReturnType<typeof fullGmaParams>, GmaOptional>>;

/** Params shared by the GMA kinds (derived from {@link GmaSchema}). */
type GmaKindParams = ParamsOf<GmaSchema>;

/** Run GMA on a Feature set and write the Embedding (shared by blm, gmlda, gmmfa, cca/newgma). */
export async function runGmaStage(
  ctx: StageContext<GmaKindParams>,
  options: { method: GmaMethod; name: string },
): Promise<void> {
  const p = ctx.params;
  const fs = await readFeatureSet(featureInput(ctx));
  const v = prepareViews(fs, p);
  const n = fs.yTrain.length;
  const labels = p.labels === "per-sample"
    ? Int32Array.from({ length: n }, (_, i) => i)
    : fs.yTrain;
  const order = p.viewOrder === "text-image" ? [v.txt, v.img] : [v.img, v.txt];
  const t0 = performance.now();
  const model = fitGma(order.map((s) => s.train), {
    method: options.method,
    k: p.k,
    lamda: p.lamda,
    reguAlpha: p.reguAlpha,
    mult: p.mult ?? [1, 1],
    autopara: p.autopara ?? false,
    labels,
    align: p.align ?? "all",
    intraK: p.intraK ?? 5,
    interK: p.interK ?? 20,
  });
  const [b1, b2] = model.bases;
  const [bImg, bTxt] = p.viewOrder === "text-image" ? [b2, b1] : [b1, b2];
  const img = matmul(v.img.test, bImg);
  const txt = matmul(v.txt.test, bTxt);
  ctx.log(
    `${options.name}: dims img ${v.img.train.cols} txt ${v.txt.train.cols}, k = ${img.cols}, ` +
      `top eigenvalues ${Array.from(model.values.slice(0, 5)).map((x) => x.toPrecision(4))}, ` +
      `${(performance.now() - t0).toFixed(0)} ms`,
  );
  const notes: string[] = [];
  if (p.labels === "per-sample") {
    notes.push("labels = 1..N (each pair its own class), the §6 replica's quirk: unsupervised");
  }
  ctx.provenance.pcaK = v.pcaK;
  await writeEmbedding(ctx, {
    img,
    txt,
    y: fs.yTest,
    dataset: String(fs.meta.dataset ?? "unknown"),
    method: options.name,
    pca: pcaApplied(fs, p.pca),
    score: "cosine",
    hyper: { ...ctx.params, kEffective: img.cols, pcaComponents: v.pcaK },
    notes,
  });
}

/** Every param of a GMA kind, with per-kind defaults. */
function fullGmaParams(
  defaults: {
    k: number;
    lamda: number;
    reguAlpha?: number;
    autopara?: boolean;
    intraK?: number;
    interK?: number;
  },
) {
  return {
    ...preprocessParams(),
    k: { type: "integer", default: defaults.k, doc: "Factor: dimensions (capped at min view dim)" },
    lamda: { type: "number", default: defaults.lamda, doc: "Lamda (α): cross-view weight" },
    reguAlpha: {
      type: "number",
      default: defaults.reguAlpha ?? 1e-6,
      doc: "ReguAlpha: ridge on Df (mfa/cca: added twice, lda: once)",
    },
    mult: typedParam<number[]>({
      type: "array",
      default: [1, 1],
      doc: "Mult (γ scale of each view's D)",
    }),
    autopara: {
      type: "boolean",
      default: defaults.autopara ?? false,
      doc: "Sharma's tuneParameter: rescale D blocks to equal trace (γ = tr ratio)",
    },
    labels: {
      type: "string",
      default: "class",
      enum: ["class", "per-sample"],
      doc: "class labels, or per-sample (labels = 1..N, the §6 replica's GMMFA quirk)",
    },
    align: {
      type: "string",
      default: "all",
      enum: ["all", "class-means"],
      doc: "exemplars Z: all samples (AlignMode 1) or class means (AlignMode 2)",
    },
    viewOrder: {
      type: "string",
      default: "image-text",
      enum: ["image-text", "text-image"],
      doc: "which modality is view 1 (§6: text-image)",
    },
    intraK: { type: "integer", default: defaults.intraK ?? 5, doc: "MFA intrinsic neighbours k1" },
    interK: { type: "integer", default: defaults.interK ?? 20, doc: "MFA penalty pairs k2" },
  } as const satisfies ParamSchema;
}

/** Params of the GMA kinds, with per-kind defaults; `omit` drops params a kind does not use. */
export function gmaParams(
  defaults: Parameters<typeof fullGmaParams>[0] & { omit?: readonly GmaOptional[] },
): GmaSchema {
  const all: GmaSchema = fullGmaParams(defaults);
  for (const k of defaults.omit ?? []) delete all[k];
  return all;
}

/** `blm`: Bilinear Model / GMPCA, the standard eigenproblem of Wf (unit-norm vectors). */
export const blmKind = defineKind({
  name: "blm",
  description: "BLM (GMA with A=XᵀX, B=I): Feature set → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: gmaParams({
    k: 10,
    lamda: 10,
    omit: ["reguAlpha", "mult", "autopara", "intraK", "interK"],
  }),
  outputs: EMBEDDING_OUTPUTS,
  run: (ctx) => runGmaStage(ctx, { method: "blm", name: "blm" }),
});

/** `gmlda`: GMA with LDA graphs (S_b, S_w). */
export const gmldaKind = defineKind({
  name: "gmlda",
  description: "GMLDA (GMA with LDA graphs): Feature set → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: gmaParams({
    k: 10,
    lamda: 100,
    reguAlpha: 1e-3,
    autopara: true,
    omit: ["intraK", "interK"],
  }),
  outputs: EMBEDDING_OUTPUTS,
  run: (ctx) => runGmaStage(ctx, { method: "lda", name: "gmlda" }),
});

/** `gmmfa`: GMA with Marginal Fisher Analysis graphs. */
export const gmmfaKind = defineKind({
  name: "gmmfa",
  description: "GMMFA (GMA with MFA graphs): Feature set → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: gmaParams({
    k: 10,
    lamda: 10,
    reguAlpha: 1e-3,
    autopara: true,
    intraK: 500,
    interK: 2200,
  }),
  outputs: EMBEDDING_OUTPUTS,
  run: (ctx) => runGmaStage(ctx, { method: "mfa", name: "gmmfa" }),
});
