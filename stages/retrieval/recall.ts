/**
 * Recall@K, median and mean rank for paired data (docs/methods.md §13, verified from
 * `fartashf/vsepp` `evaluation.py` `i2t`/`t2i`).
 *
 * A query's rank is the 0-based position of its best-ranked correct gallery item, with the tie
 * rule of `map.ts` (score descending, then gallery index ascending). With one text per image
 * (1:1 pairs) the correct item of query i is gallery item i; with several texts per image, pass
 * `owner` ids (the image a text belongs to) and an image query's rank is the best of its texts',
 * each text query has its one image.
 * - R@K = share of queries with rank < K (a fraction in [0, 1]; vsepp prints it ×100);
 * - medr = floor(median(rank)) + 1; meanr = mean(rank) + 1 (both 1-based).
 * @module
 */

/** Retrieval-by-pair results of one direction. */
export interface RecallResult {
  /** Share of queries whose first correct item is ranked first. */
  r1: number;
  /** … within the first 5. */
  r5: number;
  /** … within the first 10. */
  r10: number;
  /** floor(median 0-based rank) + 1. */
  medr: number;
  /** Mean 0-based rank + 1. */
  meanr: number;
}

/**
 * 0-based rank of each query's best-ranked correct gallery item.
 * @param scores row-major `queries × gallery` scores (higher = more similar)
 * @param options `queryId[i]`, `galleryId[j]`: item j is correct for query i when the ids agree
 *   (1:1 pairs: both `0..n−1`)
 */
export function pairRanks(
  scores: ArrayLike<number>,
  options: { queryId: ArrayLike<number>; galleryId: ArrayLike<number> },
): Uint32Array {
  const nq = options.queryId.length, ng = options.galleryId.length;
  if (scores.length !== nq * ng) {
    throw new Error(`pairRanks: ${scores.length} scores for ${nq} queries × ${ng} gallery items`);
  }
  const out = new Uint32Array(nq);
  for (let i = 0; i < nq; i++) {
    const row = i * ng;
    let best = -1;
    for (let j = 0; j < ng; j++) {
      if (options.galleryId[j] !== options.queryId[i]) continue;
      if (best < 0 || scores[row + j] > scores[row + best]) best = j;
    }
    if (best < 0) throw new Error(`pairRanks: query ${i} has no correct gallery item`);
    const sb = scores[row + best];
    let ahead = 0;
    for (let j = 0; j < ng; j++) {
      const s = scores[row + j];
      if (s > sb || (s === sb && j < best)) ahead++;
    }
    out[i] = ahead;
  }
  return out;
}

/** R@1/5/10, medr and meanr of 0-based ranks. */
export function recallFromRanks(ranks: ArrayLike<number>): RecallResult {
  const n = ranks.length;
  if (n === 0) throw new Error("recallFromRanks: no queries");
  const sorted = Float64Array.from(ranks).sort();
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const share = (k: number) => sorted.filter((r) => r < k).length / n;
  return {
    r1: share(1),
    r5: share(5),
    r10: share(10),
    medr: Math.floor(median) + 1,
    meanr: sorted.reduce((a, b) => a + b, 0) / n + 1,
  };
}

/**
 * Both directions of 1:1 paired test data: row i of the images pairs with row i of the texts.
 * @param i2t row-major `n × n` image→text scores
 * @param t2i row-major `n × n` text→image scores
 */
export function pairedRecall(
  i2t: ArrayLike<number>,
  t2i: ArrayLike<number>,
): { i2t: RecallResult; t2i: RecallResult } {
  const n = Math.round(Math.sqrt(i2t.length));
  const ids = Uint32Array.from({ length: n }, (_, i) => i);
  const o = { queryId: ids, galleryId: ids };
  return {
    i2t: recallFromRanks(pairRanks(i2t, o)),
    t2i: recallFromRanks(pairRanks(t2i, o)),
  };
}
