/**
 * Eigen- and singular-value solvers on {@link Matrix}: symmetric eigendecomposition (sorted
 * descending), the generalized symmetric-definite problem `A v = λ B v` by Cholesky whitening,
 * symmetric matrix powers, and the SVD.
 *
 * Backends (see `backend.ts`): with a system LAPACK loaded, {@link symEig} is `dsyevd` (`dsyevr`
 * for a top-k subset with k < n/2),
 * {@link genSymEig} is `dsygvd` and {@link cholesky} is `dpotrf`; otherwise the pure-TypeScript
 * path runs (`sym_eig.ts` for the symmetric eigenproblem — Householder tridiagonalisation and
 * implicit QL on flat row-major arrays, its hot loops as wasm SIMD kernels — and Cholesky and the
 * triangular solves written here on `Float64Array`s). The SVD is ml-matrix's on both backends.
 *
 * Conventions, the same on both backends so that results agree across them: eigenvalues
 * descending (ties keep the solver's order), and each eigenvector's sign fixed by
 * {@link fixSigns} (its first entry within a relative 1e-6 of its largest magnitude is positive).
 * @module
 */
import { SingularValueDecomposition } from "ml-matrix";
import { activeLapack } from "./backend.ts";
import { fromMl, type Matrix, toMl, zeros } from "./matrix.ts";
import { symEigTs } from "./sym_eig.ts";

/** Eigenvalues (descending) and eigenvectors (columns, in the same order). */
export interface Eigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** `n × k` matrix whose column i is the eigenvector of `values[i]`. */
  vectors: Matrix;
}

function assertSquare(a: Matrix, what: string): void {
  if (a.rows !== a.cols) throw new Error(`${what}: matrix must be square, got ${a.rows}×${a.cols}`);
}

function assertFinite(a: Matrix, what: string): void {
  for (let i = 0; i < a.data.length; i++) {
    if (!Number.isFinite(a.data[i])) {
      throw new Error(
        `${what}: matrix has a non-finite entry at (${Math.floor(i / a.cols)}, ${
          i % a.cols
        }); check the input features for NaN/Inf`,
      );
    }
  }
}

/**
 * Make each column's sign deterministic, in place: the first entry whose magnitude is within a
 * relative 1e-6 of the column's largest magnitude is made positive. (The tolerance keeps a pair
 * like `(1, −1)/√2` from flipping on rounding-level differences between backends.)
 */
export function fixSigns(vectors: Matrix): Matrix {
  const { rows, cols, data } = vectors;
  for (let c = 0; c < cols; c++) {
    let top = 0;
    for (let r = 0; r < rows; r++) top = Math.max(top, Math.abs(data[r * cols + c]));
    if (top === 0) continue;
    let r = 0;
    while (Math.abs(data[r * cols + c]) < top * (1 - 1e-6)) r++;
    if (data[r * cols + c] < 0) {
      for (let i = 0; i < rows; i++) data[i * cols + c] = -data[i * cols + c];
    }
  }
  return vectors;
}

/**
 * Keep the `k` largest eigenpairs, descending (ties keep the solver's order: stable sort). The
 * vector of eigenvalue i is read by `vector(i, r)` (entry r), so column- and row-major sources both
 * work without a transpose.
 */
function ordered(
  values: ArrayLike<number>,
  source: { rows: number; vector: (i: number, r: number) => number },
  k: number,
): Eigen {
  const n = values.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a]);
  const kk = Math.min(k, n);
  const out = zeros(source.rows, kk);
  const vals = new Float64Array(kk);
  for (let c = 0; c < kk; c++) {
    const src = idx[c];
    vals[c] = values[src];
    for (let r = 0; r < source.rows; r++) out.data[r * kk + c] = source.vector(src, r);
  }
  return { values: vals, vectors: fixSigns(out) };
}

/** Eigenpairs from LAPACK's column-major output (column i of `a` is eigenvector i). */
function orderedColumnMajor(w: Float64Array, a: Float64Array, k: number): Eigen {
  const n = w.length;
  return ordered(w, { rows: n, vector: (i, r) => a[i * n + r] }, k);
}

