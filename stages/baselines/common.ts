/**
 * Shared plumbing of the baseline stage kinds: read a Feature-set input, preprocess each view
 * (normalisation, PCA), and write an Embedding artifact (docs/architecture.md).
 *
 * A baseline stage takes its Feature set from the input alias `features` (or from its only
 * input), and writes `img.npy`, `txt.npy` (TEST-set projections), `y.npy` and `embedding.json`.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { writeEmbedding as writeEmbeddingArtifact } from "../formats/embedding.ts";
import { type FeatureSet, writeFeatureSet } from "../formats/feature_set.ts";
import type { Matrix } from "../linalg/matrix.ts";
import { linalgBackend } from "../linalg/mod.ts";
import {
  type Normalize,
  NORMALIZE_MODES,
  normalizeSplit,
  PCA_MODES,
  type PcaMode,
  pcaSplit,
  type Split,
} from "./preprocess.ts";

/** Where a baseline writes: `ctx.out`, and `ctx.provenance` when the caller has one. */
export type BaselineOutput = Pick<StageContext, "out"> & Partial<Pick<StageContext, "provenance">>;

/**
 * Record the linear-algebra backend (`lapack` and its library, or `typescript`) in the object's
 * provenance. It is not part of the cache key: see the README, "Linear algebra backends".
 */
export function recordLinalg(ctx: BaselineOutput): void {
  if (ctx.provenance) ctx.provenance.linalg = linalgBackend();
}

/** Write a Feature set through `ctx.out`, recording the linear-algebra backend (the `pca` stage). */
export async function writeBaselineFeatureSet(ctx: BaselineOutput, fs: FeatureSet): Promise<void> {
  recordLinalg(ctx);
  await writeFeatureSet(ctx.out, fs);
}

/** The one input every baseline takes, declared for validation and `deno task kinds`. */
export const FEATURES_INPUT: Readonly<Record<string, string>> = {
  features: "a Feature set (a features, raw-features or pca stage)",
};

/** The Feature-set input of a stage: alias `features`, or the only input. */
export function featureInput(ctx: Pick<StageContext, "inputs" | "name">): string {
  if (ctx.inputs.features) return ctx.inputs.features;
  const all = Object.values(ctx.inputs);
  if (all.length === 1) return all[0];
  throw new Error(
    `stage ${ctx.name}: needs a Feature-set input named "features" (inputs: { features: <stage> }), ` +
      `got [${Object.keys(ctx.inputs).join(", ")}]`,
  );
}

/** Which views PCA is applied to. */
export type PcaViews = "image" | "text" | "both";

/** Preprocessing params shared by every baseline kind (declared defaults). */
export function preprocessParams(defaults: { normalize?: Normalize } = {}) {
  return {
    normalize: {
      type: "string",
      default: defaults.normalize ?? "zscore",
      enum: NORMALIZE_MODES,
      doc:
        "column normalisation: zscore (train stats) | center | split-l2 (§6: each split by its own stats) | none",
    },
    pca: {
      type: "string",
      default: "none",
      enum: PCA_MODES,
      doc:
        "PCA before the method: none | standard (fit on train, test with train mean) | pcain (§6 quirk)",
    },
    pcaViews: {
      type: "string",
      default: "image",
      enum: ["image", "text", "both"],
      doc: "which views PCA applies to (§6 uses both)",
    },
    pcaEnergy: {
      type: "number",
      default: 0.95,
      doc: "keep the smallest k whose cumulative variance ratio is ≥ this (used when pcaK = 0)",
    },
    pcaK: { type: "integer", default: 0, doc: "PCA components (0 = use pcaEnergy)" },
  } as const satisfies ParamSchema;
}

/** Preprocessing params as resolved (derived from {@link preprocessParams}). */
export type PreprocessParams = ParamsOf<ReturnType<typeof preprocessParams>>;

/** The views after preprocessing, with what was done to them. */
export interface PreparedViews {
  /** Image view. */
  img: Split;
  /** Text view. */
  txt: Split;
  /** PCA components kept per view (absent if no PCA on that view). */
  pcaK: { img?: number; txt?: number };
}

/** Normalise, then (optionally) PCA, each view of a Feature set. */
export function prepareViews(fs: FeatureSet, params: PreprocessParams): PreparedViews {
  let img = normalizeSplit(fs.img, { mode: params.normalize });
  let txt = normalizeSplit(fs.txt, { mode: params.normalize });
  const pcaK: PreparedViews["pcaK"] = {};
  if (params.pca !== "none") {
    const opts = { mode: params.pca, k: params.pcaK, energy: params.pcaEnergy };
    if (params.pcaViews === "image" || params.pcaViews === "both") {
      const r = pcaSplit(img, opts);
      img = { train: r.train, test: r.test };
      pcaK.img = r.model?.k;
    }
    if (params.pcaViews === "text" || params.pcaViews === "both") {
      const r = pcaSplit(txt, opts);
      txt = { train: r.train, test: r.test };
      pcaK.txt = r.model?.k;
    }
  }
  return { img, txt, pcaK };
}

/**
 * Whether the embedding counts as "with PCA" (the paper's bracketed column): the method's own
 * `pca` param, or image features that an upstream `pca` stage reduced (it records `pca.img` in
 * the Feature set's `dataset.json`, e.g. the paper's PCA-1000 on AlexNet fc6).
 */
export function pcaApplied(fs: Pick<FeatureSet, "meta">, own: PcaMode): boolean {
  const upstream = (fs.meta as { pca?: { img?: unknown } }).pca;
  return own !== "none" || (typeof upstream === "object" && upstream?.img !== undefined);
}

/** An Embedding artifact to write. */
export interface Embedding {
  /** Test-set image embeddings. */
  img: Matrix;
  /** Test-set text embeddings (same width). */
  txt: Matrix;
  /** Test labels. */
  y: ArrayLike<number>;
  /** Dataset name. */
  dataset: string;
  /** Method name, e.g. `cca`. */
  method: string;
  /** Whether PCA was applied before the method. */
  pca: boolean;
  /** Native similarity. */
  score: "cosine" | "inner" | "nc" | "euclidean";
  /** Hyper-parameters that produced it. */
  hyper: Record<string, unknown>;
  /** Free-form notes (deviations, rank warnings). */
  notes: string[];
}

/** Write an Embedding artifact through `ctx.out`, recording the linear-algebra backend. */
export async function writeEmbedding(ctx: BaselineOutput, emb: Embedding): Promise<void> {
  recordLinalg(ctx);
  const { img, txt, y, dataset, method, pca, score, hyper, notes } = emb;
  await writeEmbeddingArtifact(ctx.out, {
    img,
    txt,
    y,
    info: { dataset, method, pca, score, hyper, notes },
  });
}
