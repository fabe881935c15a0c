/**
 * Semantic matching (SM) and semantic correlation matching (SCM) of Rasiwasia et al., ACM MM 2010
 * (methods.md §4), and the `sm` and `scm` stage kinds.
 *
 * SM trains one C-class L2 logistic regression per modality on that modality's own features; an
 * item's semantic vector is its class posterior. SCM first maps both views by CCA (§2; z-scored,
 * k components) and then does SM on the CCA projections. Retrieval compares posteriors.
 *
 * The default `score` is `cosine`: it is the "NC" (normalised correlation, −xᵀy/‖x‖‖y‖) of the
 * SVCL code and methods.md §1/§4, and it reproduces the published SCM 0.277/0.226. Note that this
 * project's `nc` similarity is the cosine of ROW-CENTRED vectors, a different measure.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import type { Matrix } from "../linalg/matrix.ts";
import { fitLogreg, type LogregModel, type Multiclass, predictProba } from "../linalg/logreg.ts";
import { fitCca, projectCca } from "./cca.ts";
import {
  featureInput,
  FEATURES_INPUT,
  pcaApplied,
  prepareViews,
  preprocessParams,
  writeEmbedding,
} from "./common.ts";
import { EMBEDDING_OUTPUTS } from "../formats/embedding.ts";
import { readFeatureSet } from "../formats/feature_set.ts";

/** Logistic-regression settings of SM/SCM. */
export interface SemanticOptions {
  /** Inverse regularisation C (default 30). */
  c?: number;
  /** multinomial (default) or ovr. */
  multiclass?: Multiclass;
  /** Constant-1 bias feature (default true). */
  bias?: boolean;
  /** Regularise the bias weight (default true, liblinear `-B 1`). */
  regularizeBias?: boolean;
  /** Number of classes (default max train label + 1). */
  classes?: number;
  /** L-BFGS relative gradient tolerance (default 1e-8). */
  gradTol?: number;
}

/** Posteriors of both modalities' test rows, and the two fitted classifiers. */
export interface SemanticResult {
  /** Test image posteriors (N_test × C). */
  img: Matrix;
  /** Test text posteriors (N_test × C). */
  txt: Matrix;
  /** Image-side classifier. */
  imgModel: LogregModel;
  /** Text-side classifier. */
  txtModel: LogregModel;
}

/**
 * Semantic matching: fit one logistic regression per modality on the train rows and return the
 * test posteriors.
 * @param train paired train views and their labels
 * @param test test views to map
 */
export function semanticMatch(
  train: { img: Matrix; txt: Matrix; labels: ArrayLike<number> },
  test: { img: Matrix; txt: Matrix },
  options: SemanticOptions = {},
): SemanticResult {
  let classes = options.classes ?? 0;
  for (let i = 0; i < train.labels.length; i++) classes = Math.max(classes, train.labels[i] + 1);
  const lr = {
    c: options.c ?? 30,
    multiclass: options.multiclass ?? "multinomial",
    bias: options.bias ?? true,
    regularizeBias: options.regularizeBias ?? true,
    classes,
    gradTol: options.gradTol ?? 1e-8,
  };
  const imgModel = fitLogreg(train.img, train.labels, lr);
  const txtModel = fitLogreg(train.txt, train.labels, lr);
  return {
    img: predictProba(imgModel, test.img),
    txt: predictProba(txtModel, test.txt),
    imgModel,
    txtModel,
  };
}

type Score = "cosine" | "nc" | "inner" | "euclidean";

function lrParams() {
  return {
    c: { type: "number", default: 30, doc: "logistic regression C (objective ½‖W‖² + C Σ CE)" },
    multiclass: {
      type: "string",
      default: "multinomial",
      enum: ["multinomial", "ovr"],
      doc: "multinomial softmax, or one-vs-rest sigmoids normalised to sum 1 (liblinear -b 1)",
    },
    bias: { type: "boolean", default: true, doc: "append a constant-1 bias feature (-B 1)" },
    regularizeBias: {
      type: "boolean",
      default: true,
      doc: "include the bias weight in ½‖W‖² (liblinear style)",
    },
    gradTol: {
      type: "number",
      default: 1e-8,
      doc: "L-BFGS stop: ‖∇‖∞ ≤ gradTol·‖∇ at 0‖∞",
    },
    score: {
      type: "string",
      default: "cosine",
      enum: ["cosine", "nc", "inner", "euclidean"],
      doc:
        "native similarity of the posteriors; cosine = the SVCL/Rasiwasia 'NC' (nc here is row-centred)",
    },
  } as const satisfies ParamSchema;
}

