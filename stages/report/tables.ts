/**
 * The report's tables as data: Tables 1–3 (methods × image query / text query / average, expected |
 * reproduced | Δ, PCA values in brackets; each row's reference says what kind of number the
 * expected one is: published, anchor or regression), Table 4 (Euclidean against cosine for the DSE variants)
 * and the claims. Rendering to Markdown, HTML and the terminal goes through {@link tableGrid}.
 * @module
 */
import type { ExpectationKind } from "../formats/check_result.ts";
import type { CheckRow, Claim, MetricsRow, ReportInputs } from "./inputs.ts";

/** Which table to build for which dataset (the `tables` param). */
export interface TableSpec {
  /** Dataset id as in the metrics rows. */
  dataset: string;
  /** Heading, e.g. "Table 1: Wikipedia (CNN features)". */
  title?: string;
  /** Method ids to show, in order (default: every method found, in paper order). */
  methods?: string[];
  /** Similarity to show when a method has several (default: the check's, else cosine). */
  similarity?: string;
  /** Where reference values come from when a row has no published value. */
  reference?: string;
}

/** A value without PCA and with PCA (shown as `a (b)`). */
export interface Pair {
  /** Without PCA. */
  plain?: number;
  /** With PCA on the image side. */
  pca?: number;
}

/** One metric (I→T, T→I or average) of one row. */
export interface MetricCell {
  /** Expected values (published, anchor or regression: see the row's `kinds`). */
  expected: Pair;
  /** Our values. */
  reproduced: Pair;
  /** reproduced − reported. */
  delta: Pair;
  /** Check verdicts (undefined: no check row). */
  ok: { plain?: boolean; pca?: boolean };
  /** Cells the check marks numerically degenerate (shown with †). */
  degenerate: { plain?: boolean; pca?: boolean };
}

/** One row of a results table. */
export interface TableRow {
  /** Method id. */
  method: string;
  /** Display label, e.g. `DSE-CS` or `DSE-CS (Euclidean)`. */
  label: string;
  /** Similarity behind the numbers. */
  similarity: string;
  /** The three metrics. */
  cells: { i2t: MetricCell; t2i: MetricCell; avg: MetricCell };
  /** Where the expected numbers come from, each source led by its kind. */
  reference: string;
  /** The kinds of the row's expected numbers (empty: none, reproduced only). */
  kinds: ExpectationKind[];
  /** Notes from the check (e.g. "numerically degenerate"). */
  notes: string[];
  /** Stages that produced the reproduced numbers. */
  stages: string[];
}

/** A results table (Tables 1–3, or Table 4 when `kind` is `similarity`). */
export interface ResultTable {
  /** Stable id, e.g. `table1`. */
  id: string;
  /** Heading. */
  title: string;
  /** Dataset id. */
  dataset: string;
  /** `results` (Tables 1–3) or `similarity` (Table 4). */
  kind: "results" | "similarity";
  /** Rows. */
  rows: TableRow[];
  /** Notes printed under the table. */
  notes: string[];
}

/** The claims table. */
export interface ClaimsTable {
  /** Stable id. */
  id: string;
  /** Heading. */
  title: string;
  /** Claims as the check stated them. */
  rows: Claim[];
}

const METRICS = ["i2t", "t2i", "avg"] as const;

/** Normalised method key: lower case, letters and digits only (`DSE-CS` → `dsecs`). */
export function methodKey(method: string): string {
  return method.toLowerCase().replace(/[^a-z0-9]/g, "");
}

const PAPER_ORDER = [
  "random",
  "cca",
  "pls",
  "plsk9",
  "blm",
  "sm",
  "scm",
  "gmlda",
  "gmmfa",
  "gmmfastd",
  "msalg",
  "lrbs",
  "dses",
  "dsecs",
  "dseds",
];

const DISPLAY: Record<string, string> = {
  random: "Random",
  cca: "CCA",
  pls: "PLS",
  blm: "BLM",
  sm: "SM",
  scm: "SCM",
  gmlda: "GMLDA",
  gmmfa: "GMMFA",
  gmmfastd: "GMMFA (standard settings)",
  plsk9: "PLS (k = 9)",
  msalg: "MsAlg",
  lrbs: "LRBS",
  dses: "DSE-S",
  dsecs: "DSE-CS",
  dseds: "DSE-DS",
};

/** Paper-style display name of a method id, with `names` (method id → name) taking precedence. */
export function methodLabel(method: string, names: Record<string, string> = {}): string {
  return names[method] ?? DISPLAY[methodKey(method)] ?? method;
}

/** Sort method ids in the paper's order; unknown methods keep their order after the known ones. */
export function paperOrder(methods: string[]): string[] {
  const rank = (m: string) => {
    const i = PAPER_ORDER.indexOf(methodKey(m));
    return i < 0 ? PAPER_ORDER.length : i;
  };
  return methods.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map((x) => x.m);
}

