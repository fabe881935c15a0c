/**
 * Evaluation: mAP, R@K / medr / meanr (`recall.ts`), precision-recall, precision-scope, the
 * random-ranking expectation.
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { evaluateKind } from "./evaluate.ts";
import { randomKind } from "./random.ts";

/** The stage kinds of this group: `evaluate` and `random`. */
export const kinds: StageKind[] = [evaluateKind as StageKind, randomKind as StageKind];
