/**
 * The `check` stage kind: reproduced metrics against expected numbers, and claims.
 *
 * Inputs: any number of aliases, each an object (or `metrics.json`) of an `evaluate` or `random`
 * stage. Params:
 *
 * - `expected`: rows `{ kind, dataset, method, pca, similarity, <metric>?…, tol?, tol_reason?,
 *   source, note?, degenerate?, stage? }`, a metric being any numeric field of a metrics row:
 *   mAP `i2t`, `t2i`, `avg` or retrieval by pair `i2t_r1`, `i2t_r5`, `i2t_r10`, `i2t_medr`,
 *   `i2t_meanr` and the same for `t2i` (fractions in [0, 1], except medr/meanr: 1-based ranks,
 *   given in a row of their own since the row's tol is then in ranks). `kind` says what the numbers are:
 *   `published` (printed in a paper or release; `source` names table, row and column), `anchor`
 *   (an independent implementation) or `regression` (our own earlier output). Each metric given
 *   becomes one compared cell; it is ok when a unique metrics row matches and
 *   |reproduced − expected| ≤ tol (+1e-9 for float slack). `tol` defaults to `default_tol`
 *   (0.015, 1.5 mAP points); a wider one needs `tol_reason`. A row marked `degenerate` is shown
 *   as such.
 * - `claims`: `{ name?, left, op, right, margin?, required?, reason? }`. `left` selects one
 *   metrics value by `{ method, pca?, similarity?, dataset?, metric?, stage? }` (metric defaults
 *   to `avg`); `right` is a number or a selector whose missing fields (except `stage` and the
 *   sweep fields `lambda`, `seed`) are taken from `left`. With d = left − right and m = margin
 *   (default 0), the claim holds when `>`: d > m, `>=`: d ≥ m, `<`: −d > m, `<=`: −d ≥ m. A
 *   failing claim fails the run unless it says `required: false` with a `reason`. A sweep field
 *   given as `"*"` in `left` (e.g. `{ method: vse0, seed: "*" }`) makes the claim hold only if it
 *   holds for every value that field takes in the rows (a `"*"` in `right` takes the same value):
 *   "on every seed" in one claim.
 *
 * Both lists are validated when the pipeline loads (a bad row is a located spec error, exit 2).
 * Matching is case-insensitive on dataset, method and similarity; `pca` must be equal when given
 * (it is required in `expected`). The sweep fields `lambda` and `seed` (stages/formats/metrics.ts)
 * are part of a row's identity: a selector without `lambda` matches only rows without one (the
 * method's own run, not a sweep point). A selector that matches no row, or several rows, fails.
 *
 * Outputs `check.json` (format: stages/formats/check_result.ts) and `check.md`; returns a
 * verdict whose `detail` holds the counts and failures of each kind and of the claims.
 * @module
 */
import Table from "cli-table3";
import type { StageContext, StageKind, StageVerdict } from "../../pipeline/types.ts";
import {
  type CheckResult,
  type CheckRow,
  type ClaimResult,
  countsOk,
  EXPECTATION_KINDS,
  type ExpectationKind,
  failures,
  isRankMetric,
  KIND_HEADINGS,
  methodLabel,
  type Metric,
  METRICS,
  summaryLine,
  tally,
  writeCheckResult,
} from "../formats/check_result.ts";
import { type MetricRow, readMetrics, SWEEP_FIELDS } from "../formats/metrics.ts";

export type { CheckResult, CheckRow, ClaimResult, Metric };

/** The default tolerance of an expected row: 1.5 mAP points. */
export const DEFAULT_TOL = 0.015;

