/**
 * L2-regularised logistic regression, multinomial (softmax) or one-vs-rest, solved with
 * L-BFGS (methods.md §4).
 *
 * Objective (multinomial): ½‖W‖² + C Σᵢ CE(softmax(Wᵀx̃ᵢ), cᵢ), with x̃ = [x, 1] when `bias` is on:
 * the bias is an extra feature equal to 1 and, like liblinear `-B 1`, regularised unless
 * `regularizeBias: false`. One-vs-rest fits one binary problem
 * ½‖w_c‖² + C Σᵢ log(1 + exp(−lᵢ w_cᵀx̃ᵢ)), lᵢ = ±1, per class; its probabilities are the
 * sigmoids normalised to sum to 1 (liblinear `-s 0 -b 1`).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { minimizeLbfgs } from "./lbfgs.ts";

/** Multiclass scheme. */
export type Multiclass = "multinomial" | "ovr";

/** Options of {@link fitLogreg}. */
export interface LogregOptions {
  /** Inverse regularisation strength C (default 30). */
  c?: number;
  /** Multinomial softmax or one-vs-rest sigmoids (default multinomial). */
  multiclass?: Multiclass;
  /** Append a constant-1 feature (default true). */
  bias?: boolean;
  /** Include the bias weight in ½‖W‖² (default true, as liblinear `-B 1`). */
  regularizeBias?: boolean;
  /** Number of classes (default max label + 1). */
  classes?: number;
  /**
   * L-BFGS stops when ‖∇‖∞ ≤ gradTol · max(1, ‖∇ at W = 0‖∞) (default 1e-8; no function-value
   * stop, so the KKT residual is what is controlled).
   */
  gradTol?: number;
  /** L-BFGS iteration cap (default 10000). */
  maxIter?: number;
}

/** A fitted model. */
export interface LogregModel {
  /** The scheme used. */
  multiclass: Multiclass;
  /** Weights, (p + bias) × classes; the last row is the bias when `bias` is true. */
  weights: Matrix;
  /** Whether a bias feature was appended. */
  bias: boolean;
  /** Solver report, one entry per optimisation (1 for multinomial, C for one-vs-rest). */
  solver: { iterations: number; gradNorm: number; converged: boolean; message: string }[];
}

/** Inputs of the objective functions, the design matrix already augmented. */
export interface LogregProblem {
  /** Row-major design matrix, N × d (bias column included if any). */
  x: Matrix;
  /** Labels in 0..classes−1. */
  labels: ArrayLike<number>;
  /** Number of classes. */
  classes: number;
  /** C. */
  c: number;
  /** Index of the unregularised weight row (the bias), or −1. */
  freeRow: number;
}

function augment(x: Matrix, bias: boolean): Matrix {
  if (!bias) return x;
  const d = x.cols + 1;
  const data = new Float64Array(x.rows * d);
  for (let i = 0; i < x.rows; i++) {
    data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), i * d);
    data[i * d + x.cols] = 1;
  }
  return { rows: x.rows, cols: d, data };
}

/**
 * Multinomial objective and gradient at `w` (row-major d × classes).
 * @returns the objective; the gradient is written into `grad`
 */
export function multinomialObjective(
  problem: LogregProblem,
  w: Float64Array,
  options: { grad: Float64Array },
): number {
  const grad = options.grad;
  const { x, labels, classes: k, c, freeRow } = problem;
  const d = x.cols;
  let f = 0;
  for (let j = 0; j < d; j++) {
    for (let a = 0; a < k; a++) {
      const v = w[j * k + a];
      if (j !== freeRow) {
        f += 0.5 * v * v;
        grad[j * k + a] = v;
      } else grad[j * k + a] = 0;
    }
  }
  const z = new Float64Array(k);
  for (let i = 0; i < x.rows; i++) {
    const xo = i * d;
    z.fill(0);
    for (let j = 0; j < d; j++) {
      const xv = x.data[xo + j];
      if (xv === 0) continue;
      const wo = j * k;
      for (let a = 0; a < k; a++) z[a] += xv * w[wo + a];
    }
    let mx = -Infinity;
    for (let a = 0; a < k; a++) if (z[a] > mx) mx = z[a];
    const yi = labels[i];
    const zy = z[yi] - mx;
    let se = 0;
    for (let a = 0; a < k; a++) {
      z[a] = Math.exp(z[a] - mx);
      se += z[a];
    }
    // CE = logsumexp(z) − z_y
    f += c * (Math.log(se) - zy);
    for (let a = 0; a < k; a++) z[a] = c * (z[a] / se - (a === yi ? 1 : 0));
    for (let j = 0; j < d; j++) {
      const xv = x.data[xo + j];
      if (xv === 0) continue;
      const wo = j * k;
      for (let a = 0; a < k; a++) grad[wo + a] += xv * z[a];
    }
  }
  return f;
}

/** log(1 + exp(−m)), stable. */
function softplusNeg(m: number): number {
  return m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
}

/**
 * Binary objective and gradient for class `options.cls` against the rest, at `w` (length d).
 * @returns the objective; the gradient is written into `grad`
 */
