/**
 * Dense matrix helpers on the project's row-major {@link Matrix} type, and conversion to and
 * from `ml-matrix`. Loops are written on `Float64Array`s: for the sizes used here (N ≈ 2000 rows,
 * d ≤ a few hundred columns) they are faster than going through ml-matrix's array-of-rows.
 *
 * Products of at least {@link BLAS_MIN_FLOPS} multiply-adds ({@link matmul}, {@link crossprod},
 * {@link gram}, {@link gemm}) go to BLAS `dgemm`/`dsyrk` when the LAPACK backend is active
 * (`backend.ts`) and to the packed, register-tiled kernels of `gemm.ts` on the TypeScript backend;
 * smaller ones — every product of the Wikipedia feature release's 128/10-d views — stay on the
 * loops here on both backends, so their rounding does not depend on the backend.
 * @module
 */
import { Matrix as MlMatrixClass } from "ml-matrix";

/** ml-matrix's matrix ({@link toMl}, {@link fromMl}). */
export type MlMatrix = MlMatrixClass;
import { activeLapack } from "./backend.ts";
import type { Lapack } from "./lapack.ts";
import { gemmPacked, syrkPacked } from "./gemm.ts";

/** A dense row-major matrix of float64, the working type of the numerics. */
export interface Matrix {
  /** Number of rows (samples). */
  rows: number;
  /** Number of columns (features). */
  cols: number;
  /** Row-major values, length rows*cols. */
  data: Float64Array;
}

/** A `rows × cols` matrix of zeros. */
export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** The `n × n` identity, optionally scaled: `scale · I`. */
export function identity(n: number, options: { scale?: number } = {}): Matrix {
  const m = zeros(n, n);
  const s = options.scale ?? 1;
  for (let i = 0; i < n; i++) m.data[i * n + i] = s;
  return m;
}

/** Build a matrix from an array of equal-length rows. */
export function fromRows(rows: ArrayLike<ArrayLike<number>>): Matrix {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0].length;
  const m = zeros(r, c);
  for (let i = 0; i < r; i++) {
    if (rows[i].length !== c) {
      throw new Error(`fromRows: row ${i} has ${rows[i].length} values, row 0 has ${c}`);
    }
    for (let j = 0; j < c; j++) m.data[i * c + j] = rows[i][j];
  }
  return m;
}

/** The rows of a matrix as plain arrays (for tests and JSON). */
export function toRows(m: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) {
    out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  }
  return out;
}

/** A deep copy. */
export function clone(m: Matrix): Matrix {
  return { rows: m.rows, cols: m.cols, data: m.data.slice() };
}

/** Entry (i, j). */
export function get(m: Matrix, ij: readonly [number, number]): number {
  return m.data[ij[0] * m.cols + ij[1]];
}

/** Transpose. */
export function transpose(m: Matrix): Matrix {
  const out = zeros(m.cols, m.rows);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) out.data[j * m.rows + i] = m.data[o + j];
  }
  return out;
}

function checkInner(a: Matrix, b: Matrix, what: string, an: number, bn: number): void {
  if (an !== bn) {
    throw new Error(
      `${what}: inner dimensions differ (${a.rows}×${a.cols} and ${b.rows}×${b.cols})`,
    );
  }
}

/**
 * Multiply-adds from which a product goes to BLAS (2²⁷ ≈ 1.3·10⁸, about a tenth of a second in
 * the TypeScript loops).
 */
export const BLAS_MIN_FLOPS = 2 ** 27;

function blasFor(flops: number): Lapack | undefined {
  return flops >= BLAS_MIN_FLOPS ? activeLapack() : undefined;
}

/**
 * `op(a) · op(b)` with `op` the identity or the transpose (`transA`, `transB`), times `alpha`.
 * BLAS `dgemm` when the LAPACK backend is active and the product is large (see the module doc).
 */