/** One expected row: the numbers to reproduce, and what kind of number they are. */
export interface ExpectedRow {
  /** What the expected numbers are: published, an independent anchor, or our own earlier run. */
  kind: ExpectationKind;
  /** Dataset id. */
  dataset: string;
  /** Method label. */
  method: string;
  /** PCA on the image side. */
  pca: boolean;
  /** Similarity. */
  similarity: string;
  /** Expected I→T mAP. */
  i2t?: number;
  /** Expected T→I mAP. */
  t2i?: number;
  /** Expected mean. */
  avg?: number;
  /** Any other metric of {@link METRICS} (R@K, medr, meanr). */
  i2t_r1?: number;
  /** I→T R@5. */
  i2t_r5?: number;
  /** I→T R@10. */
  i2t_r10?: number;
  /** I→T median rank. */
  i2t_medr?: number;
  /** I→T mean rank. */
  i2t_meanr?: number;
  /** T→I R@1. */
  t2i_r1?: number;
  /** T→I R@5. */
  t2i_r5?: number;
  /** T→I R@10. */
  t2i_r10?: number;
  /** T→I median rank. */
  t2i_medr?: number;
  /** T→I mean rank. */
  t2i_meanr?: number;
  /** Allowed |reproduced − expected|; default the check's `default_tol`. */
  tol?: number;
  /** Required when `tol` is wider than the default: why. */
  tol_reason?: string;
  /** Where the number comes from (for `published`: paper, table, row, column). */
  source: string;
  /** Free text shown in the report. */
  note?: string;
  /** Marked numerically degenerate: shown as such, judged with its own (wide) tol. */
  degenerate?: boolean;
  /** Restrict the match to one stage's rows. */
  stage?: string;
  /** λ of a sweep point; absent = a row without λ. */
  lambda?: number;
  /** One seed of several; absent = a row without a seed. */
  seed?: number;
}

/** Picks one metrics value. */
export interface Selector {
  /** Method label. */
  method?: string;
  /** PCA on the image side. */
  pca?: boolean;
  /** Similarity. */
  similarity?: string;
  /** Dataset id. */
  dataset?: string;
  /** Which metric; default `avg`. */
  metric?: Metric;
  /** Restrict to one stage's rows. */
  stage?: string;
  /** λ of a sweep point; absent = a row without λ; `*` (claims) = each λ found, see evaluateClaims. */
  lambda?: number | "*";
  /** One seed of several; absent = a row without a seed; `*` (claims) = each seed found. */
  seed?: number | "*";
}

/** A comparison between two results (or a result and a number). */
export interface Claim {
  /** Shown in the report; generated when absent. */
  name?: string;
  /** Left-hand value. */
  left: Selector;
  /** Comparison. */
  op: ">" | ">=" | "<" | "<=";
  /** Right-hand value: a number, or a selector inheriting left's fields. */
  right: Selector | number;
  /** Required gap, see the module doc. */
  margin?: number;
  /** False: a failing claim is reported but does not fail the run. Default true. */
  required?: boolean;
  /** Why the claim is not required (mandatory with `required: false`). */
  reason?: string;
}

const EPS = 1e-9;

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Rows matching a selector (all fields given must agree), without duplicates. */
export function selectRows(rows: readonly MetricRow[], sel: Selector): MetricRow[] {
  const out: MetricRow[] = [];
  for (const r of rows) {
    if (sel.method !== undefined && !same(r.method, sel.method)) continue;
    if (sel.dataset !== undefined && !same(r.dataset, sel.dataset)) continue;
    if (sel.similarity !== undefined && !same(r.similarity, sel.similarity)) continue;
    if (sel.pca !== undefined && r.pca !== sel.pca) continue;
    if (sel.stage !== undefined && r.stage !== sel.stage) continue;
    const sweepDiffers = (f: typeof SWEEP_FIELDS[number]) =>
      sel[f] === "*" ? r[f] === undefined : r[f] !== sel[f];
    if (SWEEP_FIELDS.some(sweepDiffers)) continue;
    const dup = out.some((o) =>
      o.stage === r.stage && o.method === r.method && o.dataset === r.dataset &&
      o.similarity === r.similarity && o.pca === r.pca && SWEEP_FIELDS.every((f) => o[f] === r[f])
    );
    if (!dup) out.push(r);
  }
  return out;
}

