/**
 * The `report` stage kind: turns any number of upstream objects (metrics, curves, checks,
 * embeddings) into report.md, a self-contained report.html, report.json and figures/ (PNG + SVG +
 * the Vega-Lite spec of each figure).
 *
 * ## Inputs
 * Any aliases; each is an object directory (or one `stage/output` file). What an object holds is
 * found by its files: `metrics.json` (Tables 1–4, Fig 5), `curves.json` (Figs 2–4), `check.json`
 * (reported values, Δ, claims), an Embedding object (`embedding.json`, `img.npy`, `txt.npy`,
 * `y.npy`, optional `centers.npy`: Fig 6 for the `dse_methods`), `dataset.json` (class names for
 * Fig 6), and the engine's `manifest.json` (key, stage, duration, backend, seeds, upstream keys).
 *
 * ## λ sweeps (Fig 5)
 * A metrics row is a sweep point when it has a numeric `lambda`, `hyper.lambda`, or its method
 * label reads `<method>@lambda=<value>` (e.g. the evaluate stage's `label: dse-cs@lambda=0.001`).
 * Tables use rows without λ, else the row at `lambda_defaults[method]`. λ = 0 is drawn one decade
 * left of the smallest positive λ as a square marker behind a dashed axis break, labelled "0".
 *
 * ## Rendering
 * Vega-Lite 6 → Vega 6 headless SVG → PNG with @resvg/resvg-js and the system fonts; on Debian
 * `apt-get install -y fonts-dejavu-core` provides "DejaVu Sans".
 * @module
 */
import type { Params, StageKind } from "../../pipeline/types.ts";
import { loadInputs } from "./inputs.ts";
import { buildReport } from "./build.ts";
import type { TableSpec } from "./tables.ts";
import type { FigureSize } from "./figures.ts";
import type { CompareSpec } from "./compare.ts";

/** Params of the `report` kind. */
export interface ReportParams extends Params {
  /** Report title. */
  title: string;
  /** Tables 1–3: `[{dataset, title?, methods?, similarity?, reference?}]`; empty = one per dataset. */
  tables: TableSpec[];
  /** Method id → display name, e.g. `{ "gma-blm": "BLM" }`. */
  method_names: Record<string, string>;
  /** Method ids of the DSE variants. */
  dse_methods: string[];
  /** Method id → λ of its main run (used when only λ-tagged rows exist). */
  lambda_defaults: Record<string, number>;
  /** Which PCA variant Figs 2–4 draw: `without`, `with`, `best` or `both`. */
  curves_pca: "without" | "with" | "best" | "both";
  /** Similarity of the Fig 5 points, or `all`. */
  sweep_similarity: string;
  /** Panel size of Figs 2–5 in px (before `scale`). */
  figure_size: FigureSize;
  /** Panel size of Fig 6 in px. */
  scatter_size: FigureSize;
  /** PNG zoom factor. */
  scale: number;
  /** Figure formats: any of `png`, `svg`. */
  formats: string[];
  /** At most this many pairs per Fig 6 panel. */
  scatter_max_points: number;
  /** The comparison table and figure over methods and seeds (`compare.ts`), or null. */
  compare: CompareSpec | null;
}

function checkSize(v: unknown, name: string): FigureSize {
  const s = v as FigureSize;
  if (
    typeof s !== "object" || s === null || !(s.width > 0) || !(s.height > 0) ||
    s.width > 4000 || s.height > 4000
  ) {
    throw new Error(
      `report: param ${name} must be {width, height} in pixels (1–4000), got ${JSON.stringify(v)}`,
    );
  }
  return { width: s.width, height: s.height };
}

