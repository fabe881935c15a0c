/**
 * Precision-recall and precision-scope curves, and the per-direction evaluation that the
 * `evaluate` stage stores (methods.md §13). Same tie rule as {@link relevantPositions}.
 *
 * For one query with R relevant items at ascending 1-based ranks p_1 < … < p_R, the precision
 * at the i-th hit is i/p_i and the recall there is i/R. Averages are over queries; a query with
 * R = 0 contributes AP 0 and precision 0 everywhere.
 *
 * - **pr11** (11-point interpolated): at r ∈ {0, 0.1, …, 1},
 *   P_interp(r) = max_{r' ≥ r} P(r') = max_{i ≥ max(1, ⌈rR⌉)} i/p_i (the max over all ranks is
 *   attained at a hit, since precision only falls between hits).
 * - **pr** ("full", not interpolated): at r ∈ {0, 0.01, …, 1}, the precision at the first rank
 *   whose recall reaches r, i.e. i/p_i with i = max(1, ⌈rR⌉). At r = 0 this is the precision at
 *   the first hit.
 * - **scope** (P@N): hits@N / N for N on a grid (default 10, 20, … up to the gallery size).
 * @module
 */
import { averagePrecisionFromPositions, relevantPositions } from "./map.ts";

/** A precision-recall curve: precision averaged over queries at each recall level. */
export interface PrCurve {
  /** Recall levels. */
  recall: number[];
  /** Mean precision at each recall level. */
  precision: number[];
}

/** A precision-scope curve: P@N averaged over queries. */
export interface ScopeCurve {
  /** Scope sizes N. */
  n: number[];
  /** Mean hits@N / N. */
  precision: number[];
}

/** Everything stored for one retrieval direction. */
export interface DirectionResult {
  /** Mean AP over queries. */
  map: number;
  /** AP of each query. */
  ap: Float64Array;
  /** 11-point interpolated precision-recall. */
  pr11: PrCurve;
  /** Non-interpolated precision at recall 0:0.01:1. */
  pr: PrCurve;
  /** Precision at scope N. */
  scope: ScopeCurve;
}

/** Recall levels j/steps for j = 0…steps, e.g. 10 gives 0, 0.1, …, 1. */
export function recallGrid(steps: number): number[] {
  return Array.from({ length: steps + 1 }, (_, j) => j / steps);
}

/**
 * The scope grid for a gallery of `n` items.
 * @param spec a step (every multiple of it up to n) or an explicit list of N (each 1 ≤ N ≤ n)
 */
export function scopeGrid(n: number, spec: number | readonly number[]): number[] {
  if (typeof spec === "number") {
    if (!Number.isInteger(spec) || spec < 1) {
      throw new Error(`scope: step must be a positive integer, got ${spec}`);
    }
    const out: number[] = [];
    for (let v = spec; v <= n; v += spec) out.push(v);
    return out;
  }
  if (!Array.isArray(spec)) {
    throw new Error(`scope: give a step (e.g. 10) or a list of N (e.g. [10, 50, 100])`);
  }
  for (const v of spec) {
    if (!Number.isInteger(v) || v < 1 || v > n) {
      throw new Error(`scope: N = ${v} is not an integer in 1..${n} (the gallery size)`);
    }
  }
  return [...spec];
}

/**
 * Evaluate one direction from a row-major score matrix (queries × gallery).
 * @param scores higher = more similar
 * @param options labels of queries and gallery, and the scope grid
 */
export function evaluateDirection(
  scores: Float64Array,
  options: { query: ArrayLike<number>; gallery: ArrayLike<number>; scope: readonly number[] },
): DirectionResult {
  const nq = options.query.length, ng = options.gallery.length;
  if (scores.length !== nq * ng) {
    throw new Error(
      `evaluateDirection: ${scores.length} scores but ${nq} query and ${ng} gallery labels`,
    );
  }
  if (nq === 0) throw new Error("evaluateDirection: no queries");
  const r11 = recallGrid(10), r100 = recallGrid(100);
  const p11 = new Float64Array(r11.length), p100 = new Float64Array(r100.length);
  const scope = options.scope;
  const ps = new Float64Array(scope.length);
  const ap = new Float64Array(nq);
  const gy = options.gallery;
  for (let q = 0; q < nq; q++) {
    const yq = options.query[q];
    const pos = relevantPositions(scores.subarray(q * ng, (q + 1) * ng), (j) => gy[j] === yq);
    ap[q] = averagePrecisionFromPositions(pos);
    const r = pos.length;
    if (r === 0) continue;
    // Suffix max of precision at hits, for the interpolated curve.
    const suffix = new Float64Array(r);
    let best = 0;
    for (let i = r - 1; i >= 0; i--) {
      best = Math.max(best, (i + 1) / pos[i]);
      suffix[i] = best;
    }
    for (let t = 0; t < r11.length; t++) p11[t] += suffix[hitIndex(t, 10, r)];
    for (let t = 0; t < r100.length; t++) {
      const i = hitIndex(t, 100, r);
      p100[t] += (i + 1) / pos[i];
    }
    for (let s = 0; s < scope.length; s++) ps[s] += countAtMost(pos, scope[s]) / scope[s];
  }
  let sum = 0;
  for (const v of ap) sum += v;
  return {
    map: sum / nq,
    ap,
    pr11: { recall: r11, precision: Array.from(p11, (v) => v / nq) },
    pr: { recall: r100, precision: Array.from(p100, (v) => v / nq) },
    scope: { n: [...scope], precision: Array.from(ps, (v) => v / nq) },
  };
}

/** 0-based index of the first hit whose recall reaches t/steps: max(1, ⌈tR/steps⌉) − 1. */
function hitIndex(t: number, steps: number, r: number): number {
  // t·r and steps are integers, so the division is exact when it is whole.
  return Math.max(1, Math.ceil((t * r) / steps)) - 1;
}

/** Number of ascending positions ≤ n. */
function countAtMost(pos: Float64Array, n: number): number {
  let lo = 0, hi = pos.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (pos[m] <= n) lo = m + 1;
    else hi = m;
  }
  return lo;
}
