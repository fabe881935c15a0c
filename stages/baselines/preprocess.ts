/**
 * Per-view preprocessing shared by the baseline stages: column normalisation and PCA.
 *
 * Normalisation modes (`normalize` param):
 * - `zscore`: subtract the train mean, divide by the train population std (`std(X,1)`); a zero
 *   std gives a zero column (NaN→0, like SVCL `cca3.m`). Test rows use the train statistics.
 * - `center`: subtract the train mean (test uses it too).
 * - `split-l2`: methods.md §6 quirk. Each split (train, test) is centred by its OWN column mean
 *   and each column is divided by its own L2 norm (sqrt of the column sum of squares); NaN→0.
 * - `none`: unchanged.
 *
 * PCA modes (`pca` param):
 * - `standard`: fit on train (train mean, covariance eigenvectors), keep `k` components or the
 *   smallest k reaching an `energy` fraction; both splits are mapped with the train mean.
 * - `pcain`: methods.md §6 `pcaIn` (Sharma's Newgma): centre train, keep the smallest k whose
 *   cumulative eigenvalue ratio is ≥ energy (or `k`), unit-norm axes; train scores are
 *   re-centred; test = test·axes, NOT re-centred.
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";
import {
  columnMeans,
  columnStds,
  crossprod,
  gram,
  matmul,
  scaleColumns,
  sliceCols,
  symEig,
  transpose,
} from "../linalg/mod.ts";

/** Column normalisation mode. */
export type Normalize = "zscore" | "center" | "split-l2" | "none";

/** PCA mode. */
export type PcaMode = "none" | "standard" | "pcain";

/** Allowed values of {@link Normalize}, for param declarations. */
export const NORMALIZE_MODES: readonly Normalize[] = ["zscore", "center", "split-l2", "none"];

/** Allowed values of {@link PcaMode}, for param declarations. */
export const PCA_MODES: readonly PcaMode[] = ["none", "standard", "pcain"];

/** A train/test pair of one view. */
export interface Split {
  /** Train rows. */
  train: Matrix;
  /** Test rows. */
  test: Matrix;
}

function columnL2(a: Matrix): Float64Array {
  const out = new Float64Array(a.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let j = 0; j < a.cols; j++) out[j] += a.data[r * a.cols + j] ** 2;
  }
  for (let j = 0; j < a.cols; j++) out[j] = Math.sqrt(out[j]);
  return out;
}

function splitL2(a: Matrix): Matrix {
  const c = scaleColumns(a, { shift: columnMeans(a) });
  return scaleColumns(c, { div: columnL2(c) });
}

/** Normalise one view's train and test rows (see the module doc for the modes). */
export function normalizeSplit(split: Split, options: { mode: Normalize }): Split {
  const { train, test } = split;
  if (train.cols !== test.cols) {
    throw new Error(`normalize: train has ${train.cols} columns and test ${test.cols}`);
  }
  switch (options.mode) {
    case "none":
      return { train, test };
    case "center": {
      const m = columnMeans(train);
      return { train: scaleColumns(train, { shift: m }), test: scaleColumns(test, { shift: m }) };
    }
    case "zscore": {
      const m = columnMeans(train), s = columnStds(train);
      return {
        train: scaleColumns(train, { shift: m, div: s }),
        test: scaleColumns(test, { shift: m, div: s }),
      };
    }
    case "split-l2":
      return { train: splitL2(train), test: splitL2(test) };
    default:
      throw new Error(
        `normalize: unknown mode "${options.mode}"; use one of ${NORMALIZE_MODES.join(", ")}`,
      );
  }
}

/** A PCA fitted on train rows. */
export interface PcaModel {
  /** Train column mean. */
  mean: Float64Array;
  /** `d × k` unit-norm principal axes, by decreasing variance. */
  axes: Matrix;
  /** All covariance eigenvalues (descending, clipped at 0), on the `/(N−1)` scale. */
  values: Float64Array;
  /** Components kept. */
  k: number;
  /** Fraction of the total variance kept. */
  energy: number;
}

/**
 * Fit PCA on train rows. Give `k` (components) or `energy` (keep the smallest k whose
 * cumulative eigenvalue ratio is ≥ energy); `k` wins if both are given (> 0).
 *
 * With more columns than rows (CNN features: 4096-d fc6, ~2000 training images) the axes come from
 * the n×n Gram matrix instead of the d×d covariance (`method: "auto"`): the non-zero eigenvalues
 * are the same, and each axis is `Xcᵀu / ‖Xcᵀu‖` for a Gram eigenvector u, which costs
 * O(n²d + n³) instead of O(nd² + d³). `method` forces one path (tests compare them).
 */