export function gemm(
  a: Matrix,
  b: Matrix,
  options: { transA?: boolean; transB?: boolean; alpha?: number } = {},
): Matrix {
  const tA = options.transA ?? false, tB = options.transB ?? false;
  const m = tA ? a.cols : a.rows, k = tA ? a.rows : a.cols;
  const kb = tB ? b.cols : b.rows, n = tB ? b.rows : b.cols;
  checkInner(a, b, "gemm", k, kb);
  const alpha = options.alpha ?? 1;
  const blas = blasFor(m * n * k);
  if (!blas) {
    if (m * n * k >= BLAS_MIN_FLOPS) {
      const out = { rows: m, cols: n, data: gemmPacked(a, b, { transA: tA, transB: tB }) };
      if (alpha !== 1) { for (let i = 0; i < out.data.length; i++) out.data[i] *= alpha; }
      return out;
    }
    const out = tA
      ? crossprodLoops(a, tB ? transpose(b) : b)
      : matmulLoops(a, tB ? transpose(b) : b);
    if (alpha !== 1) { for (let i = 0; i < out.data.length; i++) out.data[i] *= alpha; }
    return out;
  }
  // Row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ, and a row-major buffer read
  // column-major is the transpose: so B goes first, with its own transpose flag.
  const out = zeros(m, n);
  blas.gemm({ m: n, n: m, k }, {
    transA: tB,
    transB: tA,
    a: b.data,
    lda: b.cols,
    b: a.data,
    ldb: a.cols,
    c: out.data,
    ldc: n,
    alpha,
  });
  return out;
}

/** Matrix product `a · b`. */
export function matmul(a: Matrix, b: Matrix): Matrix {
  checkInner(a, b, "matmul", a.cols, b.rows);
  if (a.rows * a.cols * b.cols >= BLAS_MIN_FLOPS) return gemm(a, b);
  return matmulLoops(a, b);
}

function matmulLoops(a: Matrix, b: Matrix): Matrix {
  const n = a.rows, k = a.cols, m = b.cols;
  const out = zeros(n, m);
  const A = a.data, B = b.data, C = out.data;
  for (let i = 0; i < n; i++) {
    const co = i * m;
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p];
      if (aip === 0) continue;
      const bo = p * m;
      for (let j = 0; j < m; j++) C[co + j] += aip * B[bo + j];
    }
  }
  return out;
}

/** `aᵀ · b` without forming the transpose (a is N×p, b is N×q, the result p×q). */
export function crossprod(a: Matrix, b: Matrix): Matrix {
  checkInner(a, b, "crossprod", a.rows, b.rows);
  if (a.rows * a.cols * b.cols >= BLAS_MIN_FLOPS) return gemm(a, b, { transA: true });
  return crossprodLoops(a, b);
}

function crossprodLoops(a: Matrix, b: Matrix): Matrix {
  const p = a.cols, q = b.cols;
  const out = zeros(p, q);
  const A = a.data, B = b.data, C = out.data;
  for (let r = 0; r < a.rows; r++) {
    const ao = r * p, bo = r * q;
    for (let i = 0; i < p; i++) {
      const v = A[ao + i];
      if (v === 0) continue;
      const co = i * q;
      for (let j = 0; j < q; j++) C[co + j] += v * B[bo + j];
    }
  }
  return out;
}

/** The Gram matrix `aᵀa` (exactly symmetric). */
export function gram(a: Matrix): Matrix {
  const p = a.cols;
  const big = a.rows * p * p / 2 >= BLAS_MIN_FLOPS;
  const blas = big ? activeLapack() : undefined;
  if (big && !blas) return { rows: p, cols: p, data: syrkPacked(a, { transA: true }) };
  const out = zeros(p, p);
  const A = a.data, C = out.data;
  if (blas) {
    // Row-major A read column-major is Aᵀ (p × N): dsyrk without transpose gives AᵀA; its upper
    // triangle (column-major) is the lower one row-major, mirrored below.
    blas.syrk({ n: p, k: a.rows }, { trans: false, a: A, lda: p, c: C });
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) C[i * p + j] = C[j * p + i];
    return out;
  }
  for (let r = 0; r < a.rows; r++) {
    const o = r * p;
    for (let i = 0; i < p; i++) {
      const v = A[o + i];
      if (v === 0) continue;
      const co = i * p;
      for (let j = i; j < p; j++) C[co + j] += v * A[o + j];
    }
  }
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < i; j++) C[i * p + j] = C[j * p + i];
  }
  return out;
}