/** `(A + Aᵀ)/2`, and `reg` added to the diagonal. */
function symmetricPart(a: Matrix, reg = 0): Float64Array {
  const n = a.rows;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = (a.data[i * n + j] + a.data[j * n + i]) / 2;
    out[i * n + i] += reg;
  }
  return out;
}

function notPositiveDefinite(pivot: number, value: string): Error {
  return new Error(
    `cholesky: matrix is not positive definite (pivot ${pivot} = ${value}); ` +
      "add regularisation (a positive `reg`) or reduce the dimension with PCA",
  );
}

/**
 * Eigendecomposition of a symmetric matrix, eigenvalues sorted descending, unit-norm
 * eigenvectors. Only the symmetric part `(A+Aᵀ)/2` is used.
 * @param a symmetric `n × n` matrix
 * @param options `k`: keep only the k largest (default all)
 */
export function symEig(a: Matrix, options: { k?: number } = {}): Eigen {
  assertSquare(a, "symEig");
  assertFinite(a, "symEig");
  const n = a.rows;
  if (n === 0) return { values: new Float64Array(0), vectors: zeros(0, 0) };
  const s = symmetricPart(a);
  const k = options.k ?? n;
  const lapack = activeLapack();
  if (lapack) {
    const w = new Float64Array(n);
    if (k < n / 2) {
      // A top-k subset (PCA-1000 of a 2173² Gram matrix): dsyevr computes only those vectors.
      const kk = Math.max(k, 0);
      if (kk === 0) return { values: new Float64Array(0), vectors: zeros(n, 0) };
      const z = new Float64Array(n * kk);
      const info = lapack.syevrTop(n, { k: kk, a: s, w, z });
      if (info !== 0) throw new Error(`symEig: LAPACK dsyevr failed (info = ${info})`);
      return ordered(w.subarray(0, kk), { rows: n, vector: (i, r) => z[i * n + r] }, kk);
    }
    const info = lapack.syevd(n, { a: s, w });
    if (info !== 0) throw new Error(`symEig: LAPACK dsyevd failed (info = ${info})`);
    return orderedColumnMajor(w, s, k);
  }
  const evd = symEigTs(s, n);
  const v = evd.vectors;
  return ordered(evd.values, { rows: n, vector: (i, r) => v[r * n + i] }, k);
}

/**
 * Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric positive-definite matrix.
 * Throws, naming the failing pivot, if `A` is not positive definite.
 */
export function cholesky(a: Matrix): Matrix {
  assertSquare(a, "cholesky");
  const n = a.rows;
  const lapack = activeLapack();
  if (lapack) {
    // Row-major symmetric A is its own column-major layout; dpotrf's column-major upper factor U
    // (A = UᵀU) read row-major is L = Uᵀ, in the lower triangle.
    const f = a.data.slice();
    const info = lapack.potrf(n, f);
    if (info > 0) notPositiveDefiniteAt(a, info - 1);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) f[i * n + j] = 0;
    return { rows: n, cols: n, data: f };
  }
  const L = zeros(n, n);
  const A = a.data, D = L.data;
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= D[j * n + k] * D[j * n + k];
    if (!(s > 0)) throw notPositiveDefinite(j, String(s));
    const d = Math.sqrt(s);
    D[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j];
      for (let k = 0; k < j; k++) t -= D[i * n + k] * D[j * n + k];
      D[i * n + j] = t / d;
    }
  }
  return L;
}

/** Throw the not-positive-definite error for LAPACK's failing pivot `j` (0-based). */
function notPositiveDefiniteAt(a: Matrix, j: number): never {
  throw notPositiveDefinite(j, `≤ 0 after elimination; diagonal entry ${a.data[j * a.cols + j]}`);
}

/**
 * Solve `A X = B` for symmetric positive-definite `A` (Cholesky: LAPACK `dpotrf` + `dpotrs`, or
 * the TypeScript factor and triangular solves). Throws like {@link cholesky} when A is not SPD.
 */