export function binaryObjective(
  problem: LogregProblem,
  w: Float64Array,
  options: { cls: number; grad: Float64Array },
): number {
  const { cls, grad } = options;
  const { x, labels, c, freeRow } = problem;
  const d = x.cols;
  let f = 0;
  for (let j = 0; j < d; j++) {
    if (j !== freeRow) {
      f += 0.5 * w[j] * w[j];
      grad[j] = w[j];
    } else grad[j] = 0;
  }
  for (let i = 0; i < x.rows; i++) {
    const xo = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x.data[xo + j] * w[j];
    const l = labels[i] === cls ? 1 : -1;
    const m = l * s;
    f += c * softplusNeg(m);
    // d/ds log(1+exp(−l s)) = −l σ(−l s)
    const sig = m > 0 ? Math.exp(-m) / (1 + Math.exp(-m)) : 1 / (1 + Math.exp(m));
    const coef = -c * l * sig;
    for (let j = 0; j < d; j++) grad[j] += coef * x.data[xo + j];
  }
  return f;
}

function checkInputs(x: Matrix, labels: ArrayLike<number>, classes: number): void {
  if (labels.length !== x.rows) {
    throw new Error(
      `logreg: ${x.rows} feature rows but ${labels.length} labels; pass one label per row`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= classes) {
      throw new Error(
        `logreg: label ${l} at row ${i} is not an integer in 0..${classes - 1}; ` +
          "labels must be 0-based class ids",
      );
    }
  }
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) {
      throw new Error(
        `logreg: feature value at row ${Math.floor(i / x.cols)}, column ${i % x.cols} is ` +
          `${x.data[i]}; remove or impute non-finite values first`,
      );
    }
  }
}

/**
 * Fit L2-regularised logistic regression.
 * @param x training features, N × p
 * @param labels 0-based class ids, length N
 */
export function fitLogreg(
  x: Matrix,
  labels: ArrayLike<number>,
  options: LogregOptions = {},
): LogregModel {
  let maxLabel = -1;
  for (let i = 0; i < labels.length; i++) maxLabel = Math.max(maxLabel, labels[i]);
  const classes = options.classes ?? maxLabel + 1;
  if (classes < 2) throw new Error(`logreg: need at least 2 classes, got ${classes}`);
  checkInputs(x, labels, classes);
  const c = options.c ?? 30;
  if (!(c > 0)) throw new Error(`logreg: C must be > 0, got ${c}`);
  const bias = options.bias ?? true;
  const multiclass = options.multiclass ?? "multinomial";
  const xa = augment(x, bias);
  const freeRow = bias && options.regularizeBias === false ? xa.cols - 1 : -1;
  const problem: LogregProblem = { x: xa, labels, classes, c, freeRow };
  const lopts = { gradTol: options.gradTol ?? 1e-8, fTol: 0, maxIter: options.maxIter ?? 10000 };
  const d = xa.cols;
  const weights: Matrix = { rows: d, cols: classes, data: new Float64Array(d * classes) };
  const solver: LogregModel["solver"] = [];
  if (multiclass === "multinomial") {
    const r = minimizeLbfgs(
      (w, g) => multinomialObjective(problem, w, { grad: g }),
      new Float64Array(d * classes),
      lopts,
    );
    weights.data.set(r.x);
    solver.push(report(r));
  } else if (multiclass === "ovr") {
    for (let a = 0; a < classes; a++) {
      const r = minimizeLbfgs(
        (w, g) => binaryObjective(problem, w, { cls: a, grad: g }),
        new Float64Array(d),
        lopts,
      );
      for (let j = 0; j < d; j++) weights.data[j * classes + a] = r.x[j];
      solver.push(report(r));
    }
  } else {
    throw new Error(`logreg: multiclass must be "multinomial" or "ovr", got ${multiclass}`);
  }
  return { multiclass, weights, bias, solver };
}

function report(
  r: { iterations: number; gradNorm: number; converged: boolean; message: string },
): LogregModel["solver"][number] {
  return {
    iterations: r.iterations,
    gradNorm: r.gradNorm,
    converged: r.converged,
    message: r.message,
  };
}

/**
 * Class posteriors, N × classes, rows summing to 1 (softmax, or normalised sigmoids for OvR).
 * @param model a fitted model
 * @param x features, N × p, same p as in training
 */
export function predictProba(model: LogregModel, x: Matrix): Matrix {
  const w = model.weights;
  const p = model.bias ? w.rows - 1 : w.rows;
  if (x.cols !== p) {
    throw new Error(`logreg: model expects ${p} features, got ${x.cols}`);
  }
  const k = w.cols;
  const out = new Float64Array(x.rows * k);
  const z = new Float64Array(k);
  for (let i = 0; i < x.rows; i++) {
    for (let a = 0; a < k; a++) z[a] = model.bias ? w.data[p * k + a] : 0;
    for (let j = 0; j < p; j++) {
      const xv = x.data[i * p + j];
      for (let a = 0; a < k; a++) z[a] += xv * w.data[j * k + a];
    }
    let s = 0;
    if (model.multiclass === "multinomial") {
      let mx = -Infinity;
      for (let a = 0; a < k; a++) mx = Math.max(mx, z[a]);
      for (let a = 0; a < k; a++) s += z[a] = Math.exp(z[a] - mx);
    } else {
      for (let a = 0; a < k; a++) s += z[a] = 1 / (1 + Math.exp(-z[a]));
    }
    for (let a = 0; a < k; a++) out[i * k + a] = z[a] / s;
  }
  return { rows: x.rows, cols: k, data: out };
}