function describe(sel: Selector): string {
  const parts = [sel.method ?? "*"];
  if (sel.pca !== undefined) parts.push(sel.pca ? "+PCA" : "no PCA");
  if (sel.similarity) parts.push(sel.similarity);
  if (sel.dataset) parts.push(sel.dataset);
  if (sel.stage) parts.push(`stage ${sel.stage}`);
  for (const f of SWEEP_FIELDS) if (sel[f] !== undefined) parts.push(`${f} ${sel[f]}`);
  return parts.join(" ");
}

function findOne(
  rows: readonly MetricRow[],
  sel: Selector,
): { row: MetricRow } | { error: string } {
  const hits = selectRows(rows, sel);
  if (hits.length === 1) return { row: hits[0] };
  if (hits.length === 0) {
    const methods = [...new Set(rows.map((r) => r.method))].sort().join(", ");
    return { error: `no metrics row for ${describe(sel)} (methods present: ${methods || "none"})` };
  }
  return {
    error: `${hits.length} rows match ${describe(sel)} (stages ${
      hits.map((h) => h.stage).join(", ")
    }); add pca/similarity/stage to pick one`,
  };
}

/**
 * Validate the `expected` param; throws naming the row and field.
 * @param options `defaultTol`: the tolerance of a row without `tol`, and the widest allowed
 * without `tol_reason`
 */
export function parseExpected(
  value: unknown,
  options: { defaultTol?: number } = {},
): ExpectedRow[] {
  const defaultTol = options.defaultTol ?? DEFAULT_TOL;
  if (!Array.isArray(value)) throw new Error(`check: "expected" must be a list of rows`);
  return value.map((v, i) => {
    const where = `check: expected[${i}]`;
    if (typeof v !== "object" || v === null) throw new Error(`${where} must be an object`);
    const r = v as Record<string, unknown>;
    if (!EXPECTATION_KINDS.includes(r.kind as ExpectationKind)) {
      throw new Error(
        `${where}: "kind" must be one of ${EXPECTATION_KINDS.join(", ")} (published: a ` +
          `paper's or release's number; anchor: an independent implementation's; regression: ` +
          `our own earlier output), got ${JSON.stringify(r.kind)}`,
      );
    }
    for (const f of ["dataset", "method", "similarity", "source"]) {
      if (typeof r[f] !== "string" || r[f] === "") {
        throw new Error(`${where}: "${f}" must be a non-empty string`);
      }
    }
    if (typeof r.pca !== "boolean") throw new Error(`${where}: "pca" must be true or false`);
    if (r.tol !== undefined && (typeof r.tol !== "number" || !(r.tol >= 0))) {
      throw new Error(`${where}: "tol" must be a number ≥ 0 (default ${defaultTol})`);
    }
    const tol = (r.tol as number | undefined) ?? defaultTol;
    const ranks = METRICS.some((m) => r[m] !== undefined && isRankMetric(m));
    if (ranks && r.tol === undefined) {
      throw new Error(`${where}: a row of ranks (medr, meanr) needs its own tol, in ranks`);
    }
    // A rank row's tol is in ranks, not mAP points: the default does not bound it.
    if (
      !ranks && tol > defaultTol + 1e-12 &&
      (typeof r.tol_reason !== "string" || !r.tol_reason.trim())
    ) {
      throw new Error(
        `${where}: tol ${tol} is wider than the default ${defaultTol}; add tol_reason: "why"`,
      );
    }
    const given = METRICS.filter((m) => r[m] !== undefined);
    if (!given.length) {
      throw new Error(`${where}: give at least one of ${METRICS.join(", ")}`);
    }
    for (const m of given) {
      const v = r[m];
      if (isRankMetric(m)) {
        if (typeof v !== "number" || !(v >= 1)) {
          throw new Error(`${where}: "${m}" must be a number ≥ 1 (a 1-based rank)`);
        }
      } else if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
        throw new Error(
          `${where}: "${m}" must be a number in [0, 1] (a fraction: write 44.48% as 0.4448)`,
        );
      }
    }
    if (given.some(isRankMetric) && !given.every(isRankMetric)) {
      throw new Error(
        `${where}: ranks (${given.filter(isRankMetric).join(", ")}) and fractions ` +
          `(${given.filter((m) => !isRankMetric(m)).join(", ")}) share one tol: give the ranks ` +
          `in a row of their own, with tol in ranks`,
      );
    }
    for (const f of ["note", "stage", "tol_reason"]) {
      if (r[f] !== undefined && typeof r[f] !== "string") {
        throw new Error(`${where}: "${f}" must be a string`);
      }
    }
    sweepFields(r, where, { star: false });
    if (r.degenerate !== undefined && typeof r.degenerate !== "boolean") {
      throw new Error(`${where}: "degenerate" must be true or false`);
    }
    const known = new Set([
      "kind",
      "dataset",
      "method",
      "pca",
      "similarity",
      ...METRICS,
      "tol",
      "tol_reason",
      "source",
      "note",
      "degenerate",
      "stage",
      ...SWEEP_FIELDS,
    ]);
    const unknown = Object.keys(r).filter((k) => !known.has(k));
    if (unknown.length) {
      throw new Error(`${where}: unknown field(s) ${unknown.join(", ")}; known: ${[...known]}`);
    }
    return { ...r, tol } as unknown as ExpectedRow;
  });
}

