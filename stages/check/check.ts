/**
 * The `check` stage kind: reproduced metrics against published numbers, and claims.
 *
 * Inputs: any number of aliases, each an object (or `metrics.json`) of an `evaluate` or `random`
 * stage. Params:
 *
 * - `expected`: numeric rows `{ dataset, method, pca, similarity, i2t?, t2i?, avg?, tol, source,
 *   note?, degenerate?, stage? }`. Each metric given becomes one check row; it is ok when a
 *   unique metrics row matches and |reproduced − reported| ≤ tol (+1e-9 for float slack). A row
 *   marked `degenerate` is shown as such and judged with its own (wide) `tol`.
 * - `claims`: `{ name?, left, op, right, margin?, required? }`. `left` selects one metrics value
 *   by `{ method, pca?, similarity?, dataset?, metric?, stage? }` (metric defaults to `avg`);
 *   `right` is a number or a selector whose missing fields (except `stage`) are taken from
 *   `left`. With d = left − right and m = margin (default 0), the claim holds when
 *   `>`: d > m, `>=`: d ≥ m, `<`: −d > m, `<=`: −d ≥ m. A failing claim fails the run only if
 *   `required: true`.
 *
 * Matching is case-insensitive on dataset, method and similarity; `pca` must be equal when given
 * (it is required in `expected`). A selector that matches no row, or several rows, fails.
 *
 * Outputs `check.json` and `check.md`; returns a verdict, not ok when any numeric row is out of
 * tolerance or missing, or a required claim fails.
 * @module
 */
import Table from "cli-table3";
import type { StageContext, StageKind, StageVerdict } from "../../pipeline/types.ts";
import { type MetricRow, readMetrics } from "../eval/metrics.ts";

/** A metric name of a row. */
export type Metric = "i2t" | "t2i" | "avg";

const METRICS: readonly Metric[] = ["i2t", "t2i", "avg"];

/** One published row: the numbers to reproduce. */
export interface ExpectedRow {
  /** Dataset id. */
  dataset: string;
  /** Method label. */
  method: string;
  /** PCA on the image side. */
  pca: boolean;
  /** Similarity. */
  similarity: string;
  /** Reported I→T mAP. */
  i2t?: number;
  /** Reported T→I mAP. */
  t2i?: number;
  /** Reported mean. */
  avg?: number;
  /** Allowed |reproduced − reported|. */
  tol: number;
  /** Where the number comes from. */
  source: string;
  /** Free text shown in the report. */
  note?: string;
  /** Marked numerically degenerate: shown as such, judged with its own (wide) tol. */
  degenerate?: boolean;
  /** Restrict the match to one stage's rows. */
  stage?: string;
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
  /** If true, a failing claim fails the run. */
  required?: boolean;
}

/** One compared number. */
export interface CheckRow {
  /** Dataset id. */
  dataset: string;
  /** Method label. */
  method: string;
  /** PCA on the image side. */
  pca: boolean;
  /** Similarity. */
  similarity: string;
  /** Which metric. */
  metric: Metric;
  /** Published value. */
  reported: number;
  /** Our value, or null when not found. */
  reproduced: number | null;
  /** reproduced − reported, or null. */
  delta: number | null;
  /** Tolerance. */
  tol: number;
  /** Within tolerance. */
  ok: boolean;
  /** Source of the published value. */
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
}

