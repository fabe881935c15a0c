/**
 * LRBS: low-rank bilinear similarity (Kang et al., CIKM 2015), methods.md §8, and the `lrbs`
 * stage kind.
 *
 * s(x, y) = xᵀWy. F(W) = f(W) + λ‖W‖_*, with the balanced logistic loss over all N×N
 * cross-modal training pairs f(W) = Σ_ij w_ij log(1 + exp(−l_ij x_iᵀWy_j)), l_ij = +1 for a
 * same-class pair and −1 otherwise, w_ij = 1/N₊ or 1/N₋. Solved by FISTA with backtracking and
 * singular value thresholding (Beck & Teboulle 2009); by default the monotone variant (MFISTA),
 * which keeps the O(1/t²) rate and never lets F go up. λ is given as a fraction of ‖∇f(0)‖₂
 * (above 1, W = 0 is optimal).
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import type { Matrix } from "../linalg/matrix.ts";
import { crossprod, matmul, svd, zeros } from "../linalg/mod.ts";
import { meanAveragePrecision } from "../retrieval/map.ts";
import { mulberry32 } from "../util/rng.ts";
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

/** Result of {@link svt}. */
export interface SvtResult {
  /** U diag(max(σ − τ, 0)) Vᵀ. */
  w: Matrix;
  /** Number of singular values above τ. */
  rank: number;
  /** Nuclear norm of `w`. */
  nuclear: number;
}

/** Singular value thresholding: the proximal operator of τ‖·‖_*. */
export function svt(a: Matrix, tau: number): SvtResult {
  const dec = svd(a);
  const r = dec.s.length;
  const w = zeros(a.rows, a.cols);
  let rank = 0, nuclear = 0;
  for (let c = 0; c < r; c++) {
    const s = dec.s[c] - tau;
    if (!(s > 0)) continue;
    rank++;
    nuclear += s;
    for (let i = 0; i < a.rows; i++) {
      const u = dec.u.data[i * r + c] * s;
      if (u === 0) continue;
      for (let j = 0; j < a.cols; j++) w.data[i * a.cols + j] += u * dec.v.data[j * r + c];
    }
  }
  return { w, rank, nuclear };
}

/** Spectral norm (largest singular value). */
export function spectralNorm(a: Matrix): number {
  return svd(a).s[0] ?? 0;
}

/** The balanced pairwise problem: inputs of {@link pairLoss}. */
export interface PairProblem {
  /** N × p image rows. */
  x: Matrix;
  /** N × q text rows, paired with `x` by label only (all N×N pairs are used). */
  y: Matrix;
  /** Class ids of the N rows. */
  labels: ArrayLike<number>;
}

/** Weights 1/N₊ and 1/N₋ of a labelling. */
function pairWeights(labels: ArrayLike<number>): { wPos: number; wNeg: number } {
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  let nPos = 0;
  for (const c of counts.values()) nPos += c * c;
  const nNeg = labels.length * labels.length - nPos;
  return { wPos: nPos > 0 ? 1 / nPos : 0, wNeg: nNeg > 0 ? 1 / nNeg : 0 };
}

/**
 * f(W), and ∇f(W) = Xᵀ G Y into `options.grad` when given (p × q), with
 * G_ij = −w_ij l_ij σ(−l_ij s_ij). Never forms the N×N matrices.
 */
