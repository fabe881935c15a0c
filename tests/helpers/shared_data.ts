/**
 * Test helper: where the shared read-only data lives.
 *
 * Tests never hard-code `../shared`: they use env `DSE_DATA_MIRROR` (set by `.ci/run`), falling back
 * to `<repo>/../shared/data` for a developer checkout. Tests that need the data skip when it is absent.
 * @module
 */

/** Absolute path of the data mirror (e.g. `/work/shared/data`), or undefined if none is present. */
export function dataMirror(): string | undefined {
  const candidates = [
    Deno.env.get("DSE_DATA_MIRROR"),
    new URL("../../../shared/data", import.meta.url).pathname,
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isDirectory) return c;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Absolute path of the Wikipedia feature release directory, or undefined if absent. */
export function wikipediaDir(): string | undefined {
  const m = dataMirror();
  if (!m) return undefined;
  try {
    Deno.statSync(`${m}/wikipedia/raw_features.mat`);
    return `${m}/wikipedia`;
  } catch {
    return undefined;
  }
}

/**
 * Absolute path of the papers' text folder (`../shared/seeds`): env `DSE_SEEDS`, else beside the
 * data mirror, else `<repo>/../shared/seeds`; undefined if none holds the Kang et al. full text.
 */
export function seedsDir(): string | undefined {
  const m = dataMirror();
  const candidates = [
    Deno.env.get("DSE_SEEDS"),
    m ? `${m}/../seeds` : undefined,
    new URL("../../../shared/seeds", import.meta.url).pathname,
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      Deno.statSync(`${c}/kang17a_fulltext.txt`);
      return c;
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * The `features` params that read the Wikipedia feature release (the same as pipeline.yaml's
 * `wiki-data` stage): the release's MAT variables, and labels and classes from its list files.
 */
export const WIKI_FEATURES_PARAMS = {
  dataset: "wiki",
  source: "raw_features.mat",
  img_train: "I_tr",
  img_test: "I_te",
  txt_train: "T_tr",
  txt_test: "T_te",
  labels_train: { file: "trainset_txt_img_cat.list", column: 3, base: 1 },
  labels_test: { file: "testset_txt_img_cat.list", column: 3, base: 1 },
  classes: { file: "categories.list" },
};
