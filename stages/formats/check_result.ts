/**
 * The `check.json` format: a check's compared cells, its claims and its counts, with the one
 * typed reader and writer. The `check` kind writes it; the report and the CLI read it.
 *
 * Every compared cell says what kind of number it is compared with, never mixed under one
 * heading:
 *
 * - `published`: a number printed in a paper or a data release (its source names the table,
 *   row and column);
 * - `anchor`: an independent implementation's number (e.g. a numpy replica);
 * - `regression`: our own earlier output, kept to catch drift.
 * @module
 */
import { RECALL_FIELDS } from "./metrics.ts";

/** Where an expected number comes from. */
export type ExpectationKind = "published" | "anchor" | "regression";

/** The kinds, in the order they are shown. */
export const EXPECTATION_KINDS: readonly ExpectationKind[] = ["published", "anchor", "regression"];

/** Heading of each kind in tables and summaries. */
export const KIND_HEADINGS: Record<ExpectationKind, string> = {
  published: "Published (a paper's or a release's number)",
  anchor: "Anchors (an independent implementation's number)",
  regression: "Regression (our own earlier output)",
};

/**
 * A numeric field of a metrics row a check can compare: mAP (`i2t`, `t2i`, `avg`) or one of the
 * retrieval-by-pair fields (`i2t_r1` … `t2i_meanr`, stages/formats/metrics.ts).
 */
export type Metric = "i2t" | "t2i" | "avg" | (typeof RECALL_FIELDS)[number];

/** The metrics, in table order: mAP first, then R@K and ranks. */
export const METRICS: readonly Metric[] = ["i2t", "t2i", "avg", ...RECALL_FIELDS];

/** Whether a metric is a 1-based rank (medr, meanr) rather than a fraction in [0, 1]. */
export function isRankMetric(m: Metric): boolean {
  return m.endsWith("_medr") || m.endsWith("_meanr");
}

/** One compared number. */
export interface CheckRow {
  /** What the expected number is. */
  kind: ExpectationKind;
  /** Dataset id. */
  dataset: string;
  /** Method label. */
  method: string;
  /** PCA on the image side. */
  pca: boolean;
  /** Similarity. */
  similarity: string;
  /** λ of the sweep point compared, if it is one. */
  lambda?: number;
  /** The seed compared, if the row is one of several seeds. */
  seed?: number;
  /** Which metric. */
  metric: Metric;
  /** The expected value (a fraction, not a percentage). */
  expected: number;
  /** Our value, or null when not found. */
  reproduced: number | null;
  /** reproduced − expected, or null. */
  delta: number | null;
  /** Tolerance. */
  tol: number;
  /** Why the tolerance is wider than the check's default, if it is. */
  tolReason?: string;
  /** Within tolerance. */
  ok: boolean;
  /** Where the expected value comes from, e.g. `Kang et al. 2017, Table 1, CNN+LRBS, Average`. */
  source: string;
  /** Note (and why a row was not found). */
  note: string;
  /** Numerically degenerate row. */
  degenerate: boolean;
  /** Stage that produced the reproduced value, or null. */
  stage: string | null;
}

/** One evaluated claim. */
export interface ClaimResult {
  /** The claim's name. */
  claim: string;
  /** Whether it holds. */
  holds: boolean;
  /** The numbers, e.g. `0.4100 > 0.3900`, or why it could not be evaluated. */
  detail: string;
  /** Whether a failure fails the run. */
  required: boolean;
  /** Why a claim is not required (given with `required: false`). */
  reason?: string;
}

/** Passed / total of one kind of row. */
export interface Tally {
  /** Cells within tolerance. */
  ok: number;
  /** Cells compared (a missing reproduced value counts as not ok). */
  total: number;
}

/** The counts of a check, each kind on its own. */
export interface CheckCounts {
  /** Per expectation kind. */
  rows: Record<ExpectationKind, Tally>;
  /** Claims: `ok` = holding, `total` = all, `failedRequired` = failing and required. */
  claims: Tally & { failedRequired: number };
}

