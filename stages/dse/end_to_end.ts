/**
 * The `train-dse` kind with the end-to-end image branch: the ResNet backbones of
 * resnet_backbone.ts registered (`image_branch: end-to-end`, `backbone: resnet50` with a Keras
 * `.h5` as the `backbone` input). In `features` mode it trains exactly as the default kind.
 *
 * The kind's `module` is this file, so the backbone code (and the ResNet it imports) is part of
 * the cache key, and a worker thread finds the kind here.
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import type { ImageBackboneFactory } from "../nn/backbone.ts";
import { createTrainDseKind } from "./train_kind.ts";

/**
 * The names of `RESNET_BACKBONES` (stages/nn/resnet_backbone.ts; a test keeps the two lists
 * equal). The kind refers to them by name so that the ResNet code, and tfjs with it, loads when
 * a backbone is built, not with the CLI (README, "Start-up").
 */
export const RESNET_BACKBONE_NAMES = [
  "resnet50",
  "keras-resnet",
  "resnet50-random",
  "resnet-tiny",
  "resnet-tiny-random",
] as const;

/** Each of {@link RESNET_BACKBONE_NAMES}, building its backbone through a dynamic import. */
export const LAZY_RESNET_BACKBONES: Record<string, ImageBackboneFactory> = Object.fromEntries(
  RESNET_BACKBONE_NAMES.map((name) => [
    name,
    async (options: Parameters<ImageBackboneFactory>[0]) => {
      const { RESNET_BACKBONES } = await import("../nn/resnet_backbone.ts");
      return await RESNET_BACKBONES[name](options);
    },
  ]),
);

/** `train-dse` with the ResNet backbones (`resnet50`, `resnet50-random`, `resnet-tiny[-random]`). */
export const trainDseEndToEndKind: StageKind = createTrainDseKind({
  backbones: LAZY_RESNET_BACKBONES,
  module: import.meta.url,
});
