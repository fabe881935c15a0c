/**
 * DSE stage kinds (Kang et al., ACML 2017): `train-dse`, registered with the end-to-end image
 * branch (ResNet-50 backbones) plugged in; `features` mode is the same kind.
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { trainDseEndToEndKind } from "./end_to_end.ts";

export { createTrainDseKind, trainDseKind } from "./train_kind.ts";
export { trainDseEndToEndKind } from "./end_to_end.ts";
export type { ImageBackbone, ImageBackboneFactory } from "./model.ts";

/** The kinds of this group. */
export const kinds: StageKind[] = [trainDseEndToEndKind];