export function pairLoss(
  problem: PairProblem,
  w: Matrix,
  options: { grad?: Matrix } = {},
): number {
  const grad = options.grad;
  const { x, y, labels } = problem;
  const n = x.rows, q = y.cols;
  const { wPos, wNeg } = pairWeights(labels);
  const lab = Int32Array.from(labels);
  const a = matmul(x, w); // N × q
  // Yᵀ (q × N), so that each row of S is built by q sequential axpy passes.
  const yt = new Float64Array(q * n);
  for (let j = 0; j < n; j++) for (let t = 0; t < q; t++) yt[t * n + j] = y.data[j * q + t];
  const b = grad ? zeros(n, q) : undefined; // G Y
  const srow = new Float64Array(n);
  const A = a.data;
  let f = 0;
  for (let i = 0; i < n; i++) {
    srow.fill(0);
    for (let t = 0; t < q; t++) {
      const ait = A[i * q + t];
      if (ait === 0) continue;
      const o = t * n;
      for (let j = 0; j < n; j++) srow[j] += ait * yt[o + j];
    }
    const li = lab[i];
    let fi = 0;
    for (let j = 0; j < n; j++) {
      const pos = lab[j] === li;
      const m = pos ? srow[j] : -srow[j]; // l_ij s_ij
      const e = Math.exp(m < 0 ? m : -m);
      const wij = pos ? wPos : wNeg;
      fi += wij * ((m < 0 ? -m : 0) + Math.log1p(e));
      if (b) {
        const sig = m > 0 ? e / (1 + e) : 1 / (1 + e); // σ(−m)
        srow[j] = pos ? -wij * sig : wij * sig; // G_ij
      }
    }
    f += fi;
    if (b) {
      for (let t = 0; t < q; t++) {
        const o = t * n;
        let acc = 0;
        for (let j = 0; j < n; j++) acc += srow[j] * yt[o + j];
        b.data[i * q + t] = acc;
      }
    }
  }
  if (grad && b) {
    const gm = crossprod(x, b);
    grad.data.set(gm.data);
  }
  return f;
}

/**
 * An upper bound on the Lipschitz constant of ∇f: since σ′ ≤ ¼, ∇²f ⪯ ¼ Q with
 * Q(Δ) = Xᵀ (w ∘ (XΔYᵀ)) Y, so L ≤ ¼ λ_max(Q). λ_max is found by power iteration (an
 * underestimate; 5% is added, and backtracking corrects any shortfall).
 */
export function lipschitzBound(problem: PairProblem, options: { iters?: number } = {}): number {
  const { x, y, labels } = problem;
  const n = x.rows, p = x.cols, q = y.cols;
  const { wPos, wNeg } = pairWeights(labels);
  const lab = Int32Array.from(labels);
  const yt = new Float64Array(q * n);
  for (let j = 0; j < n; j++) for (let t = 0; t < q; t++) yt[t * n + j] = y.data[j * q + t];
  let d = zeros(p, q);
  for (let i = 0; i < d.data.length; i++) d.data[i] = 1 + ((i * 7919) % 13) / 13;
  let lam = 0, prev = 0;
  const srow = new Float64Array(n);
  for (let it = 0; it < (options.iters ?? 30); it++) {
    let nrm = 0;
    for (const v of d.data) nrm += v * v;
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < d.data.length; i++) d.data[i] /= nrm;
    const a = matmul(x, d);
    const b = zeros(n, q);
    for (let i = 0; i < n; i++) {
      srow.fill(0);
      for (let t = 0; t < q; t++) {
        const ait = a.data[i * q + t];
        const o = t * n;
        for (let j = 0; j < n; j++) srow[j] += ait * yt[o + j];
      }
      const li = lab[i];
      for (let j = 0; j < n; j++) srow[j] *= lab[j] === li ? wPos : wNeg;
      for (let t = 0; t < q; t++) {
        const o = t * n;
        let acc = 0;
        for (let j = 0; j < n; j++) acc += srow[j] * yt[o + j];
        b.data[i * q + t] = acc;
      }
    }
    const qd = crossprod(x, b);
    lam = 0;
    for (let i = 0; i < qd.data.length; i++) lam += qd.data[i] * d.data[i]; // Rayleigh quotient
    d = qd;
    if (it > 2 && Math.abs(lam - prev) <= 1e-3 * lam) break;
    prev = lam;
  }
  return 0.25 * lam * 1.05;
}

/** Options of {@link fitLrbs}. */
export interface LrbsOptions {
  /** Class ids of the training rows. */
  labels: ArrayLike<number>;
  /** λ as a fraction of ‖∇f(0)‖₂. */
  lambda: number;
  /** Iteration cap (default 500). */
  maxIter?: number;
  /** Stop when |F_k − F_{k−1}| / F_k < tol (default 1e-5). */
  tol?: number;
  /**
   * Initial Lipschitz estimate L₀ for the backtracking. Default (undefined or 0): the bound of
   * {@link lipschitzBound}, which makes every step pass the descent test at once.
   */
  lipschitz?: number;
  /** Backtracking factor η (default 2). */
  eta?: number;
  /** Monotone FISTA (default true); false gives plain FISTA. */
  monotone?: boolean;
  /** Called after each iteration. */
  onIter?: (it: LrbsIteration) => void;
}

