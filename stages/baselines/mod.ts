/**
 * The baseline stage kinds (methods.md §2–§8): Feature set → Embedding, plus `pca`.
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { ccaKind } from "./cca.ts";
import { plsKind } from "./pls.ts";
import { blmKind, gmldaKind, gmmfaKind } from "./gma.ts";
import { pcaKind } from "./pca.ts";
import { scmKind, smKind } from "./scm.ts";
import { msalgKind } from "./msalg.ts";
import { lrbsKind } from "./lrbs.ts";

/** Every baseline kind; one line per kind. */
export const kinds: StageKind[] = [
  ccaKind,
  plsKind,
  blmKind,
  gmldaKind,
  gmmfaKind,
  pcaKind,
  smKind,
  scmKind,
  msalgKind,
  lrbsKind,
];