const SIM_PREFERENCE = ["cosine", "nc", "inner", "euclidean"];

/** Options shared by the table builders. */
export interface TableOptions {
  /** Method id → display name overrides. */
  methodNames?: Record<string, string>;
  /** Method id → the λ of its main run, used when only λ-tagged rows exist. */
  lambdaDefaults?: Record<string, number>;
  /** Method ids of the DSE variants for Table 4. */
  dseMethods?: string[];
}

/**
 * Pick the one metrics row behind a table cell: rows without a λ first, else the row at the
 * method's default λ, else none (a sweep alone does not make a table row).
 */
export function pickRow(
  rows: MetricsRow[],
  lambdaDefaults: Record<string, number> = {},
): MetricsRow | undefined {
  const plain = rows.filter((r) => r.lambda === undefined);
  if (plain.length) return plain[0];
  const def = Object.entries(lambdaDefaults).find(([m]) =>
    methodKey(m) === methodKey(rows[0]?.method ?? "")
  )
    ?.[1];
  if (def === undefined) return undefined;
  return rows.find((r) =>
    r.lambda !== undefined && Math.abs(r.lambda - def) <= 1e-12 * Math.max(1, def)
  );
}

function same(a: string, b: string): boolean {
  return methodKey(a) === methodKey(b);
}

function eqi(a: string | undefined, b: string | undefined): boolean {
  return (a ?? "").toLowerCase() === (b ?? "").toLowerCase();
}

function emptyCell(): MetricCell {
  return { expected: {}, reproduced: {}, delta: {}, ok: {}, degenerate: {} };
}

function buildRow(
  data: ReportInputs,
  dataset: string,
  method: string,
  similarity: string,
  label: string,
  options: TableOptions,
  fallbackReference: string,
  used?: Set<CheckRow>,
): TableRow | undefined {
  const cells = { i2t: emptyCell(), t2i: emptyCell(), avg: emptyCell() };
  const sources = new Map<string, ExpectationKind>();
  const notes = new Set<string>();
  const stages = new Set<string>();
  let any = false;
  for (const pca of [false, true]) {
    const slot = pca ? "pca" : "plain";
    const rows = data.metrics.filter((r) =>
      eqi(r.dataset, dataset) && same(r.method, method) && r.pca === pca &&
      eqi(r.similarity, similarity)
    );
    const row = rows.length ? pickRow(rows, options.lambdaDefaults) : undefined;
    if (row) {
      any = true;
      if (row.stage) stages.add(row.stage);
      for (const m of METRICS) cells[m].reproduced[slot] = row[m];
    }
    const checks = data.checks.filter((c) =>
      eqi(c.dataset, dataset) && same(c.method, method) && c.pca === pca &&
      (c.similarity === undefined || eqi(c.similarity, similarity))
    );
    const byMetric = new Map<string, CheckRow>();
    for (const c of checks) {
      if (!byMetric.has(c.metric)) {
        byMetric.set(c.metric, c);
        used?.add(c);
      }
    }
    for (const m of METRICS) {
      const c = byMetric.get(m);
      if (c) {
        cells[m].expected[slot] = c.expected;
        cells[m].ok[slot] = c.ok;
        if (c.degenerate) cells[m].degenerate[slot] = true;
        if (c.source) sources.set(c.source, c.kind);
        if (c.degenerate) notes.add(`† numerically degenerate${pca ? " (with PCA)" : ""}`);
        if (c.note) notes.add(c.note);
        if (c.stage) stages.add(c.stage);
        if (!row && c.reproduced !== null) cells[m].reproduced[slot] = c.reproduced;
      }
    }
    // The paper reports the average too; when the check only carries both directions, derive it.
    const ri = cells.i2t.expected[slot], rt = cells.t2i.expected[slot];
    if (cells.avg.expected[slot] === undefined && ri !== undefined && rt !== undefined) {
      cells.avg.expected[slot] = (ri + rt) / 2;
    }
    for (const m of METRICS) {
      const rep = cells[m].expected[slot], ours = cells[m].reproduced[slot];
      if (rep !== undefined && ours !== undefined) cells[m].delta[slot] = ours - rep;
    }
    if (checks.length) any = true;
  }
  if (!any) return undefined;
  return {
    method,
    label,
    similarity,
    cells,
    reference: sources.size ? referenceByKind(sources) : fallbackReference,
    kinds: [...new Set(sources.values())],
    notes: [...notes],
    stages: [...stages],
  };
}

/** `published: a; b · anchor: c`: each kind once, its sources after it. */
function referenceByKind(sources: Map<string, ExpectationKind>): string {
  const byKind = new Map<ExpectationKind, string[]>();
  for (const [source, kind] of sources) byKind.set(kind, [...byKind.get(kind) ?? [], source]);
  return [...byKind].map(([kind, list]) => `${kind}: ${list.join("; ")}`).join(" · ");
}

