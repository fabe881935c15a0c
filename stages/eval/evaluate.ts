/**
 * The `evaluate` stage kind: an Embedding artifact → `metrics.json` and `curves.json`.
 *
 * Input alias `emb`: an Embedding object (`img.npy`, `txt.npy`, `y.npy`, `embedding.json`).
 * For each similarity, I→T ranks the texts for every image query, T→I the images for every
 * text query; mAP, precision-recall and precision-scope are computed as in `curves.ts`, with the
 * tie rule of `map.ts` (score descending, then gallery index ascending).
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import { type Embedding, readEmbedding } from "../formats/embedding.ts";
import { type CurvesFile, directionCurves, writeCurves } from "../formats/curves.ts";
import { type DirectionResult, evaluateDirection, scopeGrid } from "../retrieval/curves.ts";
import { scoreMatrix, SIMILARITIES, type Similarity, transposeScores } from "../retrieval/map.ts";
import {
  type MetricRow,
  metricRow,
  SWEEP_FIELDS,
  type SweepValues,
  writeMetrics,
} from "../formats/metrics.ts";
import { pairedRecall, type RecallResult } from "../retrieval/recall.ts";

/** Params of the `evaluate` kind. */
export type EvaluateParams = ParamsOf<typeof EVALUATE_PARAMS>;

/** Resolve the `similarities` param against the native score; duplicates are dropped. */
export function resolveSimilarities(list: readonly string[], native: Similarity): Similarity[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`similarities: give a non-empty list, e.g. ["native"] or ["cosine"]`);
  }
  const out: Similarity[] = [];
  for (const s of list) {
    const sim = s === "native" ? native : s;
    if (!SIMILARITIES.includes(sim as Similarity)) {
      throw new Error(
        `similarities: unknown "${s}"; use "native" or one of ${SIMILARITIES.join(", ")}`,
      );
    }
    if (!out.includes(sim as Similarity)) out.push(sim as Similarity);
  }
  return out;
}

/** Both directions of one embedding under one similarity. */
export function evaluateEmbedding(
  emb: Pick<Embedding, "img" | "txt" | "y">,
  options: { similarity: Similarity; scope: number | readonly number[] },
): {
  i2t: DirectionResult;
  t2i: DirectionResult;
  recall: { i2t: RecallResult; t2i: RecallResult };
} {
  const n = emb.y.length;
  const scope = scopeGrid(n, options.scope);
  const s = scoreMatrix(emb.img, emb.txt, { similarity: options.similarity });
  const i2t = evaluateDirection(s, { query: emb.y, gallery: emb.y, scope });
  const st = transposeScores(s, { rows: emb.img.rows, cols: emb.txt.rows });
  const t2i = evaluateDirection(st, { query: emb.y, gallery: emb.y, scope });
  // Row i of the images pairs with row i of the texts (the Embedding artifact's contract).
  return { i2t, t2i, recall: pairedRecall(s, st) };
}

function pct(r: RecallResult): string {
  return `${[r.r1, r.r5, r.r10].map((v) => (100 * v).toFixed(1)).join("/")} medr ${r.medr}`;
}

/** The declared params of `evaluateKind` (its params type, {@link EvaluateParams}, derives from them). */
const EVALUATE_PARAMS = {
  similarities: typedParam<string[]>({
    type: "array",
    default: ["native"],
    doc: 'similarities to rank by: "native" (embedding.json score), cosine, euclidean, nc, inner',
  }),
  scope: typedParam<number | number[]>({
    type: "any",
    default: 10,
    doc: "P@N grid: a step (N = step, 2·step, … ≤ gallery size) or a list of N",
  }),
  label: { type: "string", default: "", doc: "method label for the rows (default: embedding's)" },
  dataset: { type: "string", default: "", doc: "dataset id for the rows (default: embedding's)" },
  sweep: typedParam<SweepValues>({
    type: "object",
    default: {},
    doc: "sweep values written into every row as fields: { lambda?, seed? } (numbers)",
  }),
} as const satisfies ParamSchema;

/** The `evaluate` stage kind. */
export const evaluateKind = defineKind({
  name: "evaluate",
  description:
    "mAP (I→T, T→I), R@1/5/10, medr, meanr (1:1 pairs), precision-recall and precision-scope of an embedding",
  module: import.meta.url,
  inputs: { emb: "an Embedding (a baseline or train-dse stage)" },
  params: EVALUATE_PARAMS,
  validate(p) {
    return Object.entries(p.sweep).flatMap(([k, v]) =>
      !(SWEEP_FIELDS as readonly string[]).includes(k)
        ? [{ param: "sweep", message: `unknown field '${k}'; sweep fields: ${SWEEP_FIELDS}` }]
        : typeof v !== "number" || !Number.isFinite(v)
        ? [{ param: "sweep", message: `'${k}' must be a number, got ${JSON.stringify(v)}` }]
        : []
    );
  },
  outputs: ["metrics.json", "curves.json"],
  async run(ctx: StageContext<EvaluateParams>) {
    const dir = ctx.inputs.emb;
    if (!dir) {
      throw new Error(
        `evaluate: input "emb" is missing; add \`inputs: { emb: <embedding stage> }\``,
      );
    }
    const emb = await readEmbedding(dir);
    const sims = resolveSimilarities(ctx.params.similarities, emb.info.score);
    const dataset = ctx.params.dataset || emb.info.dataset;
    const method = ctx.params.label || emb.info.method;
    const rows: MetricRow[] = [];
    const curves: CurvesFile["curves"] = {};
    for (const [k, sim] of sims.entries()) {
      ctx.progress(k, sims.length, sim);
      const r = evaluateEmbedding(emb, { similarity: sim, scope: ctx.params.scope });
      const row = metricRow(
        { dataset, method, pca: emb.info.pca, similarity: sim, stage: ctx.name },
        { i2t: r.i2t.map, t2i: r.t2i.map },
        { recall: r.recall, sweep: ctx.params.sweep },
      );
      rows.push(row);
      curves[sim] = { i2t: directionCurves(r.i2t), t2i: directionCurves(r.t2i) };
      ctx.log(
        `${method} ${sim}: I→T ${row.i2t.toFixed(4)}  T→I ${row.t2i.toFixed(4)}  ` +
          `avg ${row.avg.toFixed(4)}; R@1/5/10 I→T ${pct(r.recall.i2t)}, T→I ${pct(r.recall.t2i)}`,
      );
    }
    ctx.progress(sims.length, sims.length);
    ctx.provenance.tie_rule = "score descending, then gallery index ascending";
    ctx.provenance.similarities = sims;
    ctx.provenance.n_test = emb.y.length;
    await writeMetrics(ctx.out("metrics.json"), rows);
    await writeCurves(ctx.out("curves.json"), {
      dataset,
      method,
      pca: emb.info.pca,
      ...ctx.params.sweep,
      curves,
    });
  },
});
