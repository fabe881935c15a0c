/**
 * Mean average precision over the whole ranked gallery (methods.md §13).
 *
 * AP = (1/R) Σ_k P(k)·rel(k), R = number of relevant gallery items, relevance = same label.
 *
 * **Tie rule.** Ranking is by score descending; equal scores are ordered by gallery index
 * ascending (a stable sort, like MATLAB `sort` on distances). A NaN score ranks as −∞ (last,
 * still by index). The rule is the same in every function here, so results are deterministic.
 *
 * A query whose class has no item in the gallery (R = 0) has AP = 0 and zero precision.
 *
 * The fast path ({@link relevantPositions}) never sorts the whole gallery: it sorts a copy of the
 * score row (a native numeric sort, no comparator) and finds the rank of each relevant item by
 * binary search, counting tied items with a lower index. AP, precision-recall and P@N all follow
 * from the ranks of the relevant items.
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";

/** How query and gallery rows are compared. Higher score = more similar. */
export type Similarity = "cosine" | "euclidean" | "nc" | "inner";

/** Every {@link Similarity}, in a fixed order. */
export const SIMILARITIES: readonly Similarity[] = ["cosine", "euclidean", "nc", "inner"];

/**
 * Score matrix (queries × gallery, row-major), higher is more similar.
 *
 * - `cosine`: qᵀg / (‖q‖‖g‖); a zero vector scores 0 against everything.
 * - `euclidean`: −‖q−g‖², computed from the differences (no cancellation).
 * - `nc`: the cosine of row-centred vectors (each row minus the mean of its own entries).
 * - `inner`: qᵀg.
 *
 * Every similarity is symmetric, so the gallery→query matrix is the {@link transposeScores}
 * of this one.
 */
export function scoreMatrix(
  queries: Matrix,
  gallery: Matrix,
  options: { similarity: Similarity },
): Float64Array {
  if (queries.cols !== gallery.cols) {
    throw new Error(
      `scoreMatrix: query dim ${queries.cols} != gallery dim ${gallery.cols}; ` +
        `both modalities must be embedded in the same space`,
    );
  }
  const sim = options.similarity;
  if (!SIMILARITIES.includes(sim)) {
    throw new Error(`scoreMatrix: unknown similarity "${sim}"; use one of ${SIMILARITIES}`);
  }
  const q = sim === "nc" ? centreRows(queries) : queries;
  const g = sim === "nc" ? centreRows(gallery) : gallery;
  const d = q.cols, nq = q.rows, ng = g.rows;
  const qd = q.data, gd = g.data;
  const out = new Float64Array(nq * ng);
  if (sim === "euclidean") {
    for (let i = 0; i < nq; i++) sqDistRow(qd, i * d, gd, { d, n: ng, out, at: i * ng });
    for (let t = 0; t < out.length; t++) out[t] = -out[t];
    return out;
  }
  for (let i = 0; i < nq; i++) dotRow(qd, i * d, gd, { d, n: ng, out, at: i * ng });
  if (sim === "inner") return out;
  const qn = rowNorms(q), gn = rowNorms(g);
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < ng; j++) {
      const den = qn[i] * gn[j];
      out[i * ng + j] = den > 0 ? out[i * ng + j] / den : 0;
    }
  }
  return out;
}

/** Transpose a row-major `rows × cols` score matrix (e.g. I→T scores into T→I scores). */
export function transposeScores(
  scores: Float64Array,
  shape: { rows: number; cols: number },
): Float64Array {
  const { rows, cols } = shape;
  if (scores.length !== rows * cols) {
    throw new Error(`transposeScores: ${scores.length} values do not fill ${rows}×${cols}`);
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = scores[o + j];
  }
  return out;
}

/**
 * Dot products of row `a[ao..ao+d)` with the `n` rows of `b`, into `out[at..at+n)`. Four
 * gallery rows share each load of the query; every pair is summed in plain k order, so a
 * pair's value does not depend on where it falls in a block.
 */
function dotRow(
  a: Float64Array,
  ao: number,
  b: Float64Array,
  o: { d: number; n: number; out: Float64Array; at: number },
): void {
  const { d, n, out, at } = o;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    const g0 = j * d, g1 = g0 + d, g2 = g1 + d, g3 = g2 + d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < d; k++) {
      const x = a[ao + k];
      s0 += x * b[g0 + k];
      s1 += x * b[g1 + k];
      s2 += x * b[g2 + k];
      s3 += x * b[g3 + k];
    }
    out[at + j] = s0;
    out[at + j + 1] = s1;
    out[at + j + 2] = s2;
    out[at + j + 3] = s3;
  }
  for (; j < n; j++) {
    const g0 = j * d;
    let s0 = 0;
    for (let k = 0; k < d; k++) s0 += a[ao + k] * b[g0 + k];
    out[at + j] = s0;
  }
}

/** Squared distances of one row to the `n` rows of `b`; same blocking as {@link dotRow}. */
function sqDistRow(
  a: Float64Array,
  ao: number,
  b: Float64Array,
  o: { d: number; n: number; out: Float64Array; at: number },
): void {
  const { d, n, out, at } = o;
  let j = 0;
  for (; j + 3 < n; j += 4) {
    const g0 = j * d, g1 = g0 + d, g2 = g1 + d, g3 = g2 + d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < d; k++) {
      const x = a[ao + k];
      const e0 = x - b[g0 + k], e1 = x - b[g1 + k], e2 = x - b[g2 + k], e3 = x - b[g3 + k];
      s0 += e0 * e0;
      s1 += e1 * e1;
      s2 += e2 * e2;
      s3 += e3 * e3;
    }
    out[at + j] = s0;
    out[at + j + 1] = s1;
    out[at + j + 2] = s2;
    out[at + j + 3] = s3;
  }
  for (; j < n; j++) {
    const g0 = j * d;
    let s0 = 0;
    for (let k = 0; k < d; k++) {
      const e = a[ao + k] - b[g0 + k];
      s0 += e * e;
    }
    out[at + j] = s0;
  }
}

