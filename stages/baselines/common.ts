/**
 * Shared plumbing of the baseline stage kinds: read a Feature-set input, preprocess each view
 * (normalisation, PCA), and write an Embedding artifact (docs/architecture.md).
 *
 * A baseline stage takes its Feature set from the input alias `features` (or from its only
 * input), and writes `img.npy`, `txt.npy` (TEST-set projections), `y.npy` and `embedding.json`.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { readLabels, readMatrix, writeLabels, writeMatrix } from "../tensor_io/npy.ts";
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

/** A Feature-set artifact loaded in memory. */
export interface FeatureSet {
  /** Image features, train and test. */
  img: Split;
  /** Text features, train and test. */
  txt: Split;
  /** Train labels (int32, 0-based). */
  yTrain: Int32Array;
  /** Test labels (int32, 0-based). */
  yTest: Int32Array;
  /** The parsed `dataset.json` (at least `dataset`). */
  meta: { dataset: string; [key: string]: unknown };
}

/** The outputs every baseline stage declares. */
export const EMBEDDING_OUTPUTS: readonly string[] = [
  "img.npy",
  "txt.npy",
  "y.npy",
  "embedding.json",
];

/** The outputs of a Feature-set stage. */
export const FEATURE_SET_OUTPUTS: readonly string[] = [
  "img_train.npy",
  "img_test.npy",
  "txt_train.npy",
  "txt_test.npy",
  "y_train.npy",
  "y_test.npy",
  "dataset.json",
];

/** Read a Feature-set directory and check that its shapes agree. */
export async function readFeatureSet(dir: string): Promise<FeatureSet> {
  const p = (n: string) => `${dir.replace(/\/$/, "")}/${n}`;
  let parts;
  try {
    parts = await Promise.all([
      readMatrix(p("img_train.npy")),
      readMatrix(p("img_test.npy")),
      readMatrix(p("txt_train.npy")),
      readMatrix(p("txt_test.npy")),
      readLabels(p("y_train.npy")),
      readLabels(p("y_test.npy")),
      Deno.readTextFile(p("dataset.json")),
    ]);
  } catch (e) {
    throw new Error(
      `${dir} is not a Feature set (img_/txt_/y_ train/test .npy + dataset.json): ${
        (e as Error).message
      }; wire a features/pca stage as the input "features"`,
    );
  }
  const [it, ie, tt, te, ytr, yte, meta] = parts;
  const fs: FeatureSet = {
    img: { train: it, test: ie },
    txt: { train: tt, test: te },
    yTrain: ytr,
    yTest: yte,
    meta: JSON.parse(meta),
  };
  if (it.rows !== tt.rows || it.rows !== ytr.length) {
    throw new Error(
      `${dir}: train rows differ (img ${it.rows}, txt ${tt.rows}, y ${ytr.length}); rows must be pairs`,
    );
  }
  if (ie.rows !== te.rows || ie.rows !== yte.length) {
    throw new Error(
      `${dir}: test rows differ (img ${ie.rows}, txt ${te.rows}, y ${yte.length}); rows must be pairs`,
    );
  }
  if (it.cols !== ie.cols || tt.cols !== te.cols) {
    throw new Error(`${dir}: train and test feature widths differ`);
  }
  return fs;
}

/** Where a baseline writes: `ctx.out`, and `ctx.provenance` when the caller has one. */
export type BaselineOutput = Pick<StageContext, "out"> & Partial<Pick<StageContext, "provenance">>;

/**
 * Record the linear-algebra backend (`lapack` and its library, or `typescript`) in the object's
 * provenance. It is not part of the cache key: see the README, "Linear algebra backends".
 */
export function recordLinalg(ctx: BaselineOutput): void {
  if (ctx.provenance) ctx.provenance.linalg = linalgBackend();
}

/** Write a Feature set through `ctx.out` (used by the `pca` stage). */
export async function writeFeatureSet(ctx: BaselineOutput, fs: FeatureSet): Promise<void> {
  recordLinalg(ctx);
  await Promise.all([
    writeMatrix(ctx.out("img_train.npy"), fs.img.train),
    writeMatrix(ctx.out("img_test.npy"), fs.img.test),
    writeMatrix(ctx.out("txt_train.npy"), fs.txt.train),
    writeMatrix(ctx.out("txt_test.npy"), fs.txt.test),
    writeLabels(ctx.out("y_train.npy"), fs.yTrain),
    writeLabels(ctx.out("y_test.npy"), fs.yTest),
    Deno.writeTextFile(ctx.out("dataset.json"), JSON.stringify(fs.meta, null, 2) + "\n"),
  ]);
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

/** Write an Embedding artifact through `ctx.out`. */
export async function writeEmbedding(ctx: BaselineOutput, emb: Embedding): Promise<void> {
  recordLinalg(ctx);
  if (emb.img.cols !== emb.txt.cols) {
    throw new Error(`embedding: image width ${emb.img.cols} != text width ${emb.txt.cols}`);
  }
  if (emb.img.rows !== emb.y.length || emb.txt.rows !== emb.y.length) {
    throw new Error("embedding: image, text and label rows must all be the test-set size");
  }
  const json = {
    dataset: emb.dataset,
    method: emb.method,
    pca: emb.pca,
    score: emb.score,
    hyper: emb.hyper,
    notes: emb.notes,
  };
  await Promise.all([
    writeMatrix(ctx.out("img.npy"), emb.img),
    writeMatrix(ctx.out("txt.npy"), emb.txt),
    writeLabels(ctx.out("y.npy"), emb.y),
    Deno.writeTextFile(ctx.out("embedding.json"), JSON.stringify(json, null, 2) + "\n"),
  ]);
}