/** Elementwise `a + b`. */
export function add(a: Matrix, b: Matrix): Matrix {
  sameShape(a, b, "add");
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] + b.data[i];
  return out;
}

/** Elementwise `a − b`. */
export function sub(a: Matrix, b: Matrix): Matrix {
  sameShape(a, b, "sub");
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] - b.data[i];
  return out;
}

/** `s · a`. */
export function scale(a: Matrix, s: number): Matrix {
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.data.length; i++) out.data[i] = a.data[i] * s;
  return out;
}

/** `a + s·I` for a square `a`. */
export function addIdentity(a: Matrix, s: number): Matrix {
  square(a, "addIdentity");
  const out = clone(a);
  for (let i = 0; i < a.rows; i++) out.data[i * a.cols + i] += s;
  return out;
}

/** `(a + aᵀ)/2`. */
export function symmetrize(a: Matrix): Matrix {
  square(a, "symmetrize");
  const n = a.rows;
  const out = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out.data[i * n + j] = (a.data[i * n + j] + a.data[j * n + i]) / 2;
  }
  return out;
}

/** Sum of the diagonal. */
export function trace(a: Matrix): number {
  square(a, "trace");
  let s = 0;
  for (let i = 0; i < a.rows; i++) s += a.data[i * a.cols + i];
  return s;
}

/** Frobenius norm. */
export function frobenius(a: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * a.data[i];
  return Math.sqrt(s);
}