/** The similarity a results table shows for one method (see {@link TableSpec.similarity}). */
export function chooseSimilarity(
  data: ReportInputs,
  options: { dataset: string; method: string; preferred?: string },
): string | undefined {
  const { dataset, method, preferred } = options;
  const lower = (x: string) => x.toLowerCase();
  // Similarities with reproduced numbers come first; a check's similarity alone (its row was
  // not found) only makes a row when nothing was reproduced.
  const measured = new Set(
    data.metrics.filter((r) => eqi(r.dataset, dataset) && same(r.method, method)).map((r) =>
      lower(r.similarity)
    ),
  );
  const checkSims = new Set(
    data.checks.filter((c) => eqi(c.dataset, dataset) && same(c.method, method) && c.similarity)
      .map((c) => lower(c.similarity as string)),
  );
  const sims = measured.size ? measured : checkSims;
  if (sims.size === 0) return undefined;
  if (preferred && sims.has(lower(preferred))) return lower(preferred);
  const both = [...checkSims].filter((x) => sims.has(x));
  if (both.length === 1) return both[0];
  for (const x of SIM_PREFERENCE) if (sims.has(x)) return x;
  return [...sims].sort()[0];
}

/** Datasets in order of first appearance in metrics, then check rows. */
export function datasetsOf(data: ReportInputs): string[] {
  const out: string[] = [];
  for (const d of [...data.metrics.map((r) => r.dataset), ...data.checks.map((c) => c.dataset)]) {
    if (d && !out.includes(d)) out.push(d);
  }
  return out;
}

/**
 * Tables 1–3: one per {@link TableSpec} (default: one per dataset), methods × (I→T, T→I, avg).
 */
export function buildResultTables(
  data: ReportInputs,
  options: TableOptions & { tables?: TableSpec[] } = {},
): ResultTable[] {
  const specs: TableSpec[] = options.tables?.length
    ? options.tables
    : datasetsOf(data).map((dataset) => ({ dataset }));
  return specs.map((spec, i) => {
    const found = [
      ...data.metrics.filter((r) => r.dataset === spec.dataset).map((r) => r.method),
      ...data.checks.filter((c) => c.dataset === spec.dataset).map((c) => c.method),
    ];
    const unique: string[] = [];
    for (const m of found) if (!unique.some((u) => same(u, m))) unique.push(m);
    const methods = spec.methods ?? paperOrder(unique);
    const fallback = spec.reference ?? "no published value: reproduced only";
    const rows: TableRow[] = [];
    const notes: string[] = [];
    const used = new Set<CheckRow>();
    for (const method of methods) {
      const sim = chooseSimilarity(data, {
        dataset: spec.dataset,
        method,
        preferred: spec.similarity,
      });
      const row = sim
        ? buildRow(
          data,
          spec.dataset,
          method,
          sim,
          methodLabel(method, options.methodNames),
          options,
          fallback,
          used,
        )
        : undefined;
      if (row) {
        rows.push(row);
        for (const n of row.notes) notes.push(`${row.label}: ${n}`);
      } else {notes.push(
          `${methodLabel(method, options.methodNames)}: no result for ${spec.dataset}`,
        );}
    }
    // Check rows no table cell shows (e.g. a similarity that was never evaluated) stay visible.
    for (const c of data.checks) {
      if (!eqi(c.dataset, spec.dataset) || used.has(c)) continue;
      if (spec.methods && !spec.methods.some((m) => same(m, c.method))) continue;
      const ours = c.reproduced !== null
        ? `reproduced ${fmt(c.reproduced)}`
        : "no reproduced value";
      notes.push(
        `${methodLabel(c.method, options.methodNames)}${c.pca ? "+PCA" : ""} (${
          c.similarity ?? "?"
        }, ${c.metric}): ${c.kind} ${fmt(c.expected)}, ${ours}, check ${c.ok ? "ok" : "FAILED"}${
          c.note ? ` — ${c.note}` : ""
        }`,
      );
    }
    return {
      id: `table${i + 1}`,
      title: spec.title ?? `Table ${i + 1}: ${spec.dataset}`,
      dataset: spec.dataset,
      kind: "results" as const,
      rows,
      notes,
    };
  });
}

/**
 * Table 4: Euclidean against cosine for each DSE variant, one part per dataset that has both.
 * As in the paper, every part carries the same number (`Table 4 … (wiki)`, `Table 4 … (pascal)`),
 * with ids `table4-<dataset>`.
 * @param firstNumber the table's number (4 in the paper)
 */
