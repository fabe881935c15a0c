/**
 * The check: reproduced metrics against published numbers, and the paper's claims.
 * @module
 */
import type { StageKind } from "../../pipeline/types.ts";
import { checkKind } from "./check.ts";

/** The stage kinds of this group: `check`. */
export const kinds: StageKind[] = [checkKind as StageKind];