/** The contents of `check.json`. */
export interface CheckResult {
  /** No row out of tolerance or missing, and every required claim holds. */
  ok: boolean;
  /** The counts behind {@link summaryLine}. */
  counts: CheckCounts;
  /** Compared cells. */
  rows: CheckRow[];
  /** Claims. */
  claims: ClaimResult[];
}

/** Count the rows of each kind and the claims. */
export function tally(
  rows: readonly CheckRow[],
  claims: readonly ClaimResult[],
): CheckCounts {
  const t = (k: ExpectationKind) => {
    const of = rows.filter((r) => r.kind === k);
    return { ok: of.filter((r) => r.ok).length, total: of.length };
  };
  return {
    rows: { published: t("published"), anchor: t("anchor"), regression: t("regression") },
    claims: {
      ok: claims.filter((c) => c.holds).length,
      total: claims.length,
      failedRequired: claims.filter((c) => !c.holds && c.required).length,
    },
  };
}

/** Whether the counts pass: every row within tolerance, every required claim holding. */
export function countsOk(c: CheckCounts): boolean {
  return EXPECTATION_KINDS.every((k) => c.rows[k].ok === c.rows[k].total) &&
    c.claims.failedRequired === 0;
}

const SHORT: Record<ExpectationKind, string> = {
  published: "published",
  anchor: "anchors",
  regression: "regression",
};

/**
 * The one-line summary the CLI, the report and the README share, e.g.
 * `published 22/22 · anchors 8/8 · regression 12/12 · claims 6/6`. A kind without rows is left
 * out; claims that fail without being required are counted apart.
 */
export function summaryLine(c: CheckCounts): string {
  const parts = EXPECTATION_KINDS.filter((k) => c.rows[k].total > 0).map((k) =>
    `${SHORT[k]} ${c.rows[k].ok}/${c.rows[k].total}`
  );
  if (parts.length === 0) parts.push("no expected rows");
  const notRequired = c.claims.total - c.claims.ok - c.claims.failedRequired;
  parts.push(
    `claims ${c.claims.ok}/${c.claims.total}` +
      (notRequired > 0 ? ` (${notRequired} failing, not required)` : ""),
  );
  return parts.join(" · ");
}

/** A row's method with its sweep values, e.g. `dse-ds λ=0.0001` or `vsepp seed 0`. */
export function methodLabel(r: Pick<CheckRow, "method" | "lambda" | "seed">): string {
  return [
    r.method,
    ...(r.lambda !== undefined ? [`λ=${r.lambda}`] : []),
    ...(r.seed !== undefined ? [`seed ${r.seed}`] : []),
  ].join(" ");
}

/** A short label of a row's cell, e.g. `lrbs+PCA inner avg (labelme)`. */
export function rowLabel(r: CheckRow): string {
  return `${methodLabel(r)}${r.pca ? "+PCA" : ""} ${r.similarity} ${r.metric} (${r.dataset})`;
}

/**
 * The failures of a check, grouped as the verdict reports them: the labels of the rows of each
 * kind out of tolerance or missing, and the names of the required claims that fail.
 */
export function failures(
  result: Pick<CheckResult, "rows" | "claims">,
): Record<ExpectationKind | "claims", string[]> {
  const bad = (k: ExpectationKind) =>
    result.rows.filter((r) => r.kind === k && !r.ok).map((r) =>
      `${rowLabel(r)}: ${r.reproduced === null ? "missing" : fmt(r.reproduced)} vs ${
        fmt(r.expected)
      } ± ${r.tol} [${r.source}]`
    );
  return {
    published: bad("published"),
    anchor: bad("anchor"),
    regression: bad("regression"),
    claims: result.claims.filter((c) => !c.holds && c.required).map((c) =>
      `${c.claim}: ${c.detail}`
    ),
  };
}