function rowNorms(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let k = 0; k < m.cols; k++) s += m.data[i * m.cols + k] ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

function centreRows(m: Matrix): Matrix {
  const data = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let mean = 0;
    for (let k = 0; k < m.cols; k++) mean += m.data[i * m.cols + k];
    mean /= m.cols;
    for (let k = 0; k < m.cols; k++) data[i * m.cols + k] = m.data[i * m.cols + k] - mean;
  }
  return { rows: m.rows, cols: m.cols, data };
}

/** A score with NaN mapped to −∞, so that the tie rule is total. */
function key(s: number): number {
  return s === s ? s : -Infinity;
}

/**
 * Gallery indices of one query's scores, best first; ties by index ascending, NaN last.
 * A stable bottom-up merge sort on typed arrays (no comparator closure).
 * @param scores one row of a score matrix
 */
export function rankGallery(scores: ArrayLike<number>): Uint32Array {
  const n = scores.length;
  const k = new Float64Array(n);
  for (let i = 0; i < n; i++) k[i] = key(scores[i]);
  let a = new Uint32Array(n);
  let b = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        // Stable: take from the left run unless the right one is strictly better.
        if (k[a[j]] > k[a[i]]) b[o++] = a[j++];
        else b[o++] = a[i++];
      }
      while (i < mid) b[o++] = a[i++];
      while (j < hi) b[o++] = a[j++];
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}

/**
 * 1-based ranks of the relevant gallery items of one query, ascending, under the tie rule.
 * @param scores one row of a score matrix
 * @param relevant whether gallery index j is relevant
 */
export function relevantPositions(
  scores: ArrayLike<number>,
  relevant: (j: number) => boolean,
): Float64Array {
  const n = scores.length;
  const sorted = new Float64Array(n);
  for (let i = 0; i < n; i++) sorted[i] = key(scores[i]);
  sorted.sort(); // ascending, native numeric sort
  const pos: number[] = [];
  for (let j = 0; j < n; j++) {
    if (!relevant(j)) continue;
    const s = key(scores[j]);
    const lo = lowerBound(sorted, s); // first index with value >= s
    const hi = upperBound(sorted, s); // first index with value > s
    let rank = n - hi + 1; // items strictly better, plus one
    if (hi - lo > 1) {
      // Ties: those with a smaller gallery index come first.
      for (let t = 0; t < j; t++) if (key(scores[t]) === s) rank++;
    }
    pos.push(rank);
  }
  const out = Float64Array.from(pos);
  out.sort();
  return out;
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m] < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

function upperBound(a: Float64Array, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m] <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/**
 * AP from the ascending 1-based ranks of the relevant items: (1/R) Σ_i i / p_i.
 * Returns 0 when there is no relevant item.
 */
export function averagePrecisionFromPositions(positions: ArrayLike<number>): number {
  const r = positions.length;
  if (r === 0) return 0;
  let sum = 0;
  for (let i = 0; i < r; i++) sum += (i + 1) / positions[i];
  return sum / r;
}

/**
 * Average precision of one ranked list.
 * @param ranked gallery indices, best first
 * @param relevant whether each gallery index is relevant
 */
export function averagePrecision(
  ranked: ArrayLike<number>,
  relevant: (j: number) => boolean,
): number {
  let hits = 0, sum = 0;
  for (let k = 0; k < ranked.length; k++) {
    if (relevant(ranked[k])) {
      hits++;
      sum += hits / (k + 1);
    }
  }
  return hits === 0 ? 0 : sum / hits;
}

/**
 * Per-query AP for a row-major score matrix (queries × gallery), relevance = same label.
 */
export function averagePrecisions(
  scores: Float64Array,
  labels: { query: ArrayLike<number>; gallery: ArrayLike<number> },
): Float64Array {
  const nq = labels.query.length, ng = labels.gallery.length;
  if (scores.length !== nq * ng) {
    throw new Error(
      `averagePrecisions: ${scores.length} scores but ${nq} query and ${ng} gallery labels`,
    );
  }
  const out = new Float64Array(nq);
  const gy = labels.gallery;
  for (let i = 0; i < nq; i++) {
    const yi = labels.query[i];
    const pos = relevantPositions(scores.subarray(i * ng, (i + 1) * ng), (j) => gy[j] === yi);
    out[i] = averagePrecisionFromPositions(pos);
  }
  return out;
}

/** mAP of queries against a gallery under a similarity, relevance = same label. */
export function meanAveragePrecision(
  query: { x: Matrix; y: ArrayLike<number> },
  gallery: { x: Matrix; y: ArrayLike<number> },
  options: { similarity: Similarity },
): number {
  if (query.x.rows !== query.y.length || gallery.x.rows !== gallery.y.length) {
    throw new Error(
      `meanAveragePrecision: ${query.x.rows} query rows / ${query.y.length} labels, ` +
        `${gallery.x.rows} gallery rows / ${gallery.y.length} labels; they must match`,
    );
  }
  const s = scoreMatrix(query.x, gallery.x, options);
  const ap = averagePrecisions(s, { query: query.y, gallery: gallery.y });
  let total = 0;
  for (const v of ap) total += v;
  return ap.length === 0 ? 0 : total / ap.length;
}
