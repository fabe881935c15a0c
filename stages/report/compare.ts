/**
 * The comparison table and figure (`compare` param of the report kind): every method on one
 * dataset under one similarity, mAP and retrieval-by-pair metrics (R@1/5/10, medr) as mean ± sd
 * over the seeds found. A metrics row belongs to seed N when its `seed` field is N (the evaluate
 * stage's `sweep: { seed: N }`); a row without a seed is one deterministic run.
 * @module
 */
import type { MetricsRow } from "./inputs.ts";
import { type Grid, methodLabel } from "./tables.ts";
import { baseConfig, type FigureSize, type VlSpec } from "./figures.ts";
import type { Recipe, RecipesFile, RecipeValues } from "../formats/recipes.ts";

/** The `compare` param. */
export interface CompareSpec {
  /** Dataset id of the rows. */
  dataset: string;
  /** Heading. */
  title?: string;
  /**
   * Similarity of the rows (default cosine). A method evaluated under one other similarity only
   * (`random`, or a native score such as `inner`) shows that one, named in its label.
   */
  similarity?: string;
  /** Method id → where its formula comes from (shown in the table). */
  sources?: Record<string, string>;
}

/** Mean and sample sd (n − 1) over seeds; sd is absent for one run. */
export interface Stat {
  /** Mean over the runs. */
  mean: number;
  /** Sample standard deviation (absent with one run). */
  sd?: number;
}

/** The fields of a comparison row. */
export const COMPARE_FIELDS = [
  "i2t",
  "t2i",
  "avg",
  "i2t_r1",
  "i2t_r5",
  "i2t_r10",
  "t2i_r1",
  "t2i_r5",
  "t2i_r10",
  "i2t_medr",
  "t2i_medr",
] as const;

/** One field of {@link COMPARE_FIELDS}. */
export type CompareField = typeof COMPARE_FIELDS[number];

/** One method's row. */
export interface CompareRow {
  /** Method id (seed stripped). */
  method: string;
  /** Display label. */
  label: string;
  /** Number of runs (seeds) behind the row. */
  runs: number;
  /** The seeds, ascending (empty for a deterministic method). */
  seeds: number[];
  /** Each metric over the runs; absent where the rows lack it (e.g. random has no R@K). */
  stats: Partial<Record<CompareField, Stat>>;
  /** R@1 averaged over both directions per run, then over the runs (the figure's x). */
  r1Avg?: Stat;
  /** Where the formula comes from. */
  source: string;
  /** The recipe the method trained with (recipes.json), as its grid's varied fields; if any. */
  recipe?: string;
}

/** The comparison table. */
export interface CompareTable {
  /** Stable id. */
  id: string;
  /** Heading. */
  title: string;
  /** Dataset id. */
  dataset: string;
  /** Similarity. */
  similarity: string;
  /** Rows: deterministic methods first, then trained ones, each group in input order. */
  rows: CompareRow[];
  /** Notes printed under the table. */
  notes: string[];
}

/** Mean and sample sd of values. */
export function stat(values: number[]): Stat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean };
  const v = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, sd: Math.sqrt(v) };
}

/**
 * Group rows by method over seeds.
 * @param rows metrics rows (one per seed: the row's `seed` field)
 * @param options the spec, and display names of methods
 */
