/**
 * The params of `train-dse`: their types, their declared defaults (the paper's recipe, §3.5),
 * the paper's λ per loss, and the checks a run makes before training.
 * @module
 */
import type { ParamsOf } from "../../pipeline/types.ts";
import { typedParam } from "../util/kind.ts";
import { CLIP_TEMPERATURE, LOSS_NAMES, lossInfo as lossSpec, VSE_MARGIN } from "./loss_catalog.ts";
import type { LossKind } from "./model.ts";
import type { DseData } from "./train_data.ts";
import { type RecipesFile, validateRecipeValues } from "../formats/recipes.ts";

/** Resolved parameters of `train-dse`, derived from {@link DSE_PARAMS}. */
export type DseParams = ParamsOf<typeof DSE_PARAMS>;

/** The paper's default λ per loss. */
export const DEFAULT_LAMBDA: Record<LossKind, number> = {
  s: 0,
  cs: 0.01,
  ds: 0.1,
  vse0: 0,
  vsepp: 0,
  infonce: 0,
  malali: 0.01,
  xu: 0.35,
};

/**
 * The λ a run uses: the `lambda` param (a number, or a numeric string such as "1e-4" from a
 * matrix), or the paper's default for the loss when it is null.
 */
export function resolveLambda(params: { loss: LossKind; lambda: unknown }): number {
  const v = params.lambda;
  if (v === null || v === undefined || v === "") return DEFAULT_LAMBDA[params.loss];
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new Error(`train-dse: lambda must be a number ≥ 0 or null (got ${JSON.stringify(v)})`);
  }
  return n;
}

/**
 * Declared params of `train-dse`. The defaults are the paper's recipe (§3.5): Adam lr 1e-3,
 * weight decay 1e-3, batch 32 (16 images + 16 texts), lr ×0.1 after a 10-epoch plateau of the
 * training accuracy, early stop after 15, at most 400 epochs.
 */
export const DSE_PARAMS = {
  loss: {
    type: "string",
    enum: ["s", "cs", "ds", "vse0", "vsepp", "infonce", "malali", "xu"],
    doc:
      "loss (stages/dse/loss_registry.ts): DSE s/cs/ds, vse0, vsepp, infonce, malali or xu (the last two our reading of their abstracts)",
  },
  margin: {
    type: "number",
    default: VSE_MARGIN,
    doc: "margin: hinge α (vse0, vsepp); m of the global loss (xu, ours 0.8)",
  },
  temperature: {
    type: "number",
    default: CLIP_TEMPERATURE,
    doc: "initial temperature τ₀ of infonce (then learned)",
  },
  lambda: typedParam<number | string | null>({
    type: "any",
    default: null,
    doc:
      "λ: center-loss weight (cs, paper 0.01; malali 0.01) / pull weight (ds, paper 0.1) / mean-gap weight (xu 0.35); null = default",
  }),
  alpha: { type: "number", default: 0.5, doc: "center update rate α (cs, malali)" },
  dim: { type: "integer", default: 2048, doc: "embedding width d" },
  epochs: { type: "integer", default: 400, doc: "maximum epochs" },
  batch: {
    type: "integer",
    default: 32,
    doc: "batch size: half images, half texts (same labels, or pairs for pair losses)",
  },
  lr: { type: "number", default: 1e-3, doc: "Adam learning rate" },
  weight_decay: {
    type: "number",
    default: 1e-3,
    doc: "coupled L2 (Keras kernel_regularizer) on FC kernels and W",
  },
  plateau_patience: {
    type: "integer",
    default: 10,
    doc: "epochs of flat train acc before lr ×0.1",
  },
  stop_patience: { type: "integer", default: 15, doc: "epochs of flat train acc before stopping" },
  seed: { type: "integer", default: 0, doc: "seed of init and batch sampling (recorded)" },
  image_branch: {
    type: "string",
    enum: ["features", "end-to-end"],
    default: "features",
    doc: "features: FC head on precomputed features; end-to-end: a backbone before the head",
  },
  backbone: { type: "string", default: "resnet50", doc: "backbone for end-to-end" },
  pairing: {
    type: "string",
    enum: ["label", "pair"],
    default: "label",
    doc: "texts in a batch: random same-label texts (label) or the images' own pairs (pair)",
  },
  normalize: {
    type: "string",
    enum: ["none", "zscore", "l2"],
    default: "none",
    doc: "input normalisation with train statistics",
  },
  recipe: {
    type: "string",
    default: "",
    doc:
      "with a `recipe` input (recipes.json of select-recipe): the method whose chosen recipe sets lr, margin, temperature, lambda, batch, epochs",
  },
} as const;