function fmt(v: number): string {
  return v.toFixed(4);
}

/** Write `check.json`. */
export async function writeCheckResult(path: string, result: CheckResult): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(result, null, 2) + "\n");
}

function fail(where: string, what: string): never {
  throw new Error(`${where}: ${what}; re-run the check stage (\`deno task stage <check>\`)`);
}

function str(o: Record<string, unknown>, f: string, where: string): string {
  if (typeof o[f] !== "string") fail(where, `"${f}" must be a string`);
  return o[f] as string;
}

function num(o: Record<string, unknown>, f: string, where: string): number {
  if (typeof o[f] !== "number") fail(where, `"${f}" must be a number`);
  return o[f] as number;
}

function parseRow(v: unknown, where: string): CheckRow {
  if (typeof v !== "object" || v === null) fail(where, "must be an object");
  const r = v as Record<string, unknown>;
  if (!EXPECTATION_KINDS.includes(r.kind as ExpectationKind)) {
    fail(where, `"kind" must be one of ${EXPECTATION_KINDS.join(", ")}`);
  }
  if (!METRICS.includes(r.metric as Metric)) {
    fail(where, `"metric" must be one of ${METRICS.join(", ")}`);
  }
  const nullableNum = (f: string) => {
    if (r[f] !== null && typeof r[f] !== "number") fail(where, `"${f}" must be a number or null`);
    return r[f] as number | null;
  };
  return {
    kind: r.kind as ExpectationKind,
    dataset: str(r, "dataset", where),
    method: str(r, "method", where),
    pca: r.pca === true,
    similarity: str(r, "similarity", where),
    ...(typeof r.lambda === "number" ? { lambda: r.lambda } : {}),
    ...(typeof r.seed === "number" ? { seed: r.seed } : {}),
    metric: r.metric as Metric,
    expected: num(r, "expected", where),
    reproduced: nullableNum("reproduced"),
    delta: nullableNum("delta"),
    tol: num(r, "tol", where),
    ...(typeof r.tolReason === "string" ? { tolReason: r.tolReason } : {}),
    ok: r.ok === true,
    source: str(r, "source", where),
    note: typeof r.note === "string" ? r.note : "",
    degenerate: r.degenerate === true,
    stage: typeof r.stage === "string" ? r.stage : null,
  };
}

function parseClaim(v: unknown, where: string): ClaimResult {
  if (typeof v !== "object" || v === null) fail(where, "must be an object");
  const c = v as Record<string, unknown>;
  if (typeof c.holds !== "boolean" || typeof c.required !== "boolean") {
    fail(where, `"holds" and "required" must be true or false`);
  }
  return {
    claim: str(c, "claim", where),
    holds: c.holds as boolean,
    detail: str(c, "detail", where),
    required: c.required as boolean,
    ...(typeof c.reason === "string" ? { reason: c.reason } : {}),
  };
}

/**
 * Validate parsed `check.json` content; throws naming the file and the field. The counts are
 * recomputed from the rows, so a hand-edited count cannot disagree with them.
 * @param where the file, for messages
 */
export function parseCheckResult(raw: unknown, where: string): CheckResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(where, "expected an object { ok, counts, rows, claims }");
  }
  const o = raw as Record<string, unknown>;
  if (!Array.isArray(o.rows) || !Array.isArray(o.claims)) {
    fail(where, `"rows" and "claims" must be lists (a check.json from an older version?)`);
  }
  const rows = o.rows.map((r, i) => parseRow(r, `${where} rows[${i}]`));
  const claims = o.claims.map((c, i) => parseClaim(c, `${where} claims[${i}]`));
  const counts = tally(rows, claims);
  return { ok: countsOk(counts), counts, rows, claims };
}

/** Read `check.json` (a file, or a check stage's object directory). */
export async function readCheckResult(path: string): Promise<CheckResult> {
  const file = path.endsWith(".json") ? path : `${path}/check.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseCheckResult(raw, file);
}
