/**
 * Data stage kinds: downloads, dataset loading, and the raw-data path (archive extraction, dataset
 * layouts, text features, CNN image features, assembly into a Feature-set).
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { extractKind } from "./archive.ts";
import { imageFeaturesKind } from "./image_features.ts";
import { rawDatasetKind, rawFeaturesKind } from "./datasets.ts";
import { download } from "./download.ts";
import { features } from "./features.ts";
import { imageTensorsKind } from "./image_tensors.ts";
import { labelmeAnnotationsKind } from "./labelme_annotations.ts";
import { ldaTextKind } from "./lda.ts";
import { tagCountsKind } from "./text.ts";
import { splitValidationKind } from "./split_validation.ts";

/** The data group's stage kinds. */
export const kinds: StageKind[] = [
  download,
  features,
  extractKind,
  labelmeAnnotationsKind,
  rawDatasetKind,
  ldaTextKind,
  tagCountsKind,
  imageFeaturesKind,
  imageTensorsKind,
  rawFeaturesKind,
  splitValidationKind,
];
