/**
 * Discovery of what the report's upstream objects hold, by their files (docs/architecture.md):
 * `metrics.json`, `curves.json`, `check.json`, Embedding objects (`embedding.json` + `.npy`),
 * `dataset.json`, `recipes.json` (the recipes of the compared methods), and the engine's `manifest.json` when it is stored inside the object.
 *
 * λ-sweep rows: a metrics row belongs to a λ sweep when it carries a numeric `lambda` field (the
 * evaluate stage's `sweep: { lambda }`, stages/formats/metrics.ts) or `hyper.lambda`. The same is
 * read from `curves.json` and `embedding.json`; an object whose metrics rows all share one λ lends
 * it to its `curves.json`. A row's `seed` field marks one seed of several (the comparison).
 * @module
 */
import {
  type CheckCounts,
  type CheckRow,
  type ClaimResult,
  parseCheckResult,
} from "../formats/check_result.ts";
import { type MetricRow, RECALL_FIELDS } from "../formats/metrics.ts";
import { type DirectionCurves, parseCurves } from "../formats/curves.ts";
import { type RecipesFile, validateRecipes } from "../formats/recipes.ts";

/** One evaluated result (the `metrics.json` row schema), plus where it came from. */
export interface MetricsRow extends Omit<MetricRow, "stage"> {
  /** The stage that evaluated it. */
  stage?: string;
  /** λ of a sweep point (from `lambda` or `hyper.lambda`), if any. */
  lambda?: number;
  /** Input alias the row was read from. */
  alias: string;
}

/** A compared cell and a claim of a `check.json` (stages/formats/check_result.ts). */
export type { CheckRow, ClaimResult as Claim };

/** One direction's curves (stages/formats/curves.ts). */
export type { DirectionCurves };

/** A `curves.json`. */
export interface CurveSet {
  /** Dataset id. */
  dataset: string;
  /** Method id. */
  method: string;
  /** PCA on the image side. */
  pca: boolean;
  /** λ of a sweep point, if any. */
  lambda?: number;
  /** similarity → direction (`i2t`, `t2i`) → curves. */
  curves: Record<string, Record<string, DirectionCurves>>;
  /** Input alias. */
  alias: string;
}

/** An Embedding object (test-set embeddings), loaded lazily. */
export interface EmbeddingSet {
  /** Input alias. */
  alias: string;
  /** The object directory. */
  dir: string;
  /** Dataset id. */
  dataset: string;
  /** Method id. */
  method: string;
  /** PCA on the image side. */
  pca: boolean;
  /** λ, if any. */
  lambda?: number;
  /** Whether `centers.npy` exists. */
  hasCenters: boolean;
}

/** What the report knows about one upstream object (from its manifest, when stored). */
export interface ObjectInfo {
  /** Input alias. */
  alias: string;
  /** Object directory. */
  dir: string;
  /** Cache key (manifest `key`, else the directory name). */
  key: string;
  /** Stage name (manifest, else the metrics rows' `stage`). */
  stage?: string;
  /** Stage kind, if the manifest names it. */
  kind?: string;
  /** Wall time of the stage in seconds, if the manifest records it. */
  wallSeconds?: number;
  /** Compute backend, if recorded. */
  backend?: string;
  /** Seed(s), if recorded. */
  seeds?: unknown;
  /** Upstream keys (alias → key), if recorded. */
  inputKeys?: Record<string, string>;
  /** Tool versions, if recorded. */
  versions?: Record<string, string>;
  /** What the object holds: `metrics`, `curves`, `check`, `embedding`, `dataset`, `recipes`. */
  holds: string[];
  /** Whether a manifest was found. */
  hasManifest: boolean;
  /** Distinct `stage` values of the metrics rows this object holds (the stages behind numbers). */
  rowStages: string[];
}