export function buildCompareTable(
  rows: readonly MetricsRow[],
  options: { spec: CompareSpec; methodNames?: Record<string, string>; recipes?: RecipesFile },
): CompareTable {
  const { spec } = options;
  const sim = spec.similarity ?? "cosine";
  const all = new Map<string, MetricsRow[]>();
  for (const r of rows) {
    if (r.dataset !== spec.dataset) continue;
    const method = r.method;
    if (!all.has(method)) all.set(method, []);
    all.get(method)!.push(r);
  }
  // A method's rows under `sim`; a method evaluated under one other similarity only (e.g. a
  // native `inner` score, or `random`) keeps that one, named in its label.
  const groups = new Map<string, MetricsRow[]>();
  const otherSim: Record<string, string> = {};
  for (const [method, rs] of all) {
    const mine = rs.filter((r) => r.similarity === sim);
    const sims = [...new Set(rs.map((r) => r.similarity))];
    if (mine.length) groups.set(method, mine);
    else if (sims.length === 1) {
      groups.set(method, rs);
      if (sims[0] !== "random") otherSim[method] = sims[0];
    }
  }
  const out: CompareRow[] = [];
  for (const [method, rs] of groups) {
    const seeds = rs.map((r) => r.seed).filter((s) => s !== undefined);
    const stats: CompareRow["stats"] = {};
    for (const f of COMPARE_FIELDS) {
      const vs = rs.map((r) => r[f]).filter((v): v is number => typeof v === "number");
      if (vs.length === rs.length) stats[f] = stat(vs);
    }
    const r1s = rs.map((r) => (r.i2t_r1 ?? NaN) / 2 + (r.t2i_r1 ?? NaN) / 2);
    out.push({
      method,
      label: methodLabel(method, options.methodNames) +
        (otherSim[method] ? ` (${otherSim[method]})` : ""),
      runs: rs.length,
      seeds: (seeds as number[]).sort((a, b) => a - b),
      stats,
      ...(r1s.every(Number.isFinite) ? { r1Avg: stat(r1s) } : {}),
      source: spec.sources?.[method] ?? "",
      ...(options.recipes?.recipes[method]
        ? { recipe: recipeText(options.recipes.recipes[method]) }
        : {}),
    });
  }
  out.sort((a, b) => Number(a.seeds.length > 0) - Number(b.seeds.length > 0));
  const trained = out.filter((r) => r.seeds.length);
  const seedSets = [...new Set(trained.map((r) => r.seeds.join(",")))];
  const notes = [
    `${sim} similarity; mAP over the whole test gallery (relevance = same class); R@K = share of ` +
    "queries whose own pair is in the first K (1:1 test pairs, shown in %); medr = median rank " +
    "of the own pair (1-based).",
    trained.length
      ? `Trained methods: mean ± sd (sample, n − 1) over seeds ${
        seedSets.join(" / ")
      }; deterministic methods: one run.`
      : "No seeded rows.",
  ];
  const missing = out.filter((r) => !r.stats.i2t_r1 && r.method !== "random").map((r) => r.label);
  if (missing.length) notes.push(`No R@K in the rows of: ${missing.join(", ")}.`);
  if (options.recipes) notes.push(recipeNote(options.recipes));
  return {
    id: "compare",
    title: spec.title ?? `Comparison on ${spec.dataset}`,
    dataset: spec.dataset,
    similarity: sim,
    rows: out,
    notes,
  };
}

const FIELD_LABELS: Record<string, string> = {
  lr: "lr",
  margin: "margin",
  temperature: "τ₀",
  lambda: "λ",
  batch: "batch",
  epochs: "epochs",
};

/**
 * A recipe in a table cell: the fields its grid varied (the others were fixed), e.g.
 * `lr 0.0003, λ 0.1`; every field when the grid had one candidate.
 */
export function recipeText(r: Recipe): string {
  const keys = Object.keys(r.values) as (keyof RecipeValues)[];
  const varied = keys.filter((k) => new Set(r.candidates.map((c) => c.values[k])).size > 1);
  return (varied.length ? varied : keys).map((k) => `${FIELD_LABELS[k]} ${r.values[k]}`).join(
    ", ",
  );
}

/** The note under the table: where the recipes come from. */
export function recipeNote(f: RecipesFile): string {
  const s = f.split;
  const n = Object.values(f.recipes).reduce((a, r) => a + r.candidates.length, 0);
  const pct = typeof s.fraction === "number" ? `${100 * s.fraction}% of each class's ` : "";
  const sizes = typeof s.n_train === "number" && typeof s.n_val === "number"
    ? ` (${s.n_train} train / ${s.n_val} validation rows${
      typeof s.seed === "number" ? `, seed ${s.seed}` : ""
    })`
    : "";
  return `Recipes (column "recipe": the fields its grid varied): chosen per method among ${n} ` +
    `candidates on a validation split of ${pct}training rows${sizes}, never the test rows, by ` +
    `the highest validation ${
      f.criterion === "avg" ? "avg mAP" : f.criterion
    } (${f.similarity}); ` +
    "every candidate's score is in recipes.json.";
}