/** One iteration's record. */
export interface LrbsIteration {
  /** Iteration number, from 1. */
  iter: number;
  /** F(W_k) = f + λ‖W‖_*. */
  objective: number;
  /** f(W_k). */
  loss: number;
  /** rank(W_k). */
  rank: number;
  /** Current Lipschitz estimate. */
  lipschitz: number;
}

/** Result of {@link fitLrbs}. */
export interface LrbsResult {
  /** p × q bilinear matrix. */
  w: Matrix;
  /** Absolute λ used (fraction · ‖∇f(0)‖₂). */
  lambdaAbs: number;
  /** ‖∇f(0)‖₂. */
  gradNorm0: number;
  /** Per-iteration history. */
  history: LrbsIteration[];
  /** True when the relative-change tolerance was met before the iteration cap. */
  converged: boolean;
  /** The L₀ used. */
  lipschitz0: number;
}

function frobDot(a: Matrix, b: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

/**
 * Fit W by (monotone) FISTA with backtracking on F(W) = f(W) + λ‖W‖_*.
 * @param x N × p training image rows (already normalised)
 * @param y N × q training text rows (already normalised)
 */
export function fitLrbs(x: Matrix, y: Matrix, options: LrbsOptions): LrbsResult {
  const n = x.rows, p = x.cols, q = y.cols;
  if (y.rows !== n || options.labels.length !== n) {
    throw new Error(
      `lrbs: x has ${n} rows, y ${y.rows}, labels ${options.labels.length}; ` +
        "they must be the same training rows",
    );
  }
  if (!(options.lambda >= 0)) throw new Error(`lrbs: lambda must be ≥ 0, got ${options.lambda}`);
  const maxIter = options.maxIter ?? 500;
  const tol = options.tol ?? 1e-5;
  const eta = options.eta ?? 2;
  const monotone = options.monotone ?? true;
  const problem: PairProblem = { x, y, labels: options.labels };
  let lip = options.lipschitz || lipschitzBound(problem);
  const lipschitz0 = lip;

  const g = zeros(p, q);
  let wCur = zeros(p, q);
  const f0 = pairLoss(problem, wCur, { grad: g });
  const gradNorm0 = spectralNorm(g);
  const lambdaAbs = options.lambda * gradNorm0;
  let fCur = f0, fObj = f0; // F(W_k) (nuclear norm 0)
  let t = 1;
  let rank = 0;
  const history: LrbsIteration[] = [];
  let converged = false;
  let v = wCur;
  for (let k = 1; k <= maxIter; k++) {
    const fv = pairLoss(problem, v, { grad: g });
    let z: SvtResult, fz: number;
    const step = zeros(p, q);
    for (;;) {
      for (let i = 0; i < step.data.length; i++) step.data[i] = v.data[i] - g.data[i] / lip;
      z = svt(step, lambdaAbs / lip);
      fz = pairLoss(problem, z.w);
      const d = zeros(p, q);
      for (let i = 0; i < d.data.length; i++) d.data[i] = z.w.data[i] - v.data[i];
      const bound = fv + frobDot(g, d) + (lip / 2) * frobDot(d, d);
      if (fz <= bound + 1e-12 * Math.abs(fv)) break;
      lip *= eta;
    }
    const fzObj = fz + lambdaAbs * z.nuclear;
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const rejected = monotone && fzObj > fObj;
    const wNext = rejected ? wCur : z.w;
    const fNext = rejected ? fCur : fz;
    const objNext = rejected ? fObj : fzObj;
    if (!rejected) rank = z.rank;
    // v = W_k + (t/t')(Z_k − W_k) + ((t − 1)/t')(W_k − W_{k−1}); plain FISTA has Z_k = W_k.
    const vn = zeros(p, q);
    for (let i = 0; i < vn.data.length; i++) {
      vn.data[i] = wNext.data[i] + (t / tNext) * (z.w.data[i] - wNext.data[i]) +
        ((t - 1) / tNext) * (wNext.data[i] - wCur.data[i]);
    }
    const prevObj = fObj;
    wCur = wNext;
    fCur = fNext;
    fObj = objNext;
    t = tNext;
    v = vn;
    const it = { iter: k, objective: objNext, loss: fNext, rank, lipschitz: lip };
    history.push(it);
    options.onIter?.(it);
    // A rejected MFISTA step leaves F unchanged; that is not convergence.
    if (!rejected && Math.abs(prevObj - objNext) / Math.abs(objNext) < tol) {
      converged = true;
      break;
    }
  }
  return { w: wCur, lambdaAbs, gradNorm0, history, converged, lipschitz0 };
}

/** Subtract `mean` from each column, then scale each row to unit L2 norm (zero rows stay 0). */
export function centerRowL2(m: Matrix, options: { mean?: ArrayLike<number> } = {}): Matrix {
  const out = zeros(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[i * m.cols + j] - (options.mean ? options.mean[j] : 0);
      out.data[i * m.cols + j] = v;
      s += v * v;
    }
    const r = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < m.cols; j++) out.data[i * m.cols + j] *= r;
  }
  return out;
}