export function solveSpd(a: Matrix, b: Matrix): Matrix {
  assertSquare(a, "solveSpd");
  if (b.rows !== a.rows) throw new Error(`solveSpd: B has ${b.rows} rows, A is ${a.rows}²`);
  const lapack = activeLapack();
  if (!lapack) {
    const l = cholesky(a);
    return solveLowerTransposed(l, solveLower(l, b));
  }
  const n = a.rows, m = b.cols;
  const f = a.data.slice();
  const info = lapack.potrf(n, f);
  if (info > 0) notPositiveDefiniteAt(a, info - 1);
  // Column-major right-hand sides: the transpose of row-major B.
  const x = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) x[j * n + i] = b.data[i * m + j];
  lapack.potrs(n, { factor: f, b: x, nrhs: m });
  const out = zeros(n, m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out.data[i * m + j] = x[j * n + i];
  return out;
}

/** Solve `L X = B` for lower-triangular `L` (forward substitution, all columns of B). */
export function solveLower(l: Matrix, b: Matrix): Matrix {
  assertSquare(l, "solveLower");
  if (b.rows !== l.rows) throw new Error(`solveLower: B has ${b.rows} rows, L is ${l.rows}²`);
  const n = l.rows, m = b.cols;
  const X = b.data.slice();
  const L = l.data;
  for (let i = 0; i < n; i++) {
    const xo = i * m;
    for (let k = 0; k < i; k++) {
      const lik = L[i * n + k];
      if (lik === 0) continue;
      const ko = k * m;
      for (let j = 0; j < m; j++) X[xo + j] -= lik * X[ko + j];
    }
    const d = L[i * n + i];
    for (let j = 0; j < m; j++) X[xo + j] /= d;
  }
  return { rows: n, cols: m, data: X };
}

/** Solve `Lᵀ X = B` for lower-triangular `L` (back substitution, all columns of B). */
export function solveLowerTransposed(l: Matrix, b: Matrix): Matrix {
  assertSquare(l, "solveLowerTransposed");
  if (b.rows !== l.rows) {
    throw new Error(`solveLowerTransposed: B has ${b.rows} rows, L is ${l.rows}²`);
  }
  const n = l.rows, m = b.cols;
  const X = b.data.slice();
  const L = l.data;
  for (let i = n - 1; i >= 0; i--) {
    const xo = i * m;
    for (let k = i + 1; k < n; k++) {
      const lki = L[k * n + i]; // (Lᵀ)[i][k]
      if (lki === 0) continue;
      const ko = k * m;
      for (let j = 0; j < m; j++) X[xo + j] -= lki * X[ko + j];
    }
    const d = L[i * n + i];
    for (let j = 0; j < m; j++) X[xo + j] /= d;
  }
  return { rows: n, cols: m, data: X };
}

/**
 * Generalized symmetric-definite eigenproblem `A v = λ (B + reg·I) v` by Cholesky whitening:
 * `B + reg·I = L Lᵀ`, eigendecompose `C = L⁻¹ A L⁻ᵀ = U Λ Uᵀ`, then `V = L⁻ᵀ U`.
 *
 * Eigenvalues are sorted descending and the eigenvectors are B-normalised:
 * `vᵢᵀ (B + reg·I) vⱼ = δᵢⱼ` (what MATLAB `eig(A,B)`/`eigs(A,B)` return for SPD B).
 * Only the symmetric parts of A and B are used.
 * @param a symmetric `n × n`
 * @param b symmetric positive (semi-)definite `n × n`; with `reg > 0` it may be singular
 * @param options `reg` (default 0) is added to B's diagonal; `k` keeps the k largest
 */
