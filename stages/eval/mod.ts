/**
 * Evaluation: mAP, R@K / medr / meanr (`recall.ts`), precision-recall, precision-scope, the
 * random-ranking expectation, and choosing recipes by a validation criterion (`select-recipe`).
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { evaluateKind } from "./evaluate.ts";
import { randomKind } from "./random.ts";
import { selectRecipeKind } from "./select_recipe.ts";

/** The stage kinds of this group: `evaluate`, `random` and `select-recipe`. */
export const kinds: StageKind[] = [
  evaluateKind as StageKind,
  randomKind as StageKind,
  selectRecipeKind as StageKind,
];