/** The sweep fields of a row or selector must be numbers (claims: or `*`, each value found). */
function sweepFields(r: Record<string, unknown>, where: string, o: { star: boolean }): void {
  for (const f of SWEEP_FIELDS) {
    const v = r[f];
    if (v === undefined || (o.star && v === "*")) continue;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(
        `${where}: "${f}" must be a number (the row's sweep value)${
          o.star ? ` or "*" (every ${f} found)` : ""
        }`,
      );
    }
  }
}

function parseSelector(v: unknown, where: string): Selector {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`${where} must be an object like { method: "cca", similarity: "cosine" }`);
  }
  const s = v as Record<string, unknown>;
  for (const f of ["method", "similarity", "dataset", "stage"]) {
    if (s[f] !== undefined && typeof s[f] !== "string") {
      throw new Error(`${where}: "${f}" must be a string`);
    }
  }
  if (s.pca !== undefined && typeof s.pca !== "boolean") {
    throw new Error(`${where}: "pca" must be true or false`);
  }
  sweepFields(s, where, { star: true });
  if (s.metric !== undefined && !METRICS.includes(s.metric as Metric)) {
    throw new Error(`${where}: "metric" must be one of ${METRICS.join(", ")}`);
  }
  return s as Selector;
}

/** Validate the `claims` param; throws naming the claim and field. */
export function parseClaims(value: unknown): Claim[] {
  if (!Array.isArray(value)) throw new Error(`check: "claims" must be a list`);
  return value.map((v, i) => {
    const where = `check: claims[${i}]`;
    if (typeof v !== "object" || v === null) throw new Error(`${where} must be an object`);
    const c = v as Record<string, unknown>;
    for (const f of ["name", "reason"]) {
      if (c[f] !== undefined && typeof c[f] !== "string") {
        throw new Error(`${where}: "${f}" must be a string`);
      }
    }
    const left = parseSelector(c.left, `${where}.left`);
    if (left.method === undefined) throw new Error(`${where}.left: "method" is required`);
    const right = typeof c.right === "number" ? c.right : parseSelector(c.right, `${where}.right`);
    const starred = (sel: Selector) => SWEEP_FIELDS.filter((f) => sel[f] === "*");
    if (starred(left).length > 1) {
      throw new Error(`${where}.left: one sweep field may be "*" (e.g. seed: "*"), not several`);
    }
    if (typeof right !== "number" && starred(right).some((f) => !starred(left).includes(f))) {
      throw new Error(
        `${where}.right: a "*" needs the same field "*" in left (it takes its value)`,
      );
    }
    if (![">", ">=", "<", "<="].includes(c.op as string)) {
      throw new Error(`${where}: "op" must be one of >, >=, <, <= (got ${JSON.stringify(c.op)})`);
    }
    if (c.margin !== undefined && typeof c.margin !== "number") {
      throw new Error(`${where}: "margin" must be a number`);
    }
    if (c.required !== undefined && typeof c.required !== "boolean") {
      throw new Error(`${where}: "required" must be true or false`);
    }
    if (c.required === false && !(typeof c.reason === "string" && c.reason.trim())) {
      throw new Error(
        `${where}${c.name ? ` (${c.name})` : ""}: a claim with required: false needs ` +
          `reason: "why it may fail without failing the run"`,
      );
    }
    return {
      name: c.name as string | undefined,
      left,
      op: c.op as Claim["op"],
      right,
      margin: c.margin as number | undefined,
      required: c.required !== false,
      reason: c.reason as string | undefined,
    };
  });
}