/** The contents of `check.json`. */
export interface CheckResult {
  /** No numeric row out of tolerance or missing, and every required claim holds. */
  ok: boolean;
  /** Numeric rows. */
  rows: CheckRow[];
  /** Claims. */
  claims: ClaimResult[];
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
    const dup = out.some((o) =>
      o.stage === r.stage && o.method === r.method && o.dataset === r.dataset &&
      o.similarity === r.similarity && o.pca === r.pca
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

/** Validate the `expected` param; throws naming the row and field. */
export function parseExpected(value: unknown): ExpectedRow[] {
  if (!Array.isArray(value)) throw new Error(`check: "expected" must be a list of rows`);
  return value.map((v, i) => {
    const where = `check: expected[${i}]`;
    if (typeof v !== "object" || v === null) throw new Error(`${where} must be an object`);
    const r = v as Record<string, unknown>;
    for (const f of ["dataset", "method", "similarity", "source"]) {
      if (typeof r[f] !== "string") throw new Error(`${where}: "${f}" must be a string`);
    }
    if (typeof r.pca !== "boolean") throw new Error(`${where}: "pca" must be true or false`);
    if (typeof r.tol !== "number" || !(r.tol >= 0)) {
      throw new Error(`${where}: "tol" must be a number ≥ 0 (e.g. 0.005)`);
    }
    if (!METRICS.some((m) => r[m] !== undefined)) {
      throw new Error(`${where}: give at least one of i2t, t2i, avg`);
    }
    for (const m of METRICS) {
      if (r[m] !== undefined && typeof r[m] !== "number") {
        throw new Error(`${where}: "${m}" must be a number`);
      }
    }
    for (const f of ["note", "stage"]) {
      if (r[f] !== undefined && typeof r[f] !== "string") {
        throw new Error(`${where}: "${f}" must be a string`);
      }
    }
    if (r.degenerate !== undefined && typeof r.degenerate !== "boolean") {
      throw new Error(`${where}: "degenerate" must be true or false`);
    }
    return r as unknown as ExpectedRow;
  });
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
    if (c.name !== undefined && typeof c.name !== "string") {
      throw new Error(`${where}: "name" must be a string`);
    }
    const left = parseSelector(c.left, `${where}.left`);
    if (left.method === undefined) throw new Error(`${where}.left: "method" is required`);
    const right = typeof c.right === "number" ? c.right : parseSelector(c.right, `${where}.right`);
    if (![">", ">=", "<", "<="].includes(c.op as string)) {
      throw new Error(`${where}: "op" must be one of >, >=, <, <= (got ${JSON.stringify(c.op)})`);
    }
    if (c.margin !== undefined && typeof c.margin !== "number") {
      throw new Error(`${where}: "margin" must be a number`);
    }
    if (c.required !== undefined && typeof c.required !== "boolean") {
      throw new Error(`${where}: "required" must be true or false`);
    }
    return {
      name: c.name as string | undefined,
      left,
      op: c.op as Claim["op"],
      right,
      margin: c.margin as number | undefined,
      required: c.required as boolean | undefined,
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
    });
    for (const m of METRICS) {
      const reported = e[m];
      if (reported === undefined) continue;
      const match = "error" in found ? undefined : found.row;
      const reproduced = match ? match[m] : null;
      const delta = reproduced === null ? null : reproduced - reported;
      const notFound = "error" in found ? `not found: ${found.error}` : "";
      out.push({
        dataset: e.dataset,
        method: e.method,
        pca: e.pca,
        similarity: e.similarity,
        metric: m,
        reported,
        reproduced,
        delta,
        tol: e.tol,
        ok: delta !== null && Math.abs(delta) <= e.tol + EPS,
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
  const r = typeof c.right === "number" ? String(c.right) : describe({ ...l, ...c.right });
  return `${describe(l)} ${c.op} ${r} (${metric})`;
}

/** Evaluate each claim against the metrics rows. */
export function evaluateClaims(
  rows: readonly MetricRow[],
  claims: readonly Claim[],
): ClaimResult[] {
  return claims.map((c) => {
    const claim = claimName(c);
    const required = c.required ?? false;
    const metric = c.left.metric ?? "avg";
    const left = findOne(rows, c.left);
    if ("error" in left) return { claim, holds: false, detail: `left: ${left.error}`, required };
    const lv = left.row[metric];
    let rv: number;
    if (typeof c.right === "number") {
      rv = c.right;
    } else {
      const { stage: _ignored, ...inherit } = c.left;
      const sel: Selector = { ...inherit, ...c.right };
      const right = findOne(rows, sel);
      if ("error" in right) {
        return { claim, holds: false, detail: `right: ${right.error}`, required };
      }
      rv = right.row[sel.metric ?? "avg"];
    }
    const m = c.margin ?? 0;
    const d = lv - rv;
    const holds = c.op === ">" ? d > m : c.op === ">=" ? d >= m : c.op === "<" ? -d > m : -d >= m;
    const gap = m === 0 ? "" : ` (margin ${m}: difference ${fmt(d)})`;
    return { claim, holds, detail: `${fmt(lv)} ${c.op} ${fmt(rv)}${gap}`, required };
  });
}

function fmt(v: number | null, digits = 4): string {
  return v === null ? "—" : v.toFixed(digits);
}

function signed(v: number | null): string {
  return v === null ? "—" : `${v >= 0 ? "+" : ""}${v.toFixed(4)}`;
}

/** The whole check: numeric rows and claims. */
export function runCheck(
  rows: readonly MetricRow[],
  spec: { expected: readonly ExpectedRow[]; claims: readonly Claim[] },
): CheckResult {
  const checked = compareExpected(rows, spec.expected);
  const claims = evaluateClaims(rows, spec.claims);
  const ok = checked.every((r) => r.ok) && claims.every((c) => c.holds || !c.required);
  return { ok, rows: checked, claims };
}

function rowLabel(r: CheckRow): string {
  return `${r.method}${r.pca ? "+PCA" : ""}`;
}

function okMark(r: CheckRow): string {
  return r.reproduced === null ? "missing" : r.ok ? "ok" : "FAIL";
}

/** `check.md`: the numeric table and the claims. */
export function renderMarkdown(result: CheckResult): string {
  const lines = [
    `# Check: ${result.ok ? "pass" : "FAIL"}`,
    "",
    "| dataset | method | similarity | metric | reported | reproduced | Δ | tol | ok | source | note |",
    "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
  ];
  for (const r of result.rows) {
    const note = [r.degenerate ? "**degenerate**" : "", r.note].filter(Boolean).join(" ");
    lines.push(
      `| ${r.dataset} | ${rowLabel(r)} | ${r.similarity} | ${r.metric} | ${fmt(r.reported)} | ` +
        `${fmt(r.reproduced)} | ${signed(r.delta)} | ${r.tol} | ${okMark(r)} | ${r.source} | ` +
        `${note.replaceAll("|", "\\|")} |`,
    );
  }
  if (result.rows.length === 0) lines.push("| (no numeric rows) | | | | | | | | | | |");
  lines.push("", "## Claims", "");
  if (result.claims.length === 0) {
    lines.push("(none)");
  } else {
    lines.push("| claim | result | detail | required |", "| --- | --- | --- | --- |");
    for (const c of result.claims) {
      lines.push(
        `| ${c.claim.replaceAll("|", "\\|")} | ${c.holds ? "holds" : "fails"} | ${c.detail} | ` +
          `${c.required ? "yes" : "no"} |`,
      );
    }
  }
  lines.push(
    "",
    "A row is ok when |reproduced − reported| ≤ tol. Rows marked degenerate use their own " +
      "(wide) tol. A claim that fails fails the run only when it is required.",
    "",
  );
  return lines.join("\n");
}

/** The terminal table (cli-table3, no colours). */
export function renderTable(result: CheckResult): string {
  const t = new Table({
    head: ["dataset", "method", "sim", "metric", "reported", "reproduced", "Δ", "tol", "ok"],
    style: { head: [], border: [] },
  });
  for (const r of result.rows) {
    t.push([
      r.dataset,
      rowLabel(r) + (r.degenerate ? " (degenerate)" : ""),
      r.similarity,
      r.metric,
      fmt(r.reported),
      fmt(r.reproduced),
      signed(r.delta),
      String(r.tol),
      okMark(r),
    ]);
  }
  let s = t.toString();
  if (result.claims.length > 0) {
    const c = new Table({ head: ["claim", "result", "detail"], style: { head: [], border: [] } });
    for (const x of result.claims) {
      c.push([
        x.claim,
        (x.holds ? "holds" : "fails") + (x.required ? " (required)" : ""),
        x.detail,
      ]);
    }
    s += "\n" + c.toString();
  }
  return s;
}

/** Params of the `check` kind. */
export interface CheckParams extends Record<string, unknown> {
  /** Published numeric rows. */
  expected: unknown[];
  /** Claims. */
  claims: unknown[];
}

/** The `check` stage kind. */
export const checkKind: StageKind<CheckParams> = {
  name: "check",
  description: "compare reproduced metrics with published numbers (± tol) and check claims",
  module: import.meta.url,
  inputs: "any",
  params: {
    expected: {
      type: "array",
      default: [],
      doc: "rows {dataset, method, pca, similarity, i2t?, t2i?, avg?, tol, source, note?, " +
        "degenerate?, stage?}",
    },
    claims: {
      type: "array",
      default: [],
      doc: "claims {name?, left: selector, op: > >= < <=, right: selector|number, margin?, " +
        "required?}",
    },
  },
  outputs: ["check.json", "check.md"],
  async run(ctx: StageContext<CheckParams>): Promise<StageVerdict> {
    const expected = parseExpected(ctx.params.expected);
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
    await Deno.writeTextFile(ctx.out("check.json"), JSON.stringify(result, null, 2) + "\n");
    await Deno.writeTextFile(ctx.out("check.md"), renderMarkdown(result));
    for (const line of renderTable(result).split("\n")) ctx.log(line);
    const bad = result.rows.filter((r) => !r.ok);
    const failedRequired = result.claims.filter((c) => !c.holds && c.required);
    const holding = result.claims.filter((c) => c.holds).length;
    const claimPart = result.claims.length > 0
      ? `; claims ${holding}/${result.claims.length} hold`
      : "";
    if (result.ok) {
      return {
        ok: true,
        summary: `check: ${result.rows.length}/${result.rows.length} rows within tolerance` +
          claimPart,
      };
    }
    const what = [
      ...bad.slice(0, 4).map((r) =>
        `${rowLabel(r)} ${r.similarity} ${r.metric} ` +
        (r.reproduced === null ? "missing" : `${fmt(r.reproduced)} vs ${fmt(r.reported)}`)
      ),
      ...failedRequired.slice(0, 2).map((c) => `required claim fails: ${c.claim}`),
    ];
    const more = bad.length > 4 ? ` (+${bad.length - 4} more)` : "";
    return {
      ok: false,
      summary: `check: ${bad.length}/${result.rows.length} rows out of tolerance or missing` +
        `${claimPart}: ${what.join("; ")}${more}`,
    };
  },
};