export function fitPca(
  x: Matrix,
  options: { k?: number; energy?: number; method?: "auto" | "covariance" | "gram" },
): PcaModel {
  const mean = columnMeans(x);
  const xc = scaleColumns(x, { shift: mean });
  const n1 = Math.max(x.rows - 1, 1);
  const fitsGram = !(options.k && options.k > x.rows - 1);
  const method = options.method ?? "auto";
  const useGram = method === "gram" || (method === "auto" && x.cols > x.rows && fitsGram);
  let values: Float64Array;
  let eigenvectors: Matrix; // d × d (covariance) or n × n (Gram)
  if (useGram) {
    const g = gram(transpose(xc)); // Xc Xcᵀ, n × n
    for (let i = 0; i < g.data.length; i++) g.data[i] /= n1;
    const e = symEig(g);
    values = new Float64Array(x.cols);
    // Centring leaves rank ≤ n − 1: the n-th Gram eigenvalue is 0 up to rounding (whose sign
    // depends on the backend), so it is set to 0 exactly.
    for (let i = 0; i < Math.min(e.values.length, x.cols, x.rows - 1); i++) {
      values[i] = Math.max(e.values[i], 0);
    }
    eigenvectors = e.vectors;
  } else {
    const c = gram(xc);
    for (let i = 0; i < c.data.length; i++) c.data[i] /= n1;
    const e = symEig(c);
    values = e.values.map((v) => Math.max(v, 0));
    eigenvectors = e.vectors;
  }
  const total = values.reduce((a, b) => a + b, 0);
  let k: number;
  if (options.k && options.k > 0) {
    if (!Number.isInteger(options.k) || options.k > x.cols) {
      throw new Error(`pca: k = ${options.k} must be an integer ≤ the dimension ${x.cols}`);
    }
    k = options.k;
  } else if (options.energy !== undefined && options.energy > 0 && options.energy <= 1) {
    k = 0;
    let run = 0, ratio = 0;
    while (ratio < options.energy && k < values.length) {
      run += values[k++];
      ratio = total > 0 ? run / total : 1;
    }
  } else {
    throw new Error("pca: give k > 0 (components) or energy in (0, 1] (variance fraction)");
  }
  // Beyond the Gram path's n axes the eigenvalues are 0: an energy of 1 never needs them.
  k = Math.min(k, eigenvectors.cols);
  let kept = 0;
  for (let i = 0; i < k; i++) kept += values[i];
  return {
    mean,
    axes: useGram ? gramAxes(xc, sliceCols(eigenvectors, [0, k])) : sliceCols(eigenvectors, [0, k]),
    values,
    k,
    energy: total > 0 ? kept / total : 1,
  };
}

/** Unit-norm covariance axes `Xcᵀu / ‖Xcᵀu‖` from Gram eigenvectors u (the columns of `u`). */
function gramAxes(xc: Matrix, u: Matrix): Matrix {
  const axes = crossprod(xc, u); // d × k
  const d = axes.rows, k = axes.cols;
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let i = 0; i < d; i++) norm += axes.data[i * k + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < d; i++) axes.data[i * k + j] = norm > 0 ? axes.data[i * k + j] / norm : 0;
  }
  return axes;
}

/** Apply PCA to a view (see the module doc for `standard` vs `pcain`). */
export function pcaSplit(
  split: Split,
  options: { mode: PcaMode; k?: number; energy?: number },
): Split & { model?: PcaModel } {
  if (options.mode === "none") return { ...split };
  const model = fitPca(split.train, options);
  if (options.mode === "standard") {
    return {
      train: matmul(scaleColumns(split.train, { shift: model.mean }), model.axes),
      test: matmul(scaleColumns(split.test, { shift: model.mean }), model.axes),
      model,
    };
  }
  if (options.mode === "pcain") {
    const scores = matmul(scaleColumns(split.train, { shift: model.mean }), model.axes);
    return {
      train: scaleColumns(scores, { shift: columnMeans(scores) }),
      test: matmul(split.test, model.axes),
      model,
    };
  }
  throw new Error(`pca: unknown mode "${options.mode}"; use one of ${PCA_MODES.join(", ")}`);
}