/**
 * The params a run trains with: `p`, with the tunable fields of the recipe `p.recipe` of `file`
 * (a `recipe` input) put over them. Without a file, `p` as it is. Throws a `train-dse: …` error
 * when the param and the input do not come together, the method has no recipe, its recipe was
 * chosen for another loss, or it holds a field a recipe may not set.
 * @param p the stage's params
 * @param file the parsed `recipe` input, if the stage has one
 */
export function applyRecipe(p: DseParams, file: RecipesFile | undefined): DseParams {
  if (!file) {
    if (p.recipe) {
      throw new Error(
        `train-dse: recipe '${p.recipe}' is named but no \`recipe\` input is wired (add ` +
          "inputs: { recipe: <select-recipe stage>/recipes.json })",
      );
    }
    return p;
  }
  if (!p.recipe) {
    throw new Error(
      "train-dse: a `recipe` input is wired but the `recipe` param does not name the method " +
        `whose recipe to take (one of ${Object.keys(file.recipes).join(", ")})`,
    );
  }
  const r = file.recipes[p.recipe];
  if (!r) {
    throw new Error(
      `train-dse: recipes.json has no recipe for '${p.recipe}'; it has ${
        Object.keys(file.recipes).join(", ") || "none"
      }`,
    );
  }
  if (r.loss !== p.loss) {
    throw new Error(
      `train-dse: the recipe of '${p.recipe}' was chosen for loss ${r.loss}, this stage trains ${p.loss}`,
    );
  }
  return { ...p, ...validateRecipeValues(r.values, `recipes.json: recipes.${p.recipe}.values`) };
}

/** Throws a `train-dse: …` error saying what to fix when the params do not fit the data. */
export function checkParams(p: DseParams, data: DseData): void {
  const bad = (m: string) => {
    throw new Error(`train-dse: ${m}`);
  };
  if (!LOSS_NAMES.includes(p.loss)) {
    bad(`loss must be one of ${LOSS_NAMES.join(", ")} (got ${p.loss})`);
  }
  const spec = lossSpec(p.loss);
  if (spec.batching === "paired" && p.batch < 4) {
    bad(`loss ${p.loss} needs in-batch negatives: batch must be ≥ 4 (2 pairs); got ${p.batch}`);
  }
  if (!(p.batch >= 2 && p.batch % 2 === 0)) {
    bad(`batch must be an even number ≥ 2 (half images, half texts); got ${p.batch}`);
  }
  if (!(p.dim >= 1)) bad(`dim must be ≥ 1; got ${p.dim}`);
  if (!(p.epochs >= 1)) bad(`epochs must be ≥ 1; got ${p.epochs}`);
  const n = data.yTrain.length;
  if (data.imgTrain.shape[0] !== n || data.txtTrain.shape[0] !== n) {
    bad(
      `img_train (${data.imgTrain.shape[0]}), txt_train (${
        data.txtTrain.shape[0]
      }) and y_train (${n}) must have the same number of rows (row i is pair i)`,
    );
  }
  if (data.imgTest.shape[0] !== data.yTest.length || data.txtTest.shape[0] !== data.yTest.length) {
    bad("img_test, txt_test and y_test must have the same number of rows");
  }
  for (const y of [data.yTrain, data.yTest]) {
    for (const v of y) {
      if (!(v >= 0 && v < data.numClasses)) {
        bad(`label ${v} is outside 0..${data.numClasses - 1}: labels must be 0-based class ids`);
      }
    }
  }
  if (p.image_branch === "features" && data.imgTrain.shape.length !== 2) {
    bad(
      `image_branch "features" needs 2-D image features; img_train has shape [${data.imgTrain.shape}] ` +
        `(use image_branch: end-to-end for raw images)`,
    );
  }
}
