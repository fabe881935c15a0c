/**
 * The `pca` stage kind: Feature set → Feature set. Standard PCA fitted on the train split
 * (train mean, covariance eigenvectors), keeping `k` components or the smallest k that reach
 * an `energy` fraction of the variance; train and test are both mapped with the train mean.
 * This is the paper's "PCA-1000" step for CNN features (`k: 1000`); on SIFT-128 use `energy`.
 * (methods.md §6's `pcaIn` quirk lives in the baseline kinds' own `pca: pcain` param.)
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { featureInput, FEATURES_INPUT, writeBaselineFeatureSet } from "./common.ts";
import { FEATURE_SET_OUTPUTS, readFeatureSet } from "../formats/feature_set.ts";
import { pcaSplit } from "./preprocess.ts";

/** Params of the kind, derived from {@link PCA_PARAMS}. */
type PcaKindParams = ParamsOf<typeof PCA_PARAMS>;

async function runPca(ctx: StageContext<PcaKindParams>): Promise<void> {
  const p = ctx.params;
  if (!(p.k > 0) && !(p.energy > 0 && p.energy <= 1)) {
    throw new Error(`pca: set k > 0 or energy in (0, 1] (got k = ${p.k}, energy = ${p.energy})`);
  }
  const fs = await readFeatureSet(featureInput(ctx));
  const info: Record<string, unknown> = {};
  for (const view of ["img", "txt"] as const) {
    const on = p.views === "both" || (p.views === "image" ? view === "img" : view === "txt");
    if (!on) continue;
    const d = fs[view].train.cols;
    const k = p.k > 0 ? Math.min(p.k, d, fs[view].train.rows - 1) : 0;
    if (p.k > 0 && k < p.k) {
      ctx.log(
        `pca: ${view} has ${d} dims and ${fs[view].train.rows} rows; keeping ${k} < k = ${p.k}`,
      );
    }
    const r = pcaSplit(fs[view], { mode: "standard", k, energy: p.energy });
    fs[view] = { train: r.train, test: r.test };
    info[view] = { from: d, k: r.model!.k, energy: r.model!.energy };
    ctx.log(
      `pca: ${view} ${d} → ${r.model!.k} dims (${(100 * r.model!.energy).toFixed(2)}% variance)`,
    );
  }
  ctx.provenance.pca = info;
  fs.meta = { ...fs.meta, pca: info };
  await writeBaselineFeatureSet(ctx, fs);
}

/** The declared params of `pcaKind` (its params type, {@link PcaKindParams}, derives from them). */
const PCA_PARAMS = {
  k: { type: "integer", default: 0, doc: "components to keep (0 = use energy)" },
  energy: { type: "number", default: 0.95, doc: "variance fraction to keep when k = 0" },
  views: {
    type: "string",
    default: "image",
    enum: ["image", "text", "both"],
    doc: "which views to reduce",
  },
} as const satisfies ParamSchema;

/** `pca` stage kind (standard PCA on train, applied to both splits). */
export const pcaKind = defineKind({
  name: "pca",
  description: "PCA fitted on train (k components or energy fraction): Feature set → Feature set",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: PCA_PARAMS,
  outputs: FEATURE_SET_OUTPUTS,
  run: runPca,
});