export function buildSimilarityTables(
  data: ReportInputs,
  options: TableOptions & { firstNumber?: number } = {},
): ResultTable[] {
  const dse = options.dseMethods ?? ["dse-s", "dse-cs", "dse-ds"];
  const out: ResultTable[] = [];
  const n = options.firstNumber ?? 4;
  for (const dataset of datasetsOf(data)) {
    const rows: TableRow[] = [];
    for (const method of dse) {
      for (const sim of ["euclidean", "cosine"]) {
        const label = methodLabel(method, options.methodNames);
        const row = buildRow(
          data,
          dataset,
          method,
          sim,
          label,
          options,
          "no published value: reproduced only",
        );
        if (row) rows.push(row);
      }
    }
    const sims = new Set(rows.map((r) => r.similarity));
    if (rows.length && sims.size === 2) {
      const notes: string[] = [];
      for (const method of dse) {
        const e = rows.find((r) => same(r.method, method) && r.similarity === "euclidean");
        const c = rows.find((r) => same(r.method, method) && r.similarity === "cosine");
        const ea = e?.cells.avg.reproduced.plain ?? e?.cells.avg.reproduced.pca;
        const ca = c?.cells.avg.reproduced.plain ?? c?.cells.avg.reproduced.pca;
        if (ea !== undefined && ca !== undefined) {
          notes.push(
            `${methodLabel(method, options.methodNames)}: cosine − Euclidean (average) = ${
              signed(ca - ea)
            }`,
          );
        }
      }
      out.push({
        id: `table${n}-${dataset}`,
        title: `Table ${n}: Euclidean vs cosine, DSE variants (${dataset})`,
        dataset,
        kind: "similarity",
        rows,
        notes,
      });
    }
  }
  return out;
}

/** The claims of every check, as one table. */
export function buildClaimsTable(data: ReportInputs): ClaimsTable {
  return { id: "claims", title: "Claims", rows: data.claims };
}

/** A value to four decimals, `–` when missing. */
export function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(4);
}

/** A signed difference to four decimals. */
export function signed(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const s = v.toFixed(4);
  return v >= 0 && !s.startsWith("-") ? `+${s}` : s.replace(/^-0\.0000$/, "+0.0000");
}

/**
 * Format a {@link Pair} the paper's way: `plain (pca)`; `– (pca)` when only the PCA value exists.
 * @param options `format` of one value (default {@link fmt}); `ok` appends ✗ to a failed check;
 * `dagger` appends † to a degenerate cell
 */
export function fmtPair(
  p: Pair,
  options: {
    format?: (v: number | undefined) => string;
    ok?: { plain?: boolean; pca?: boolean };
    dagger?: { plain?: boolean; pca?: boolean };
  } = {},
): string {
  const { ok, dagger } = options;
  const f = options.format ?? fmt;
  const mark = (v: string, o: boolean | undefined, d: boolean | undefined) =>
    `${v}${d ? "†" : ""}${o === false ? "✗" : ""}`;
  const plain = mark(f(p.plain), ok?.plain, dagger?.plain);
  if (p.pca === undefined) return p.plain === undefined ? "–" : plain;
  return `${plain} (${mark(f(p.pca), ok?.pca, dagger?.pca)})`;
}

/** A table as text cells: a two-level header and a body, shared by Markdown, HTML and terminal. */
export interface Grid {
  /** Top header row: [label, span] groups. */
  groups: [string, number][];
  /** Column headers. */
  header: string[];
  /** Body rows. */
  body: string[][];
}

/** Lay a results table out as a {@link Grid}. */
export function tableGrid(t: ResultTable): Grid {
  const header = ["Method", "Similarity"];
  const groups: [string, number][] = [["", 2]];
  const names = { i2t: "Image query (I→T)", t2i: "Text query (T→I)", avg: "Average" };
  for (const m of METRICS) {
    groups.push([names[m], 3]);
    header.push("expected", "reproduced", "Δ");
  }
  groups.push(["", 1]);
  header.push("Reference");
  const body = t.rows.map((r) => {
    const cells = [r.label, r.similarity];
    for (const m of METRICS) {
      const c = r.cells[m];
      cells.push(
        fmtPair(c.expected, { dagger: c.degenerate }),
        fmtPair(c.reproduced),
        fmtPair(c.delta, { format: signed, ok: c.ok }),
      );
    }
    cells.push(r.notes.length ? `${r.reference} (see note)` : r.reference);
    return cells;
  });
  return { groups, header, body };
}

/** Lay the claims out as a {@link Grid}. */
export function claimsGrid(t: ClaimsTable): Grid {
  return {
    groups: [],
    header: ["Claim", "Verdict", "Numbers"],
    body: t.rows.map((c) => [
      c.claim,
      c.holds
        ? "holds"
        : c.required
        ? "fails (required: fails the run)"
        : `fails (not required: ${c.reason ?? "no reason given"})`,
      c.detail,
    ]),
  };
}
