/**
 * The `select-recipe` stage kind: per method, the candidate recipe of a grid with the best
 * validation criterion, written as `recipes.json` (`stages/formats/recipes.ts`) with every
 * candidate's score.
 *
 * Inputs: `val`, the evaluations of the grid's trainings on a validation split (one metrics row per
 * candidate under `similarity`, its `method` the candidate's name: the evaluate stage's `label`),
 * and `split`, that validation split (a `split-validation` Feature set, recorded). The grid is the
 * `candidates` param: `{ name, method, loss, <recipe fields> }` per candidate, the same list the
 * training matrix runs. The criterion is maximised (a mAP or an R@K); a tie goes to the candidate
 * listed first, so the choice never depends on the order the inputs arrive in.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import { type MetricRow, readMetrics } from "../formats/metrics.ts";
import { readFeatureSetArrays } from "../formats/feature_set.ts";
import {
  type Recipe,
  type RecipesFile,
  type RecipeValues,
  validateRecipeValues,
  writeRecipes,
} from "../formats/recipes.ts";

/** The metrics fields a recipe may be chosen by: higher is better for each. */
export const CRITERIA = [
  "avg",
  "i2t",
  "t2i",
  "i2t_r1",
  "i2t_r5",
  "i2t_r10",
  "t2i_r1",
  "t2i_r5",
  "t2i_r10",
] as const;

/** One candidate of the grid, parsed. */
export interface Candidate {
  /** Unique name; the metrics rows of its evaluation carry it as `method`. */
  name: string;
  /** The method it is a candidate for (e.g. `dse-cs`). */
  method: string;
  /** The `train-dse` loss it trains. */
  loss: string;
  /** Its recipe values. */
  values: RecipeValues;
}

/**
 * Parse the `candidates` param: every item `{ name, method, loss }` plus recipe fields only;
 * names unique, one loss per method. Throws naming the item.
 * @param list the param's value
 */
export function parseCandidates(list: unknown): Candidate[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error("give a non-empty list of { name, method, loss, <recipe fields> }");
  }
  const seen = new Set<string>();
  const lossOf = new Map<string, string>();
  return list.map((item, i) => {
    const at = `candidates[${i}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new Error(`${at}: must be a mapping { name, method, loss, <recipe fields> }`);
    }
    const { name, method, loss, ...rest } = item as Record<string, unknown>;
    for (const [k, v] of Object.entries({ name, method, loss })) {
      if (typeof v !== "string" || !v) {
        throw new Error(`${at}: '${k}' must be a non-empty string, got ${JSON.stringify(v)}`);
      }
    }
    const c = {
      name: name as string,
      method: method as string,
      loss: loss as string,
      values: validateRecipeValues(rest, `${at} (${name})`),
    };
    if (seen.has(c.name)) throw new Error(`${at}: name '${c.name}' appears twice in the grid`);
    seen.add(c.name);
    const l = lossOf.get(c.method);
    if (l !== undefined && l !== c.loss) {
      throw new Error(`${at}: method '${c.method}' has candidates of two losses (${l}, ${c.loss})`);
    }
    lossOf.set(c.method, c.loss);
    return c;
  });
}

/**
 * Choose per method the candidate with the highest `criterion` among `rows` (those of
 * `similarity`); ties go to the candidate listed first. Every candidate needs exactly one row, and
 * every row must belong to a candidate.
 * @param candidates the parsed grid
 * @param rows the validation metrics rows
 * @param options `criterion` (a {@link CRITERIA} field), `similarity`
 * @returns the recipes by method, methods in grid order
 */
export function selectRecipes(
  candidates: readonly Candidate[],
  rows: readonly MetricRow[],
  options: { criterion: string; similarity: string },
): Record<string, Recipe> {
  const { criterion, similarity } = options;
  if (!(CRITERIA as readonly string[]).includes(criterion)) {
    throw new Error(`criterion '${criterion}' is not one of ${CRITERIA.join(", ")}`);
  }
  const names = new Set(candidates.map((c) => c.name));
  const scoreOf = new Map<string, number>();
  for (const r of rows) {
    if (r.similarity !== similarity) continue;
    if (!names.has(r.method)) {
      throw new Error(
        `a validation row of '${r.method}' (stage ${r.stage}) is no candidate of the grid; ` +
          `label each evaluation with its candidate's name`,
      );
    }
    if (scoreOf.has(r.method)) {
      throw new Error(`candidate '${r.method}' has two ${similarity} rows (stage ${r.stage})`);
    }
    const v = (r as unknown as Record<string, unknown>)[criterion];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`candidate '${r.method}' (stage ${r.stage}) has no '${criterion}' value`);
    }
    scoreOf.set(r.method, v);
  }
  const out: Record<string, Recipe> = {};
  for (const c of candidates) {
    const score = scoreOf.get(c.name);
    if (score === undefined) {
      throw new Error(
        `candidate '${c.name}' has no ${similarity} validation row: wire its evaluation as an input`,
      );
    }
    const r = out[c.method];
    const scored = { name: c.name, values: c.values, score };
    if (!r) {
      out[c.method] = {
        loss: c.loss,
        chosen: c.name,
        values: c.values,
        score,
        candidates: [scored],
      };
      continue;
    }
    r.candidates.push(scored);
    if (score > r.score) Object.assign(r, { chosen: c.name, values: c.values, score });
  }
  return out;
}

