/**
 * Two-dimensional PCA for Fig. 6: fit on the stacked test embeddings, project points and class
 * centers with the same mean and axes. Uses block power (subspace) iteration on XᵀX with a
 * Rayleigh–Ritz step, so a 1386×2048 embedding costs ~100 mat-vecs, not a 2048² eigensolve.
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";
import { mulberry32 } from "../util/rng.ts";

/** A fitted 2-D PCA. */
export interface Pca2 {
  /** Column mean of the fitted data (length d). */
  mean: Float64Array;
  /** The two unit principal axes, row-major 2×d; axis 0 has the larger variance. */
  axes: Float64Array;
  /** Variance along each axis (population, divided by n). */
  variance: [number, number];
  /** Fraction of the total variance the two axes explain. */
  explained: number;
}

/** Normalise each row to unit L2 length (zero rows stay zero). */
export function unitRows(m: Matrix): Matrix {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += m.data[i * m.cols + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < m.cols; j++) out[i * m.cols + j] = m.data[i * m.cols + j] * inv;
  }
  return { rows: m.rows, cols: m.cols, data: out };
}

/** Stack matrices with the same width on top of each other. */
export function stackRows(parts: Matrix[]): Matrix {
  if (parts.length === 0) throw new Error("stackRows: nothing to stack");
  const cols = parts[0].cols;
  for (const p of parts) {
    if (p.cols !== cols) {
      throw new Error(`stackRows: widths differ (${cols} vs ${p.cols}); embeddings must share d`);
    }
  }
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const data = new Float64Array(rows * cols);
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  return { rows, cols, data };
}

// Gram–Schmidt (two passes: "twice is enough") on k vectors of length d stored row-major. A vector
// that is (numerically) in the span of the earlier ones is replaced by a coordinate axis, so the
// result is always orthonormal, also for rank-deficient data.
function orthonormalise(v: Float64Array, k: number, d: number): void {
  for (let a = 0; a < k; a++) {
    let tries = 0;
    while (true) {
      let before = 0;
      for (let j = 0; j < d; j++) before += v[a * d + j] ** 2;
      for (let pass = 0; pass < 2; pass++) {
        for (let b = 0; b < a; b++) {
          let dot = 0;
          for (let j = 0; j < d; j++) dot += v[a * d + j] * v[b * d + j];
          for (let j = 0; j < d; j++) v[a * d + j] -= dot * v[b * d + j];
        }
      }
      let n = 0;
      for (let j = 0; j < d; j++) n += v[a * d + j] ** 2;
      if (n > 1e-20 * before && n > 0) {
        n = Math.sqrt(n);
        for (let j = 0; j < d; j++) v[a * d + j] /= n;
        break;
      }
      if (tries >= d) throw new Error("fitPca2: cannot build an orthonormal basis");
      v.fill(0, a * d, (a + 1) * d);
      v[a * d + ((a + tries++) % d)] = 1;
    }
  }
}

// w = Cᵀ C v for centred data C (n×d), for k vectors at once: returns k×d.
function covTimes(c: Float64Array, n: number, d: number, v: Float64Array, k: number): Float64Array {
  const t = new Float64Array(n * k); // C v
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += c[i * d + j] * v[a * d + j];
      t[i * k + a] = s;
    }
  }
  const w = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < k; a++) {
      const ti = t[i * k + a];
      if (ti === 0) continue;
      for (let j = 0; j < d; j++) w[a * d + j] += c[i * d + j] * ti;
    }
  }
  for (let q = 0; q < w.length; q++) w[q] /= n;
  return w;
}

/**
 * Fit a 2-D PCA to the rows of `m`.
 * @param m data, rows = samples (at least 2 rows and 1 column)
 * @param options `iterations`: at most this many subspace iterations (default 12; stops early
 * once the two leading directions are stable); `block`: vectors iterated together (default 10), `seed` for the start (default 1)
 */