function checkCompare(v: unknown): CompareSpec | undefined {
  if (v === null || v === undefined) return undefined;
  const c = v as CompareSpec;
  if (typeof c !== "object" || typeof c.dataset !== "string") {
    throw new Error(
      `report: param compare must be {dataset, title?, similarity?, sources?}, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return c;
}

function checkTables(v: unknown): TableSpec[] {
  if (!Array.isArray(v)) throw new Error("report: param tables must be an array of {dataset, ...}");
  return v.map((t, i) => {
    if (typeof t !== "object" || t === null || typeof (t as TableSpec).dataset !== "string") {
      throw new Error(
        `report: tables[${i}] needs a "dataset" (the metrics rows' dataset id), got ${
          JSON.stringify(t)
        }`,
      );
    }
    return t as TableSpec;
  });
}

/** The `report` stage kind. */
export const reportKind: StageKind<ReportParams> = {
  name: "report",
  description: "Tables 1–4, the claims, Figs 2–6 and provenance as report.md / report.html",
  module: import.meta.url,
  inputs: "any",
  params: {
    title: {
      type: "string",
      default:
        "Reproduction of Kang et al., Learning Deep Semantic Embeddings for Cross-Modal Retrieval (ACML 2017)",
      doc: "report title",
    },
    tables: {
      type: "array",
      default: [],
      doc:
        "Tables 1–3: [{dataset, title?, methods?, similarity?, reference?}]; empty = one per dataset",
    },
    method_names: { type: "object", default: {}, doc: "method id → display name" },
    dse_methods: {
      type: "array",
      default: ["dse-s", "dse-cs", "dse-ds"],
      doc: "method ids of the DSE variants (Table 4, Fig 6)",
    },
    lambda_defaults: {
      type: "object",
      default: { "dse-cs": 0.01, "dse-ds": 0.1 },
      doc: "method id → λ of the main run, when only λ-tagged rows exist",
    },
    curves_pca: {
      type: "string",
      default: "best",
      enum: ["without", "with", "best", "both"],
      doc: "PCA variant drawn in Figs 2–4",
    },
    sweep_similarity: {
      type: "string",
      default: "cosine",
      doc: "similarity of the Fig 5 points, or all",
    },
    figure_size: {
      type: "object",
      default: { width: 360, height: 260 },
      doc: "panel size of Figs 2–5 (px)",
    },
    scatter_size: {
      type: "object",
      default: { width: 250, height: 210 },
      doc: "panel size of Fig 6 (px)",
    },
    scale: { type: "number", default: 2, doc: "PNG zoom factor" },
    formats: { type: "array", default: ["png", "svg"], doc: "figure formats: png, svg" },
    scatter_max_points: {
      type: "integer",
      default: 2000,
      doc: "at most this many pairs per Fig 6 panel",
    },
    compare: {
      type: "any",
      default: null,
      doc:
        "comparison over methods and seeds: {dataset, title?, similarity?, sources?} (rows with a seed field); null = none",
    },
  },
  outputs: ["report.md", "report.html", "report.json", "figures"],
  async run(ctx) {
    const p = ctx.params;
    const data = await loadInputs(ctx.inputs);
    if (!data.metrics.length && !data.checks.length) {
      throw new Error(
        `report: none of the inputs (${
          Object.keys(ctx.inputs).join(", ") || "none"
        }) holds metrics.json or check.json; give the report stage evaluate/check stages as inputs`,
      );
    }
    const repoDir = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
    const built = await buildReport(data, (n) => ctx.out(n), {
      title: p.title,
      tables: checkTables(p.tables),
      compare: checkCompare(p.compare),
      methodNames: p.method_names,
      dseMethods: p.dse_methods,
      lambdaDefaults: p.lambda_defaults,
      curvesPca: p.curves_pca,
      sweepSimilarity: p.sweep_similarity,
      figureSize: checkSize(p.figure_size, "figure_size"),
      scatterSize: checkSize(p.scatter_size, "scatter_size"),
      scale: p.scale,
      formats: p.formats,
      scatterMaxPoints: p.scatter_max_points,
      repoDir,
      log: ctx.log,
    });
    const prov = built.model.provenance;
    ctx.provenance.git_commit = prov.commit ?? null;
    ctx.provenance.git_dirty = prov.dirty ?? null;
    ctx.provenance.versions = prov.versions;
    for (const w of built.model.warnings) ctx.log(`warning: ${w}`);
    ctx.log(
      `report: ${
        built.model.tables.length + built.model.similarityTables.length
      } tables, ${built.model.figures.length} figures`,
    );
  },
};

/** The kinds of the report group. */
export const kinds: StageKind[] = [reportKind];
