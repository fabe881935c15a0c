/**
 * Mean average precision over the whole ranked gallery (methods.md §13).
 *
 * AP = (1/R) Σ_k P(k)·rel(k), R = number of relevant gallery items, relevance = same label.
 * Ranking is by score descending; ties are broken by gallery index ascending (a stable sort,
 * like MATLAB `sort`), so results are deterministic.
 * @module
 */
import type { Matrix } from "../tensor_io/npy.ts";

/** How query and gallery rows are compared. Higher score = more similar. */
export type Similarity = "cosine" | "euclidean" | "nc" | "inner";

/**
 * Score matrix (queries × gallery), higher is more similar.
 * `euclidean` gives −‖q−g‖², `nc` is the cosine of row-centred vectors.
 */
export function scoreMatrix(
  queries: Matrix,
  gallery: Matrix,
  options: { similarity: Similarity },
): Float64Array {
  if (queries.cols !== gallery.cols) {
    throw new Error(`query dim ${queries.cols} != gallery dim ${gallery.cols}`);
  }
  const sim = options.similarity;
  const q = sim === "nc" ? centreRows(queries) : queries;
  const g = sim === "nc" ? centreRows(gallery) : gallery;
  const d = q.cols;
  const qn = rowNorms(q);
  const gn = rowNorms(g);
  const out = new Float64Array(q.rows * g.rows);
  for (let i = 0; i < q.rows; i++) {
    for (let j = 0; j < g.rows; j++) {
      let dot = 0;
      const qo = i * d, go = j * d;
      for (let k = 0; k < d; k++) dot += q.data[qo + k] * g.data[go + k];
      let s: number;
      if (sim === "inner") s = dot;
      else if (sim === "euclidean") s = -(qn[i] * qn[i] + gn[j] * gn[j] - 2 * dot);
      else s = dot / ((qn[i] || 1e-300) * (gn[j] || 1e-300));
      out[i * g.rows + j] = s;
    }
  }
  return out;
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

/**
 * Gallery indices of one query's scores, best first; ties by index ascending.
 * @param scores one row of a score matrix
 */
export function rankGallery(scores: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => (scores[b] - scores[a]) || (a - b));
  return idx;
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

/** mAP of queries against a gallery under a similarity, relevance = same label. */
export function meanAveragePrecision(
  query: { x: Matrix; y: ArrayLike<number> },
  gallery: { x: Matrix; y: ArrayLike<number> },
  options: { similarity: Similarity },
): number {
  const s = scoreMatrix(query.x, gallery.x, options);
  const n = gallery.x.rows;
  let total = 0;
  for (let i = 0; i < query.x.rows; i++) {
    const ranked = rankGallery(s.subarray(i * n, (i + 1) * n));
    const yi = query.y[i];
    total += averagePrecision(ranked, (j) => gallery.y[j] === yi);
  }
  return total / query.x.rows;
}