/** Largest absolute entrywise difference between two matrices of the same shape. */
export function maxAbsDiff(a: Matrix, b: Matrix): number {
  sameShape(a, b, "maxAbsDiff");
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** Column means (length = cols). */
export function columnMeans(a: Matrix): Float64Array {
  const out = new Float64Array(a.cols);
  for (let r = 0; r < a.rows; r++) {
    const o = r * a.cols;
    for (let j = 0; j < a.cols; j++) out[j] += a.data[o + j];
  }
  for (let j = 0; j < a.cols; j++) out[j] /= a.rows;
  return out;
}

/**
 * Column standard deviations. `ddof` 0 (the default) gives the population std, MATLAB
 * `std(X,1)`; 1 gives the sample std.
 */
export function columnStds(a: Matrix, options: { ddof?: number } = {}): Float64Array {
  const mean = columnMeans(a);
  const out = new Float64Array(a.cols);
  for (let r = 0; r < a.rows; r++) {
    const o = r * a.cols;
    for (let j = 0; j < a.cols; j++) out[j] += (a.data[o + j] - mean[j]) ** 2;
  }
  const denom = a.rows - (options.ddof ?? 0);
  for (let j = 0; j < a.cols; j++) out[j] = Math.sqrt(out[j] / denom);
  return out;
}

/** `(a − shift) / div` column by column; a zero or non-finite divisor gives a zero column. */
export function scaleColumns(
  a: Matrix,
  options: { shift?: ArrayLike<number>; div?: ArrayLike<number> },
): Matrix {
  const out = zeros(a.rows, a.cols);
  const shift = options.shift, div = options.div;
  for (let r = 0; r < a.rows; r++) {
    const o = r * a.cols;
    for (let j = 0; j < a.cols; j++) {
      let v = a.data[o + j] - (shift ? shift[j] : 0);
      if (div) v = v / div[j];
      out.data[o + j] = Number.isFinite(v) ? v : 0;
    }
  }
  return out;
}

/** Columns `[start, end)` of a matrix. */
export function sliceCols(a: Matrix, range: readonly [number, number]): Matrix {
  const [s, e] = range;
  if (s < 0 || e > a.cols || s > e) {
    throw new Error(`sliceCols: bad range [${s}, ${e}) of ${a.cols}`);
  }
  const out = zeros(a.rows, e - s);
  for (let r = 0; r < a.rows; r++) {
    out.data.set(a.data.subarray(r * a.cols + s, r * a.cols + e), r * (e - s));
  }
  return out;
}

/** Rows `[start, end)` of a matrix. */
export function sliceRows(a: Matrix, range: readonly [number, number]): Matrix {
  const [s, e] = range;
  if (s < 0 || e > a.rows || s > e) {
    throw new Error(`sliceRows: bad range [${s}, ${e}) of ${a.rows}`);
  }
  return { rows: e - s, cols: a.cols, data: a.data.slice(s * a.cols, e * a.cols) };
}

/** Place square blocks on a block grid: `blocks[r][c]` (null = zeros). Sizes come from the diagonal. */
export function blockMatrix(blocks: readonly (readonly (Matrix | null)[])[]): Matrix {
  const nb = blocks.length;
  const sizes: number[] = [];
  for (let r = 0; r < nb; r++) {
    const d = blocks[r][r];
    if (!d) throw new Error(`blockMatrix: diagonal block ${r} is missing`);
    sizes.push(d.rows);
  }
  const offs = [0];
  for (const s of sizes) offs.push(offs[offs.length - 1] + s);
  const n = offs[nb];
  const out = zeros(n, n);
  for (let r = 0; r < nb; r++) {
    for (let c = 0; c < nb; c++) {
      const b = blocks[r][c];
      if (!b) continue;
      if (b.rows !== sizes[r] || b.cols !== sizes[c]) {
        throw new Error(
          `blockMatrix: block (${r},${c}) is ${b.rows}×${b.cols}, expected ${sizes[r]}×${sizes[c]}`,
        );
      }
      for (let i = 0; i < b.rows; i++) {
        out.data.set(b.data.subarray(i * b.cols, (i + 1) * b.cols), (offs[r] + i) * n + offs[c]);
      }
    }
  }
  return out;
}

/** Convert to an `ml-matrix` Matrix (copies). */
export function toMl(m: Matrix): MlMatrix {
  const out = new MlMatrixClass(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) out.set(i, j, m.data[i * m.cols + j]);
  }
  return out;
}

/** Convert from an `ml-matrix` Matrix (copies). */
export function fromMl(m: MlMatrix): Matrix {
  const out = zeros(m.rows, m.columns);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.columns; j++) out.data[i * m.columns + j] = m.get(i, j);
  }
  return out;
}

function sameShape(a: Matrix, b: Matrix, what: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new Error(`${what}: shapes differ (${a.rows}×${a.cols} and ${b.rows}×${b.cols})`);
  }
}

function square(a: Matrix, what: string): void {
  if (a.rows !== a.cols) throw new Error(`${what}: matrix must be square, got ${a.rows}×${a.cols}`);
}

/**
 * Projects new rows of two views with fitted linear maps: `(x − meanX)·wx` and/or
 * `(y − meanY)·wy` (CCA, MsAlg and the like).
 * @param views the rows to project (either or both)
 * @param model the maps and the train means; `name` prefixes the width-mismatch error
 */
export function projectCentred(
  views: { x?: Matrix; y?: Matrix },
  model: {
    name: string;
    wx: Matrix;
    wy: Matrix;
    meanX: ArrayLike<number>;
    meanY: ArrayLike<number>;
  },
): { x?: Matrix; y?: Matrix } {
  const out: { x?: Matrix; y?: Matrix } = {};
  for (const v of ["x", "y"] as const) {
    const rows = views[v];
    if (!rows) continue;
    const w = v === "x" ? model.wx : model.wy;
    if (rows.cols !== w.rows) {
      throw new Error(`${model.name}: ${v} has ${rows.cols} columns, model expects ${w.rows}`);
    }
    out[v] = matmul(scaleColumns(rows, { shift: v === "x" ? model.meanX : model.meanY }), w);
  }
  return out;
}