export function fitPca2(
  m: Matrix,
  options: { iterations?: number; seed?: number; block?: number } = {},
): Pca2 {
  const n = m.rows, d = m.cols;
  if (n < 2 || d < 1) throw new Error(`fitPca2: need at least 2 rows and 1 column, got ${n}×${d}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += m.data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const c = new Float64Array(n * d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = m.data[i * d + j] - mean[j];
      c[i * d + j] = v;
      total += v * v;
    }
  }
  total /= n;
  // Randomised subspace iteration: a block of `block` vectors converges on the top two at the
  // rate λ_{block+1}/λ_2, so a few passes suffice for a plot.
  const k = Math.min(d, options.block ?? 10);
  const rand = mulberry32(options.seed ?? 1);
  let v: Float64Array = new Float64Array(k * d);
  for (let q = 0; q < v.length; q++) v[q] = rand() - 0.5;
  orthonormalise(v, k, d);
  const iters = options.iterations ?? 12;
  for (let it = 0; it < iters; it++) {
    const prev = v;
    v = covTimes(c, n, d, v, k);
    orthonormalise(v, k, d);
    // Stop once the leading two directions no longer move.
    let moved = 0;
    for (let a = 0; a < Math.min(2, k); a++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[a * d + j] * prev[a * d + j];
      moved = Math.max(moved, 1 - Math.abs(dot));
    }
    if (moved < 1e-8) break;
  }
  // Rayleigh–Ritz: eigen-decompose the k×k projected covariance (Jacobi).
  const w = covTimes(c, n, d, v, k);
  const h = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += v[a * d + j] * w[b * d + j];
      h[a * k + b] = s;
    }
  }
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) h[a * k + b] = h[b * k + a] = (h[a * k + b] + h[b * k + a]) / 2;
  }
  const { values, vectors } = jacobiEigen(h, k);
  const order = [...values.keys()].sort((x, y) => values[y] - values[x]);
  const axes = new Float64Array(2 * d);
  for (let r = 0; r < Math.min(2, k); r++) {
    const e = order[r];
    for (let a = 0; a < k; a++) {
      const coef = vectors[a * k + e];
      for (let j = 0; j < d; j++) axes[r * d + j] += coef * v[a * d + j];
    }
    // Fix the sign: the largest-magnitude coordinate is positive (stable across runs).
    let big = 0;
    for (let j = 0; j < d; j++) {
      if (Math.abs(axes[r * d + j]) > Math.abs(axes[r * d + big])) big = j;
    }
    if (axes[r * d + big] < 0) { for (let j = 0; j < d; j++) axes[r * d + j] *= -1; }
  }
  const var0 = Math.max(0, values[order[0]]);
  const var1 = k > 1 ? Math.max(0, values[order[1]]) : 0;
  return {
    mean,
    axes,
    variance: [var0, var1],
    explained: total > 0 ? (var0 + var1) / total : 0,
  };
}

/** Project rows of `m` onto a fitted {@link Pca2}: returns n×2 row-major coordinates. */
export function projectPca2(pca: Pca2, m: Matrix): Float64Array {
  const d = pca.mean.length;
  if (m.cols !== d) throw new Error(`projectPca2: data has ${m.cols} columns, PCA was fit on ${d}`);
  const out = new Float64Array(m.rows * 2);
  for (let i = 0; i < m.rows; i++) {
    for (let r = 0; r < 2; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (m.data[i * d + j] - pca.mean[j]) * pca.axes[r * d + j];
      out[i * 2 + r] = s;
    }
  }
  return out;
}

/** Symmetric eigen-decomposition by cyclic Jacobi; vectors are columns of the k×k result. */
export function jacobiEigen(
  a: Float64Array,
  k: number,
): { values: number[]; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += m[p * k + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = m[p * k + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * k + q] - m[p * k + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
        for (let r = 0; r < k; r++) {
          const mrp = m[r * k + p], mrq = m[r * k + q];
          m[r * k + p] = cs * mrp - sn * mrq;
          m[r * k + q] = sn * mrp + cs * mrq;
        }
        for (let r = 0; r < k; r++) {
          const mpr = m[p * k + r], mqr = m[q * k + r];
          m[p * k + r] = cs * mpr - sn * mqr;
          m[q * k + r] = sn * mpr + cs * mqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p], vrq = v[r * k + q];
          v[r * k + p] = cs * vrp - sn * vrq;
          v[r * k + q] = sn * vrp + cs * vrq;
        }
      }
    }
  }
  const values: number[] = [];
  for (let i = 0; i < k; i++) values.push(m[i * k + i]);
  return { values, vectors: v };
}