/** Everything the report reads, merged over all inputs. */
export interface ReportInputs {
  /** All metrics rows. */
  metrics: MetricsRow[];
  /** All check rows. */
  checks: CheckRow[];
  /** All claims. */
  claims: ClaimResult[];
  /** Whether each check.json said ok (alias → ok). */
  checkOk: Record<string, boolean>;
  /** Each check's counts per kind of expected number (alias → counts). */
  checkCounts: Record<string, CheckCounts>;
  /** All curve sets. */
  curves: CurveSet[];
  /** All Embedding objects. */
  embeddings: EmbeddingSet[];
  /** Class names per dataset (from `dataset.json`). */
  classNames: Record<string, string[]>;
  /** One entry per input alias. */
  objects: ObjectInfo[];
  /** Things the reader skipped, with the reason, and the `warnings` of `dataset.json` files. */
  warnings: string[];
  /** The `recipes.json` files (select-recipe objects): the recipes the trained methods used. */
  recipes?: RecipesFile[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${path}: not valid JSON (${(e as Error).message}); rebuild the stage that wrote it`,
    );
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The λ a row-like object carries: a numeric `lambda` field, or `hyper.lambda`. */
export function lambdaOf(o: Record<string, unknown>): number | undefined {
  const cands = [o.lambda, isObj(o.hyper) ? o.hyper.lambda : undefined];
  for (const c of cands) if (typeof c === "number" && Number.isFinite(c)) return c;
  return undefined;
}

function parseMetrics(raw: unknown, path: string, alias: string): MetricsRow[] {
  const rows = Array.isArray(raw) ? raw : isObj(raw) && Array.isArray(raw.rows) ? raw.rows : null;
  if (!rows) {
    throw new Error(`${path}: expected { "rows": [...] } or an array of metrics rows`);
  }
  return rows.map((r: unknown, i: number) => {
    const where = `${path} row ${i}`;
    if (!isObj(r)) throw new Error(`${where}: not an object`);
    for (const f of ["dataset", "method", "similarity"]) {
      if (typeof r[f] !== "string") {
        throw new Error(
          `${where}: field "${f}" must be a string; each row needs {dataset, method, pca, similarity, i2t, t2i, avg}`,
        );
      }
    }
    for (const f of ["i2t", "t2i"]) {
      if (typeof r[f] !== "number") {
        throw new Error(
          `${where}: field "${f}" must be a number (mAP), got ${JSON.stringify(r[f])}`,
        );
      }
    }
    const i2t = r.i2t as number, t2i = r.t2i as number;
    const recall: Partial<Record<typeof RECALL_FIELDS[number], number>> = {};
    for (const f of RECALL_FIELDS) if (typeof r[f] === "number") recall[f] = r[f] as number;
    return {
      ...recall,
      dataset: r.dataset as string,
      method: r.method as string,
      pca: r.pca === true,
      similarity: r.similarity as string,
      i2t,
      t2i,
      avg: typeof r.avg === "number" ? r.avg : (i2t + t2i) / 2,
      stage: typeof r.stage === "string" ? r.stage : undefined,
      lambda: lambdaOf(r),
      ...(typeof r.seed === "number" ? { seed: r.seed } : {}),
      alias,
    };
  });
}

function curveSets(raw: unknown, path: string, alias: string): CurveSet[] {
  return parseCurves(raw, path).map((c) => ({
    dataset: c.dataset,
    method: c.method,
    pca: c.pca,
    lambda: lambdaOf(c),
    curves: c.curves,
    alias,
  }));
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Wall time in seconds from the (engine-defined, so read leniently) manifest timings. */
export function wallSecondsOf(m: Record<string, unknown>): number | undefined {
  const t = isObj(m.timings) ? m.timings : isObj(m.timing) ? m.timing : {};
  const direct = num(t.wall_s) ?? num(t.wallSeconds) ?? num(t.seconds) ?? num(t.wall) ??
    num(m.wall_s);
  if (direct !== undefined) return direct;
  const ms = num(m.duration_ms) ?? num(t.duration_ms) ?? num(t.wall_ms) ?? num(t.ms) ??
    num(t.wallMs) ?? num(m.wall_ms);
  if (ms !== undefined) return ms / 1000;
  const start = t.start ?? t.started ?? m.started;
  const end = t.end ?? t.finished ?? t.ended ?? m.finished;
  if (start !== undefined && end !== undefined) {
    const s = typeof start === "number" ? start : Date.parse(String(start));
    const e = typeof end === "number" ? end : Date.parse(String(end));
    if (Number.isFinite(s) && Number.isFinite(e)) {
      // Numbers under 1e11 are seconds since the epoch, larger ones milliseconds.
      const scale = typeof start === "number" && s < 1e11 ? 1 : 1 / 1000;
      return (e - s) * scale;
    }
  }
  return undefined;
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "string") out[k] = x;
    else if (isObj(x) && typeof x.key === "string") {
      out[k] = typeof x.stage === "string" ? `${x.stage} ${x.key}` : x.key;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function objectInfo(
  alias: string,
  dir: string,
  manifest: Record<string, unknown> | undefined,
): ObjectInfo {
  const m = manifest ?? {};
  const prov = isObj(m.provenance) ? m.provenance : {};
  const env = isObj(m.env) ? m.env : isObj(m.environment) ? m.environment : {};
  const params = isObj(m.params) ? m.params : {};
  const base = dir.replace(/\/+$/, "").split("/").pop() ?? dir;
  const backend = [m.backend, env.backend, prov.backend].find((x) => typeof x === "string");
  const seeds = prov.seeds ?? prov.seed ?? m.seed ?? params.seed;
  return {
    alias,
    dir,
    key: typeof m.key === "string" ? m.key : typeof m.cache_key === "string" ? m.cache_key : base,
    stage: typeof m.stage === "string" ? m.stage : typeof m.name === "string" ? m.name : undefined,
    kind: typeof m.kind === "string" ? m.kind : typeof m.uses === "string" ? m.uses : undefined,
    wallSeconds: wallSecondsOf(m),
    backend: backend as string | undefined,
    seeds,
    inputKeys: stringRecord(m.inputs) ?? stringRecord(m.input_keys) ?? stringRecord(m.inputKeys),
    versions: stringRecord(m.versions) ?? stringRecord(m.tools) ?? stringRecord(prov.versions),
    holds: [],
    hasManifest: manifest !== undefined,
    rowStages: [],
  };
}

async function loadDir(
  alias: string,
  dir: string,
  only: string | undefined,
  acc: ReportInputs,
  info: ObjectInfo,
  depth: number,
): Promise<void> {
  const want = (f: string) => only === undefined || only === f;
  const p = (f: string) => `${dir}/${f}`;
  let found = 0;
  let objectLambda: number | undefined;
  if (want("metrics.json") && await exists(p("metrics.json"))) {
    const rows = parseMetrics(await readJson(p("metrics.json")), p("metrics.json"), alias);
    acc.metrics.push(...rows);
    const lams = new Set(rows.map((r) => r.lambda));
    if (lams.size === 1) objectLambda = rows[0]?.lambda;
    for (const r of rows) {
      if (r.stage && !info.rowStages.includes(r.stage)) info.rowStages.push(r.stage);
    }
    if (!info.stage && info.rowStages.length === 1) info.stage = info.rowStages[0];
    info.holds.push("metrics");
    found++;
  }
  if (want("curves.json") && await exists(p("curves.json"))) {
    const sets = curveSets(await readJson(p("curves.json")), p("curves.json"), alias);
    for (const s of sets) if (s.lambda === undefined) s.lambda = objectLambda;
    acc.curves.push(...sets);
    info.holds.push("curves");
    found++;
  }
  if (want("check.json") && await exists(p("check.json"))) {
    const c = parseCheckResult(await readJson(p("check.json")), p("check.json"));
    acc.checks.push(...c.rows);
    acc.claims.push(...c.claims);
    acc.checkOk[alias] = c.ok;
    acc.checkCounts[alias] = c.counts;
    info.holds.push("check");
    found++;
  }
  if (want("embedding.json") && await exists(p("embedding.json"))) {
    const e = await readJson(p("embedding.json"));
    if (!isObj(e) || typeof e.method !== "string") {
      throw new Error(`${p("embedding.json")}: needs {dataset, method, pca, score, hyper}`);
    }
    const missing = [];
    for (const f of ["img.npy", "txt.npy", "y.npy"]) if (!await exists(p(f))) missing.push(f);
    if (missing.length) {
      acc.warnings.push(`${alias}: Embedding object lacks ${missing.join(", ")}; not plotted`);
    } else {
      acc.embeddings.push({
        alias,
        dir,
        dataset: String(e.dataset ?? ""),
        method: e.method,
        pca: e.pca === true,
        lambda: lambdaOf(e),
        hasCenters: await exists(p("centers.npy")),
      });
    }
    info.holds.push("embedding");
    found++;
  }
  if (want("dataset.json") && await exists(p("dataset.json"))) {
    const d = await readJson(p("dataset.json"));
    if (isObj(d) && typeof d.dataset === "string" && Array.isArray(d.classes)) {
      acc.classNames[d.dataset] = d.classes.map(String);
    }
    // warnings the dataset's stages recorded (e.g. sizes that differ from the paper's)
    if (isObj(d) && Array.isArray(d.warnings)) {
      for (const w of d.warnings.map(String)) if (!acc.warnings.includes(w)) acc.warnings.push(w);
    }
    info.holds.push("dataset");
    found++;
  }
  if (want("recipes.json") && await exists(p("recipes.json"))) {
    (acc.recipes ??= []).push(
      validateRecipes(await readJson(p("recipes.json")), p("recipes.json")),
    );
    info.holds.push("recipes");
    found++;
  }
  if (found === 0 && only === undefined && depth === 0) {
    // An object may keep its results one level down (e.g. one folder per output).
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await loadDir(alias, `${dir}/${e.name}`, undefined, acc, info, 1);
    }
  }
}

/**
 * Read every input (alias → object dir, or `stage/output` file path) and merge what they hold.
 * @throws when an input path does not exist or a recognised file is malformed (the message names the
 * file and the field).
 */
export async function loadInputs(inputs: Record<string, string>): Promise<ReportInputs> {
  const acc: ReportInputs = {
    metrics: [],
    checks: [],
    claims: [],
    checkOk: {},
    checkCounts: {},
    curves: [],
    embeddings: [],
    classNames: {},
    objects: [],
    warnings: [],
  };
  for (const [alias, path] of Object.entries(inputs)) {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch {
      throw new Error(
        `report: input "${alias}" points at ${path}, which does not exist; check the stage's inputs in pipeline.yaml`,
      );
    }
    const dir = stat.isDirectory ? path : path.replace(/\/[^/]*$/, "");
    const only = stat.isDirectory ? undefined : path.split("/").pop();
    // The engine may keep its manifest inside the object; absent is fine.
    let manifest: Record<string, unknown> | undefined;
    if (await exists(`${dir}/manifest.json`)) {
      const m = await readJson(`${dir}/manifest.json`);
      if (isObj(m)) manifest = m;
    }
    const info = objectInfo(alias, dir, manifest);
    const before = info.holds.length;
    await loadDir(alias, dir, only, acc, info, 0);
    if (info.holds.length === before) {
      acc.warnings.push(
        `${alias}: ${path} holds none of metrics.json, curves.json, check.json, embedding.json, dataset.json, recipes.json; ignored`,
      );
    }
    acc.objects.push(info);
  }
  return acc;
}