/** The declared params of `selectRecipeKind`. */
const SELECT_PARAMS = {
  candidates: typedParam<Record<string, unknown>[]>({
    type: "array",
    doc:
      "the grid: { name, method, loss, <recipe fields: lr, margin, temperature, lambda, batch, epochs> } per candidate",
  }),
  criterion: {
    type: "string",
    default: "avg",
    enum: CRITERIA,
    doc: "the metrics field maximised on the validation rows (avg = mean of the two mAPs)",
  },
  similarity: { type: "string", default: "cosine", doc: "the rows compared" },
} as const satisfies ParamSchema;

/** Params of `select-recipe`. */
export type SelectRecipeParams = ParamsOf<typeof SELECT_PARAMS>;

async function runSelect(ctx: StageContext<SelectRecipeParams>): Promise<void> {
  const p = ctx.params;
  const candidates = parseCandidates(p.candidates);
  if (!ctx.inputs.split) {
    throw new Error(
      "select-recipe: needs an input `split` (the split-validation stage the grid trained on)",
    );
  }
  const aliases = Object.keys(ctx.inputs).filter((a) => a === "val" || a.startsWith("val:"));
  if (!aliases.length) {
    throw new Error(
      "select-recipe: needs inputs `val` (the evaluations of the grid, e.g. val: 'cmp-val-eval-*')",
    );
  }
  const rows: MetricRow[] = [];
  for (const a of aliases) rows.push(...await readMetrics(ctx.inputs[a]));
  let recipes;
  try {
    recipes = selectRecipes(candidates, rows, p);
  } catch (e) {
    throw new Error(`select-recipe: ${(e as Error).message}`);
  }
  const meta = (await readFeatureSetArrays(ctx.inputs.split)).meta;
  if (!meta.validation) {
    throw new Error(
      "select-recipe: input `split` is not a validation split (its dataset.json has no " +
        "`validation`): wire a split-validation stage",
    );
  }
  const file: RecipesFile = {
    criterion: p.criterion,
    similarity: p.similarity,
    split: { dataset: meta.dataset, ...(meta.validation as Record<string, unknown>) },
    recipes,
  };
  for (const [m, r] of Object.entries(recipes)) {
    ctx.log(
      `${m}: ${r.chosen} ${JSON.stringify(r.values)} ${p.criterion} ${r.score.toFixed(4)} (of ${
        r.candidates.map((c) => c.score.toFixed(4)).join(", ")
      })`,
    );
  }
  ctx.provenance.criterion = p.criterion;
  await writeRecipes(ctx.out("recipes.json"), file);
}

/** The `select-recipe` stage kind. */
export const selectRecipeKind = defineKind({
  name: "select-recipe",
  description:
    "per method, the grid candidate with the best validation criterion (ties: the first listed) → recipes.json with every candidate's score",
  module: import.meta.url,
  inputs: {
    val: "the grid's evaluations on the validation split (rows labelled by candidate name)",
    split: "the split-validation stage they trained on (recorded in recipes.json)",
  },
  params: SELECT_PARAMS,
  validate(p) {
    try {
      parseCandidates(p.candidates);
      return [];
    } catch (e) {
      return [{ param: "candidates", message: (e as Error).message }];
    }
  },
  outputs: ["recipes.json"],
  run: runSelect,
});