function lrReport(m: LogregModel): string {
  const its = m.solver.map((s) => s.iterations).join("/");
  const g = Math.max(...m.solver.map((s) => s.gradNorm));
  const ok = m.solver.every((s) => s.converged);
  return `${m.multiclass} its ${its}, max ‖∇‖∞ ${g.toExponential(2)}${
    ok ? "" : ` NOT converged (${m.solver.find((s) => !s.converged)?.message})`
  }`;
}

async function runSemantic(
  ctx: StageContext<SmParams>,
  method: "sm" | "scm",
  cca?: Pick<ScmParams, "k" | "reg">,
): Promise<void> {
  const p = ctx.params;
  const fs = await readFeatureSet(featureInput(ctx));
  const v = prepareViews(fs, p);
  const notes: string[] = [];
  let train = { img: v.img.train, txt: v.txt.train, labels: fs.yTrain };
  let test = { img: v.img.test, txt: v.txt.test };
  const hyper: Record<string, unknown> = { ...ctx.params, pcaComponents: v.pcaK };
  if (cca) {
    const k = Math.min(cca.k, v.img.train.cols, v.txt.train.cols);
    const model = fitCca(v.img.train, v.txt.train, { k, reg: cca.reg });
    const tr = projectCca(model, { x: v.img.train, y: v.txt.train });
    const te = projectCca(model, { x: v.img.test, y: v.txt.test });
    train = { img: tr.x!, txt: tr.y!, labels: fs.yTrain };
    test = { img: te.x!, txt: te.y! };
    hyper.kEffective = k;
    hyper.ccaRank = model.rank;
    ctx.log(`scm: cca rho = ${Array.from(model.rho).map((r) => r.toFixed(4)).join(", ")}`);
    if (model.rank < k) {
      notes.push(
        `CCA k = ${k} exceeds the covariance rank (${model.rank} supported pairs); the extra ` +
          "components carry no correlation (reg = 0 maps them through the pseudo-inverse)",
      );
    }
  }
  const r = semanticMatch(train, test, {
    c: p.c,
    multiclass: p.multiclass,
    bias: p.bias,
    regularizeBias: p.regularizeBias,
    gradTol: p.gradTol,
    classes: Array.isArray(fs.meta.classes) ? fs.meta.classes.length : undefined,
  });
  ctx.log(`${method}: image LR ${lrReport(r.imgModel)}`);
  ctx.log(`${method}: text LR ${lrReport(r.txtModel)}`);
  for (const [side, m] of [["image", r.imgModel], ["text", r.txtModel]] as const) {
    if (!m.solver.every((s) => s.converged)) {
      notes.push(`${side} logistic regression stopped before the gradient tolerance`);
    }
  }
  ctx.provenance.pcaK = v.pcaK;
  ctx.provenance.solver = "L-BFGS (stages/linalg/lbfgs.ts)";
  await writeEmbedding(ctx, {
    img: r.img,
    txt: r.txt,
    y: fs.yTest,
    dataset: String(fs.meta.dataset ?? "unknown"),
    method,
    pca: pcaApplied(fs, p.pca),
    score: p.score,
    hyper,
    notes,
  });
}

function runSm(ctx: StageContext<SmParams>): Promise<void> {
  return runSemantic(ctx, "sm");
}

function runScm(ctx: StageContext<ScmParams>): Promise<void> {
  return runSemantic(ctx, "scm", ctx.params);
}

/** The declared params of `sm` ({@link SmParams} derives from them). */
const SM_PARAMS = {
  ...preprocessParams({ normalize: "none" }),
  ...lrParams(),
} as const satisfies ParamSchema;

/** Params of `sm`. */
type SmParams = ParamsOf<typeof SM_PARAMS>;

/** The declared params of `scm` ({@link ScmParams} derives from them). */
const SCM_PARAMS = {
  ...preprocessParams({ normalize: "zscore" }),
  k: { type: "integer", default: 10, doc: "CCA components (capped at min view dim)" },
  reg: { type: "number", default: 0, doc: "CCA ridge on both covariances" },
  ...lrParams(),
} as const satisfies ParamSchema;

/** Params of `scm`. */
type ScmParams = ParamsOf<typeof SCM_PARAMS>;

/** `sm` stage kind: per-modality logistic-regression posteriors (Rasiwasia et al. 2010 SM). */
export const smKind = defineKind({
  name: "sm",
  description: "semantic matching: per-modality L2 logistic-regression posteriors → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: SM_PARAMS,
  outputs: EMBEDDING_OUTPUTS,
  run: runSm,
});

/** `scm` stage kind: CCA (z-scored, k components), then SM on the projections. */
export const scmKind = defineKind({
  name: "scm",
  description: "semantic correlation matching: CCA then per-modality LR posteriors → Embedding",
  module: import.meta.url,
  inputs: FEATURES_INPUT,
  params: SCM_PARAMS,
  outputs: EMBEDDING_OUTPUTS,
  run: runScm,
});
