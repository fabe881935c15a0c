/**
 * The random-ranking baseline: the exact expectation of AP under a uniformly random ranking, and
 * the `random` stage kind that stores it as a metrics row.
 *
 * Derivation. A query has R relevant items among n; the ranking is a uniform random
 * permutation. With hits(k) = Σ_{j≤k} rel(j),
 *
 *   E[rel(k)·hits(k)] = E[rel(k)] + Σ_{j<k} E[rel(j)·rel(k)] = R/n + (k−1)·R(R−1)/(n(n−1)),
 *
 * so E[AP] = (1/R) Σ_{k=1}^{n} E[rel(k)·hits(k)] / k
 *          = H_n/n + ((R−1)/(n−1))·(1 − H_n/n),   H_n = Σ_{k=1}^{n} 1/k.
 *
 * Checks: R = n gives 1; R = 1 gives H_n/n (= E[1/rank]). R = 0 gives 0 (AP of such a query is
 * 0 by convention). The mAP expectation is the mean of E[AP] over the queries, each with its own
 * R (the count of its class in the gallery). On the Wikipedia test split (class counts
 * 34/88/96/85/65/58/51/41/71/104, n = 693) it is 0.1184 in both directions.
 * @module
 */
import type { ParamSchema, ParamsOf } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { readLabels } from "../tensor_io/npy.ts";
import { metricRow, writeMetrics } from "../formats/metrics.ts";

/** H_n = Σ_{k=1}^{n} 1/k. */
export function harmonic(n: number): number {
  let s = 0;
  for (let k = n; k >= 1; k--) s += 1 / k; // small terms first
  return s;
}

/**
 * Exact E[AP] of one query with `relevant` relevant items among `n`, under a uniformly random
 * ranking of the gallery.
 */
export function expectedAveragePrecision(relevant: number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(relevant) || relevant < 0) {
    throw new Error(
      `expectedAveragePrecision: need integers 0 ≤ R ≤ n, n ≥ 1; got ${relevant}, ${n}`,
    );
  }
  if (relevant > n) throw new Error(`expectedAveragePrecision: R = ${relevant} > n = ${n}`);
  if (relevant === 0) return 0;
  if (n === 1) return 1;
  const h = harmonic(n) / n;
  return h + ((relevant - 1) / (n - 1)) * (1 - h);
}

/** Mean over queries of the exact E[AP]; relevance = same label. */
export function expectedRandomMap(
  query: ArrayLike<number>,
  gallery: ArrayLike<number>,
): number {
  const n = gallery.length;
  if (query.length === 0 || n === 0) {
    throw new Error("expectedRandomMap: need at least one query and one gallery item");
  }
  const counts = new Map<number, number>();
  for (let j = 0; j < n; j++) counts.set(gallery[j], (counts.get(gallery[j]) ?? 0) + 1);
  const h = harmonic(n) / n;
  let total = 0;
  for (let i = 0; i < query.length; i++) {
    const r = counts.get(query[i]) ?? 0;
    if (r === 0) continue;
    total += n === 1 ? 1 : h + ((r - 1) / (n - 1)) * (1 - h);
  }
  return total / query.length;
}

/** Params of the `random` kind. */
export type RandomParams = ParamsOf<typeof RANDOM_PARAMS>;

/** The declared params of `randomKind` (its params type, {@link RandomParams}, derives from them). */
const RANDOM_PARAMS = {
  dataset: {
    type: "string",
    default: "",
    doc: "dataset id for the row (default: dataset.json's)",
  },
} as const satisfies ParamSchema;

/** The `random` stage kind: a Feature set → one metrics row with the exact random expectation. */
export const randomKind = defineKind({
  name: "random",
  description: "exact expected mAP of a uniformly random ranking of the test set",
  module: import.meta.url,
  inputs: { data: "a Feature set (its test labels)" },
  params: RANDOM_PARAMS,
  outputs: ["metrics.json"],
  async run(ctx) {
    const dir = ctx.inputs.data;
    if (!dir) {
      throw new Error(
        `random: input "data" is missing; add \`inputs: { data: <feature-set stage> }\``,
      );
    }
    let dataset = ctx.params.dataset;
    if (!dataset) {
      try {
        const info = JSON.parse(await Deno.readTextFile(`${dir}/dataset.json`));
        dataset = String(info.dataset ?? "");
      } catch (e) {
        throw new Error(
          `random: cannot read ${dir}/dataset.json (${(e as Error).message}); ` +
            `point "data" at a feature-set stage or set the "dataset" param`,
        );
      }
      if (!dataset) throw new Error(`random: ${dir}/dataset.json has no "dataset" id`);
    }
    const y = await readLabels(`${dir}/y_test.npy`);
    // The image and text test sets share labels, so both directions have the same expectation.
    const e = expectedRandomMap(y, y);
    const row = metricRow(
      { dataset, method: "random", pca: false, similarity: "random", stage: ctx.name },
      { i2t: e, t2i: e },
    );
    ctx.log(`random expectation over ${y.length} test pairs: ${e.toFixed(4)}`);
    ctx.provenance.formula = "E[AP] = H_n/n + ((R-1)/(n-1))(1 - H_n/n), averaged over queries";
    await writeMetrics(ctx.out("metrics.json"), [row]);
  },
});