/** Compare metrics rows with the expected rows: one {@link CheckRow} per given metric. */
export function compareExpected(
  rows: readonly MetricRow[],
  expected: readonly ExpectedRow[],
): CheckRow[] {
  const out: CheckRow[] = [];
  for (const e of expected) {
    const found = findOne(rows, {
      method: e.method,
      dataset: e.dataset,
      similarity: e.similarity,
      pca: e.pca,
      stage: e.stage,
      lambda: e.lambda,
      seed: e.seed,
    });
    const tol = e.tol ?? DEFAULT_TOL;
    for (const m of METRICS) {
      const want = e[m];
      if (want === undefined) continue;
      const match = "error" in found ? undefined : found.row;
      const reproduced = match?.[m] ?? null;
      const delta = reproduced === null ? null : reproduced - want;
      const notFound = "error" in found
        ? `not found: ${found.error}`
        : reproduced === null
        ? `not found: stage ${match!.stage}'s row has no ${m} (an evaluation without pairs?)`
        : "";
      out.push({
        kind: e.kind,
        dataset: e.dataset,
        method: e.method,
        pca: e.pca,
        similarity: e.similarity,
        ...(e.lambda !== undefined ? { lambda: e.lambda } : {}),
        ...(e.seed !== undefined ? { seed: e.seed } : {}),
        metric: m,
        expected: want,
        reproduced,
        delta,
        tol,
        ...(e.tol_reason ? { tolReason: e.tol_reason } : {}),
        ok: delta !== null && Math.abs(delta) <= tol + EPS,
        source: e.source,
        note: [e.note, notFound].filter(Boolean).join("; "),
        degenerate: e.degenerate ?? false,
        stage: match ? match.stage : null,
      });
    }
  }
  return out;
}

function claimName(c: Claim): string {
  if (c.name) return c.name;
  const l = c.left, metric = l.metric ?? "avg";
  const r = typeof c.right === "number" ? String(c.right) : describe(rightSelector(l, c.right));
  return `${describe(l)} ${c.op} ${r} (${metric})`;
}

/** A claim's right selector: its own fields, the rest from `left` except stage and sweep values. */
function rightSelector(left: Selector, right: Selector): Selector {
  const { stage: _s, lambda: _l, seed: _n, ...inherit } = left;
  return { ...inherit, ...right };
}

