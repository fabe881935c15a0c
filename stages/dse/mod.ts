/**
 * DSE stage kinds (Kang et al., ACML 2017): `train-dse`.
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { trainDseKind } from "./train.ts";

export { createTrainDseKind, trainDseKind } from "./train.ts";
export type { ImageBackbone, ImageBackboneFactory } from "./model.ts";

/** The kinds of this group. */
export const kinds: StageKind[] = [trainDseKind];