function fmtStat(s: Stat | undefined, scale: number, digits: number): string {
  if (!s) return "—";
  const v = (x: number) => (x * scale).toFixed(digits);
  return s.sd === undefined ? v(s.mean) : `${v(s.mean)} ± ${v(s.sd)}`;
}

/** Lay the comparison out as a {@link Grid}: mAP ×1, R@K in %, medr as ranks. */
export function compareGrid(t: CompareTable): Grid {
  const recipes = t.rows.some((r) => r.recipe !== undefined);
  const body = t.rows.map((r) => [
    r.label,
    String(r.runs),
    ...(["i2t", "t2i", "avg"] as const).map((f) => fmtStat(r.stats[f], 1, 4)),
    ...(["i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10"] as const).map((f) =>
      fmtStat(r.stats[f], 100, 1)
    ),
    ...(["i2t_medr", "t2i_medr"] as const).map((f) => fmtStat(r.stats[f], 1, 0)),
    r.source,
    ...(recipes ? [r.recipe ?? "—"] : []),
  ]);
  return {
    groups: [
      ["", 2],
      ["mAP", 3],
      ["R@K I→T (%)", 3],
      ["R@K T→I (%)", 3],
      ["medr", 2],
      ["", recipes ? 2 : 1],
    ],
    header: [
      "Method",
      "runs",
      "I→T",
      "T→I",
      "avg",
      "R@1",
      "R@5",
      "R@10",
      "R@1",
      "R@5",
      "R@10",
      "I→T",
      "T→I",
      "formula",
      ...(recipes ? ["recipe"] : []),
    ],
    body,
  };
}

/** One point of the comparison figure. */
export interface ComparePoint {
  /** Legend label. */
  label: string;
  /** Mean R@1 (average of both directions), in %. */
  r1: number;
  /** Its sd over seeds (0 for one run). */
  r1Sd: number;
  /** Mean average mAP. */
  map: number;
  /** Its sd over seeds. */
  mapSd: number;
}

/** The points of the figure: rows with R@1 in both directions. */
export function comparePoints(t: CompareTable): ComparePoint[] {
  const out: ComparePoint[] = [];
  for (const r of t.rows) {
    const a = r.r1Avg, m = r.stats.avg;
    if (!a || !m) continue;
    out.push({
      label: r.label,
      r1: 100 * a.mean,
      // the sd over seeds of each run's two-direction average
      r1Sd: 100 * (a.sd ?? 0),
      map: m.mean,
      mapSd: m.sd ?? 0,
    });
  }
  return out;
}

/** mAP (avg) against R@1 (avg of directions), ± 1 sd error bars, one colour per method. */
export function compareSpec(
  title: string,
  points: ComparePoint[],
  options: { size: FigureSize },
): VlSpec {
  const data = points.map((p) => ({
    ...p,
    r1Lo: p.r1 - p.r1Sd,
    r1Hi: p.r1 + p.r1Sd,
    mapLo: p.map - p.mapSd,
    mapHi: p.map + p.mapSd,
  }));
  const colour = { field: "label", type: "nominal", title: "method" };
  const x = { field: "r1", type: "quantitative", title: "R@1, mean of I→T and T→I (%)" };
  const y = {
    field: "map",
    type: "quantitative",
    title: "mAP, mean of I→T and T→I",
    scale: { zero: false },
  };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: "rule" },
      encoding: { x: { ...x, field: "r1Lo" }, x2: { field: "r1Hi" }, y, color: colour },
    },
    {
      mark: { type: "rule" },
      encoding: { x, y: { ...y, field: "mapLo" }, y2: { field: "mapHi" }, color: colour },
    },
    {
      mark: { type: "point", filled: true, size: 70 },
      encoding: {
        x,
        y,
        color: colour,
        shape: { field: "label", type: "nominal", title: "method" },
      },
    },
  ];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: baseConfig(),
    width: options.size.width,
    height: options.size.height,
    data: { values: data },
    layer: layers,
  } as VlSpec;
}