/** One comparison: holds, its detail, and the difference left − right (null when not evaluated). */
function evaluateOne(
  rows: readonly MetricRow[],
  c: Claim,
  left: Selector,
  right: Selector | number,
): { holds: boolean; detail: string; d: number | null } {
  const metric = left.metric ?? "avg";
  const found = findOne(rows, left);
  if ("error" in found) return { holds: false, detail: `left: ${found.error}`, d: null };
  const lv = found.row[metric];
  if (lv === undefined) {
    return { holds: false, detail: `left: ${describe(left)} has no ${metric}`, d: null };
  }
  let rv: number;
  if (typeof right === "number") {
    rv = right;
  } else {
    const sel = rightSelector(left, right);
    const other = findOne(rows, sel);
    if ("error" in other) return { holds: false, detail: `right: ${other.error}`, d: null };
    const v = other.row[sel.metric ?? "avg"];
    if (v === undefined) {
      return { holds: false, detail: `right: ${describe(sel)} has no ${sel.metric}`, d: null };
    }
    rv = v;
  }
  const m = c.margin ?? 0;
  const d = lv - rv;
  const holds = c.op === ">" ? d > m : c.op === ">=" ? d >= m : c.op === "<" ? -d > m : -d >= m;
  const gap = m === 0 ? "" : ` (margin ${m}: difference ${fmt(d)})`;
  return { holds, detail: `${fmt(lv)} ${c.op} ${fmt(rv)}${gap}`, d };
}

/**
 * The sweep field a claim's left selector leaves open (`seed: "*"`), and the values it takes in
 * the rows matching the rest of the selector, ascending.
 */
export function wildcardValues(
  rows: readonly MetricRow[],
  sel: Selector,
): { field: typeof SWEEP_FIELDS[number]; values: number[] } | undefined {
  const field = SWEEP_FIELDS.find((f) => sel[f] === "*");
  if (!field) return undefined;
  const values = new Set<number>();
  for (const r of selectRows(rows, sel)) if (r[field] !== undefined) values.add(r[field]!);
  return { field, values: [...values].sort((a, b) => a - b) };
}

/**
 * Evaluate each claim against the metrics rows. A sweep field given as `*` in `left` (e.g.
 * `{ method: vse0, seed: "*" }`) makes the claim one comparison per value that field takes in
 * the rows, with the same value put into a `*` of `right`: it holds when every one of them holds
 * (and there is at least one).
 */
export function evaluateClaims(
  rows: readonly MetricRow[],
  claims: readonly Claim[],
): ClaimResult[] {
  return claims.map((c) => {
    const base = {
      claim: claimName(c),
      required: c.required !== false,
      ...(c.reason ? { reason: c.reason } : {}),
    };
    const open = wildcardValues(rows, c.left);
    if (!open) {
      const { holds, detail } = evaluateOne(rows, c, c.left, c.right);
      return { ...base, holds, detail };
    }
    const { field, values } = open;
    if (!values.length) {
      const methods = [...new Set(rows.map((r) => r.method))].sort().join(", ");
      return {
        ...base,
        holds: false,
        detail: `left: no metrics row for ${describe(c.left)} (methods present: ${methods})`,
      };
    }
    const fill = (sel: Selector, v: number): Selector =>
      sel[field] === "*" ? { ...sel, [field]: v } : sel;
    const each = values.map((v) => ({
      v,
      ...evaluateOne(
        rows,
        c,
        fill(c.left, v),
        typeof c.right === "number" ? c.right : fill(c.right, v),
      ),
    }));
    const failing = each.filter((e) => !e.holds);
    const head = `${each.length - failing.length}/${each.length} hold (${field} = ${
      values.join(", ")
    })`;
    if (failing.length) {
      return {
        ...base,
        holds: false,
        detail: `${head}; fails for ${failing.map((e) => `${e.v}: ${e.detail}`).join("; ")}`,
      };
    }
    // The closest call: the smallest |difference| among them.
    const closest = each.reduce((a, b) => Math.abs(b.d!) < Math.abs(a.d!) ? b : a);
    return { ...base, holds: true, detail: `${head}; closest ${closest.v}: ${closest.detail}` };
  });
}

function fmt(v: number | null, digits = 4): string {
  return v === null ? "—" : v.toFixed(digits);
}

function signed(v: number | null): string {
  return v === null ? "—" : `${v >= 0 ? "+" : ""}${v.toFixed(4)}`;
}