/**
 * A stratified hold-out split of row indices: about `fraction` of each class (at least one row
 * of a class with ≥ 2 rows) goes to validation.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  options: { fraction: number; seed: number },
): { fit: number[]; val: number[] } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const r = mulberry32(options.seed);
  const fit: number[] = [], val: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(c)!;
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const nv = idx.length < 2 ? 0 : Math.max(1, Math.round(options.fraction * idx.length));
    val.push(...idx.slice(0, nv));
    fit.push(...idx.slice(nv));
  }
  fit.sort((a, b) => a - b);
  val.sort((a, b) => a - b);
  return { fit, val };
}

function takeRows(m: Matrix, rows: readonly number[]): Matrix {
  const out = zeros(rows.length, m.cols);
  rows.forEach((r, i) => out.data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return out;
}

/** Params of the kind, derived from {@link LRBS_PARAMS}. */
type LrbsKindParams = ParamsOf<typeof LRBS_PARAMS>;

async function runLrbs(ctx: StageContext<LrbsKindParams>): Promise<void> {
  const p = ctx.params;
  const fs = await readFeatureSet(featureInput(ctx));
  const v = prepareViews(fs, p);
  const prep = (m: Matrix) => (p.rowL2 ? centerRowL2(m) : m);
  const xTr = prep(v.img.train), xTe = prep(v.img.test);
  const yTr = prep(v.txt.train), yTe = prep(v.txt.test);
  const labels = fs.yTrain;
  const solver = (lambda: number, what: string, x: Matrix, y: Matrix, lab: ArrayLike<number>) =>
    fitLrbs(x, y, {
      labels: lab,
      lambda,
      maxIter: p.maxIter,
      tol: p.tol,
      lipschitz: p.lipschitz,
      monotone: p.monotone,
      onIter: (it) => {
        if (ctx.signal.aborted) throw new Error("lrbs: cancelled");
        ctx.progress(it.iter, p.maxIter, `${what} F=${it.objective.toFixed(6)} rank ${it.rank}`);
      },
    });
  if (!p.lambdaGrid.every((l) => typeof l === "number" && l >= 0)) {
    throw new Error(
      `lrbs: lambdaGrid must be a list of non-negative numbers (fractions of ‖∇f(0)‖₂), got ${
        JSON.stringify(p.lambdaGrid)
      }`,
    );
  }
  let lambda = p.lambda;
  const validation: { lambda: number; i2t: number; t2i: number; avg: number; rank: number }[] = [];
  if (p.lambdaGrid.length > 0) {
    const split = stratifiedSplit(labels, { fraction: p.valFraction, seed: p.seed });
    const lab = split.fit.map((i) => labels[i]), labV = split.val.map((i) => labels[i]);
    const xF = takeRows(xTr, split.fit), yF = takeRows(yTr, split.fit);
    const xV = takeRows(xTr, split.val), yV = takeRows(yTr, split.val);
    for (const lam of p.lambdaGrid) {
      const r = solver(lam, `validate λ=${lam}`, xF, yF, lab);
      const img = matmul(xV, r.w);
      const i2t = meanAveragePrecision({ x: img, y: labV }, { x: yV, y: labV }, {
        similarity: "inner",
      });
      const t2i = meanAveragePrecision({ x: yV, y: labV }, { x: img, y: labV }, {
        similarity: "inner",
      });
      const row = {
        lambda: lam,
        i2t,
        t2i,
        avg: (i2t + t2i) / 2,
        rank: r.history.at(-1)?.rank ?? 0,
      };
      validation.push(row);
      ctx.log(
        `lrbs: validation λ=${lam}: ${i2t.toFixed(4)}/${
          t2i.toFixed(4)
        } (rank ${row.rank}, ${r.history.length} its)`,
      );
    }
    lambda = validation.reduce((a, b) => (b.avg > a.avg ? b : a)).lambda;
    ctx.log(`lrbs: chose λ = ${lambda} (fraction of ‖∇f(0)‖₂)`);
  }
  const r = solver(lambda, "fit", xTr, yTr, labels);
  const last = r.history.at(-1);
  ctx.log(
    `lrbs: ${r.history.length} iterations, F = ${last?.objective}, rank ${last?.rank}, ` +
      `λ = ${r.lambdaAbs.toExponential(3)} (${lambda}·‖∇f(0)‖₂ = ${
        r.gradNorm0.toExponential(3)
      }), L₀ = ${r.lipschitz0.toExponential(3)}, converged ${r.converged}`,
  );
  const notes: string[] = [];
  if (!r.converged) notes.push(`stopped at maxIter = ${p.maxIter} before |ΔF|/F < ${p.tol}`);
  ctx.provenance.pcaK = v.pcaK;
  ctx.provenance.lrbs = {
    iterations: r.history.length,
    converged: r.converged,
    rank: last?.rank,
    lambdaAbs: r.lambdaAbs,
    lipschitz0: r.lipschitz0,
  };
  await writeEmbedding(ctx, {
    img: matmul(xTe, r.w),
    txt: yTe,
    y: fs.yTest,
    dataset: String(fs.meta.dataset ?? "unknown"),
    method: "lrbs",
    pca: pcaApplied(fs, p.pca),
    score: "inner",
    hyper: {
      ...ctx.params,
      lambdaChosen: lambda,
      lambdaAbs: r.lambdaAbs,
      rank: last?.rank,
      iterations: r.history.length,
      validation,
      pcaComponents: v.pcaK,
    },
    notes,
  });
}