export function genSymEig(
  a: Matrix,
  b: Matrix,
  options: { reg?: number; k?: number } = {},
): Eigen {
  assertSquare(a, "genSymEig(A)");
  assertSquare(b, "genSymEig(B)");
  if (a.rows !== b.rows) throw new Error(`genSymEig: A is ${a.rows}², B is ${b.rows}²`);
  assertFinite(a, "genSymEig(A)");
  assertFinite(b, "genSymEig(B)");
  const n = a.rows;
  const bs: Matrix = { rows: n, cols: n, data: symmetricPart(b, options.reg ?? 0) };
  const as: Matrix = { rows: n, cols: n, data: symmetricPart(a) };
  const lapack = activeLapack();
  if (lapack) {
    const w = new Float64Array(n);
    const bf = bs.data.slice();
    const info = lapack.sygvd(n, { a: as.data, b: bf, w });
    if (info > n) notPositiveDefiniteAt(bs, info - n - 1);
    if (info !== 0) throw new Error(`genSymEig: LAPACK dsygvd failed (info = ${info})`);
    return orderedColumnMajor(w, as.data, options.k ?? n);
  }
  const L = cholesky(bs);
  const Y = solveLower(L, as); // L⁻¹ A
  // C = L⁻¹ (L⁻¹ A)ᵀ = L⁻¹ Aᵀ L⁻ᵀ = L⁻¹ A L⁻ᵀ
  const yt = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) yt.data[j * n + i] = Y.data[i * n + j];
  }
  const C = solveLower(L, yt);
  const e = symEig(C, { k: options.k });
  const V = solveLowerTransposed(L, e.vectors);
  return { values: e.values, vectors: fixSigns(V) };
}

/**
 * A symmetric matrix to a real power through its eigendecomposition, e.g. `power: -0.5`
 * for `A^{-1/2}`. For negative powers, eigenvalues at or below `floor` (default
 * 1e-12 · the largest |eigenvalue|, i.e. numerically singular) are rejected with a message
 * naming the fix.
 */
export function symPower(a: Matrix, options: { power: number; floor?: number }): Matrix {
  const e = symEig(a);
  const n = a.rows;
  let top = 0;
  for (const v of e.values) top = Math.max(top, Math.abs(v));
  const floor = options.floor ?? 1e-12 * top;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const l = e.values[i];
    if (options.power < 0 && !(l > floor)) {
      throw new Error(
        `symPower: eigenvalue ${l} ≤ ${floor} cannot be raised to ${options.power}; ` +
          "the matrix is singular: add regularisation (reg > 0) or use fewer components",
      );
    }
    f[i] = Math.max(l, 0) ** options.power;
  }
  const V = e.vectors;
  const out = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V.data[i * n + k] * f[k] * V.data[j * n + k];
      out.data[i * n + j] = s;
      out.data[j * n + i] = s;
    }
  }
  return out;
}

/** Thin SVD `A = U diag(s) Vᵀ`, singular values descending. */
export interface Svd {
  /** `m × r` left singular vectors, r = min(m, n). */
  u: Matrix;
  /** Singular values, descending, length r. */
  s: Float64Array;
  /** `n × r` right singular vectors. */
  v: Matrix;
}

/** Thin singular value decomposition (ml-matrix's Golub–Kahan SVD). */
export function svd(a: Matrix): Svd {
  assertFinite(a, "svd");
  const r = Math.min(a.rows, a.cols);
  const dec = new SingularValueDecomposition(toMl(a), { autoTranspose: true });
  const U = fromMl(dec.leftSingularVectors);
  const V = fromMl(dec.rightSingularVectors);
  const d = dec.diagonal;
  const idx = Array.from({ length: d.length }, (_, i) => i).sort((x, y) => d[y] - d[x]).slice(
    0,
    r,
  );
  const u = zeros(a.rows, r), v = zeros(a.cols, r), s = new Float64Array(r);
  idx.forEach((src, c) => {
    s[c] = d[src];
    for (let i = 0; i < a.rows; i++) u.data[i * r + c] = U.data[i * U.cols + src];
    for (let i = 0; i < a.cols; i++) v.data[i * r + c] = V.data[i * V.cols + src];
  });
  return { u, s, v };
}