/** The whole check: compared cells, claims, and the counts of each kind. */
export function runCheck(
  rows: readonly MetricRow[],
  spec: { expected: readonly ExpectedRow[]; claims: readonly Claim[] },
): CheckResult {
  const checked = compareExpected(rows, spec.expected);
  const claims = evaluateClaims(rows, spec.claims);
  const counts = tally(checked, claims);
  return { ok: countsOk(counts), counts, rows: checked, claims };
}

function cellLabel(r: CheckRow): string {
  return `${methodLabel(r)}${r.pca ? "+PCA" : ""}`;
}

function okMark(r: CheckRow): string {
  return r.reproduced === null ? "missing" : r.ok ? "ok" : "FAIL";
}

function claimVerdict(c: ClaimResult): string {
  if (c.holds) return "holds";
  return c.required ? "FAILS (required)" : `fails (not required: ${c.reason ?? "no reason"})`;
}

/** `check.md`: one table per kind of expected number, then the claims. */
export function renderMarkdown(result: CheckResult): string {
  const lines = [
    `# Check: ${result.ok ? "pass" : "FAIL"}`,
    "",
    `**${summaryLine(result.counts)}**`,
    "",
  ];
  for (const kind of EXPECTATION_KINDS) {
    const rows = result.rows.filter((r) => r.kind === kind);
    if (!rows.length) continue;
    lines.push(
      `## ${KIND_HEADINGS[kind]}`,
      "",
      "| dataset | method | similarity | metric | expected | reproduced | Δ | tol | ok | source | note |",
      "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    );
    for (const r of rows) {
      const note = [
        r.degenerate ? "**degenerate**" : "",
        r.tolReason ? `tol: ${r.tolReason}` : "",
        r.note,
      ].filter(Boolean).join(" ");
      lines.push(
        `| ${r.dataset} | ${cellLabel(r)} | ${r.similarity} | ${r.metric} | ${fmt(r.expected)} | ` +
          `${fmt(r.reproduced)} | ${signed(r.delta)} | ${r.tol} | ${okMark(r)} | ${r.source} | ` +
          `${note.replaceAll("|", "\\|")} |`,
      );
    }
    lines.push("");
  }
  if (result.rows.length === 0) lines.push("(no expected rows)", "");
  lines.push("## Claims", "");
  if (result.claims.length === 0) {
    lines.push("(none)");
  } else {
    lines.push("| claim | result | detail |", "| --- | --- | --- |");
    for (const c of result.claims) {
      lines.push(
        `| ${c.claim.replaceAll("|", "\\|")} | ${claimVerdict(c)} | ${c.detail} |`,
      );
    }
  }
  lines.push(
    "",
    "A cell is ok when |reproduced − expected| ≤ tol. A claim fails the run unless it is marked " +
      "not required, with its reason.",
    "",
  );
  return lines.join("\n");
}

/** The terminal tables (cli-table3, no colours): one per kind of expected number, then claims. */
export function renderTable(result: CheckResult): string {
  const parts: string[] = [summaryLine(result.counts)];
  for (const kind of EXPECTATION_KINDS) {
    const rows = result.rows.filter((r) => r.kind === kind);
    if (!rows.length) continue;
    const t = new Table({
      head: ["dataset", "method", "sim", "metric", "expected", "reproduced", "Δ", "tol", "ok"],
      style: { head: [], border: [] },
    });
    for (const r of rows) {
      t.push([
        r.dataset,
        cellLabel(r) + (r.degenerate ? " (degenerate)" : ""),
        r.similarity,
        r.metric,
        fmt(r.expected),
        fmt(r.reproduced),
        signed(r.delta),
        String(r.tol),
        okMark(r),
      ]);
    }
    parts.push(`${KIND_HEADINGS[kind]}:`, t.toString());
  }
  if (result.claims.length > 0) {
    const c = new Table({ head: ["claim", "result", "detail"], style: { head: [], border: [] } });
    for (const x of result.claims) c.push([x.claim, claimVerdict(x), x.detail]);
    parts.push("Claims:", c.toString());
  }
  return parts.join("\n");
}

/** Params of the `check` kind. */
export interface CheckParams extends Record<string, unknown> {
  /** Expected rows. */
  expected: unknown[];
  /** Claims. */
  claims: unknown[];
  /** Tolerance of a row without its own. */
  default_tol: number;
}

/** The `check` stage kind. */
export const checkKind: StageKind<CheckParams> = {
  name: "check",
  description:
    "compare reproduced metrics with published, anchor and regression numbers (± tol) and " +
    "check claims",
  module: import.meta.url,
  inputs: "any",
  params: {
    expected: {
      type: "array",
      default: [],
      doc: "rows {kind: published|anchor|regression, dataset, method, pca, similarity, " +
        "<metric>? (i2t, t2i, avg, i2t_r1/r5/r10, t2i_r1/r5/r10; ranks i2t/t2i_medr/meanr in " +
        "their own row with tol in ranks), tol?, tol_reason?, source, note?, degenerate?, stage?}",
    },
    claims: {
      type: "array",
      default: [],
      doc: "claims {name?, left: selector {method, pca?, similarity?, dataset?, metric? (any " +
        "metrics field, default avg), stage?}, op: > >= < <=, right: selector|number, margin?, " +
        "required? (default true), reason? (needed with required: false)}",
    },
    default_tol: {
      type: "number",
      default: DEFAULT_TOL,
      doc: "tolerance of a row without tol; a wider tol needs tol_reason",
    },
  },
  outputs: ["check.json", "check.md"],
  validate(params: CheckParams) {
    const problems: { param: string; message: string }[] = [];
    const attempt = (param: string, parse: () => unknown) => {
      try {
        parse();
      } catch (e) {
        problems.push({ param, message: (e as Error).message.replace(/^check: /, "") });
      }
    };
    attempt("expected", () => parseExpected(params.expected, { defaultTol: params.default_tol }));
    attempt("claims", () => parseClaims(params.claims));
    return problems;
  },
  async run(ctx: StageContext<CheckParams>): Promise<StageVerdict> {
    const expected = parseExpected(ctx.params.expected, { defaultTol: ctx.params.default_tol });
    const claims = parseClaims(ctx.params.claims);
    const aliases = Object.keys(ctx.inputs);
    if (aliases.length === 0) {
      throw new Error(
        "check: no inputs; add `inputs: { <alias>: <evaluate stage>, ... }` for every result",
      );
    }
    const rows: MetricRow[] = [];
    for (const a of aliases) {
      try {
        rows.push(...await readMetrics(ctx.inputs[a]));
      } catch (e) {
        throw new Error(`check: input "${a}": ${(e as Error).message}`);
      }
    }
    const result = runCheck(rows, { expected, claims });
    await writeCheckResult(ctx.out("check.json"), result);
    await Deno.writeTextFile(ctx.out("check.md"), renderMarkdown(result));
    for (const line of renderTable(result).split("\n")) ctx.log(line);
    return verdictOf(result);
  },
};

/**
 * The stage verdict of a check: the summary line, then (when it fails) the first failures of
 * each kind; `detail` carries the counts and every failure, grouped the same way.
 */
export function verdictOf(result: CheckResult): StageVerdict {
  const failed = failures(result);
  const head = `check: ${summaryLine(result.counts)}`;
  const shown: string[] = [];
  for (const [group, list] of Object.entries(failed)) {
    if (!list.length) continue;
    const more = list.length > 3 ? ` (+${list.length - 3} more)` : "";
    shown.push(
      `${group === "claims" ? "required claims" : group} failing: ${
        list.slice(0, 3).join("; ")
      }${more}`,
    );
  }
  return {
    ok: result.ok,
    summary: result.ok ? head : `${head} — ${shown.join(" | ")}`,
    detail: { counts: result.counts, failed },
  };
}
