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
import { RESNET_BACKBONES } from "../nn/resnet_backbone.ts";
import { createTrainDseKind } from "./train_kind.ts";

/** `train-dse` with the ResNet backbones (`resnet50`, `resnet50-random`, `resnet-tiny[-random]`). */
export const trainDseEndToEndKind: StageKind = createTrainDseKind({
  backbones: RESNET_BACKBONES,
  module: import.meta.url,
});