/** The declared params of `lrbsKind` (its params type, {@link LrbsKindParams}, derives from them). */
const LRBS_PARAMS = {
  ...preprocessParams({ normalize: "center" }),
  rowL2: {
    type: "boolean",
    default: true,
    doc: "after `normalize`, scale each row to unit L2 norm (§8: zero-mean, L2 rows)",
  },
  lambda: {
    type: "number",
    default: 0.01,
    doc: "λ as a fraction of ‖∇f(0)‖₂ (used when lambdaGrid is empty)",
  },
  lambdaGrid: typedParam<number[]>({
    type: "array",
    default: [],
    doc: "if non-empty, choose λ from these fractions on a stratified hold-out of train",
  }),
  valFraction: { type: "number", default: 0.2, doc: "hold-out fraction for lambdaGrid" },
  seed: { type: "integer", default: 0, doc: "seed of the hold-out split" },
  maxIter: { type: "integer", default: 500, doc: "FISTA iteration cap" },
  tol: { type: "number", default: 1e-5, doc: "stop when |ΔF|/F < tol" },
  lipschitz: {
    type: "number",
    default: 0,
    doc: "initial L for backtracking (0 = ¼λ_max bound by power iteration; §8 says 1)",
  },
  monotone: {
    type: "boolean",
    default: true,
    doc: "monotone FISTA (MFISTA); false = plain FISTA",
  },
} as const satisfies ParamSchema;

/**
 * `lrbs` stage kind: nuclear-norm regularised bilinear similarity by (monotone) FISTA; the
 * embedding is img = x·W against txt = y (score `inner`, s = xᵀWy), both after the input
 * normalisation (column `normalize`, then `rowL2`).
 */
export const lrbsKind = defineKind({
  name: "lrbs",
  description: "low-rank bilinear similarity (nuclear norm, FISTA + SVT) → Embedding (x·W, y)",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: LRBS_PARAMS,
  outputs: EMBEDDING_OUTPUTS,
  run: runLrbs,
});
