/**
 * Test helper for the baseline tests: the Wikipedia feature release run through the real
 * `features` stage kind (MAT v5 reader, label lists), once per test file, and a way to run a
 * baseline kind on it and measure its mAP with the core evaluation.
 *
 * The data come from the mirror (env `DSE_DATA_MIRROR`, or the sibling shared checkout); when
 * absent, {@link WIKI} is undefined and the real-data tests are skipped with a message.
 * @module
 */
import type { Params, StageKind } from "../../../pipeline/types.ts";
import { features } from "../../../stages/data/features.ts";
import { meanAveragePrecision } from "../../../stages/retrieval/map.ts";
import { readLabels, readMatrix } from "../../../stages/tensor_io/npy.ts";
import { WIKI_FEATURES_PARAMS, wikipediaDir } from "../../helpers/shared_data.ts";
import { runKind } from "../../helpers/stage_context.ts";

/** The Wikipedia release directory, or undefined (tests skip). */
export const WIKI: string | undefined = wikipediaDir();

/** Log once why real-data tests are skipped. */
export function noteSkip(file: string): void {
  if (!WIKI) {
    console.log(
      `${file}: Wikipedia features not found (set DSE_DATA_MIRROR); real-data tests skipped`,
    );
  }
}

let cached: Promise<string> | undefined;

/** The Feature-set directory built from the release by the `features` kind (memoised). */
export function wikiFeatureSet(): Promise<string> {
  if (!WIKI) throw new Error("wikiFeatureSet: no Wikipedia mirror");
  cached ??= runKind(features, {
    params: WIKI_FEATURES_PARAMS,
    inputs: { raw: WIKI },
  }).then((r) => r.dir);
  return cached;
}

/** What {@link runOnWiki} measured. */
export interface WikiResult {
  /** Image query → text gallery mAP. */
  i2t: number;
  /** Text query → image gallery mAP. */
  t2i: number;
  /** The embedding object directory. */
  dir: string;
  /** The parsed embedding.json. */
  meta: { score: string; notes: string[]; hyper: Record<string, unknown>; pca: boolean };
  /** Stage log lines. */
  logs: string[];
  /** What the stage recorded in `ctx.provenance`. */
  provenance: Record<string, unknown>;
}

/** Run a baseline kind on the Wikipedia Feature set and evaluate its embedding (cosine). */
export async function runOnWiki(kind: StageKind, params: Params): Promise<WikiResult> {
  const fsDir = await wikiFeatureSet();
  const r = await runKind(kind, { params, inputs: { features: fsDir } });
  const [img, txt, y] = await Promise.all([
    readMatrix(`${r.dir}/img.npy`),
    readMatrix(`${r.dir}/txt.npy`),
    readLabels(`${r.dir}/y.npy`),
  ]);
  const meta = JSON.parse(await Deno.readTextFile(`${r.dir}/embedding.json`));
  return {
    i2t: meanAveragePrecision({ x: img, y }, { x: txt, y }, { similarity: "cosine" }),
    t2i: meanAveragePrecision({ x: txt, y }, { x: img, y }, { similarity: "cosine" }),
    dir: r.dir,
    meta,
    logs: r.logs,
    provenance: r.provenance,
  };
}

/**
 * Assert a measured pair against a reference: within `tol` (the check's tolerance) of each
 * value, and report the measurement in the failure message.
 */
export function assertMap(
  got: { i2t: number; t2i: number },
  want: { i2t: number; t2i: number; tol: number; what: string },
): void {
  const d1 = Math.abs(got.i2t - want.i2t), d2 = Math.abs(got.t2i - want.t2i);
  if (d1 > want.tol || d2 > want.tol) {
    throw new Error(
      `${want.what}: measured ${got.i2t.toFixed(4)}/${got.t2i.toFixed(4)}, ` +
        `reference ${want.i2t}/${want.t2i}, tolerance ${want.tol}`,
    );
  }
}
