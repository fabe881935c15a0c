/**
 * Build the whole report from loaded inputs: tables, figure data and specs, rendering, and the
 * report.md / report.html / report.json / figures/ outputs.
 * @module
 */
import { buildCompareTable, comparePoints, type CompareSpec, compareSpec } from "./compare.ts";
import { readLabels, readMatrix } from "../tensor_io/npy.ts";
import type { CurveSet, EmbeddingSet, ReportInputs } from "./inputs.ts";
import {
  buildClaimsTable,
  buildResultTables,
  buildSimilarityTables,
  chooseSimilarity,
  methodKey,
  methodLabel,
  paperOrder,
  type ResultTable,
  type TableSpec,
} from "./tables.ts";
import {
  type CurveSeries,
  curvesSpec,
  type FigureSize,
  type LambdaPoint,
  lambdaSpec,
  type ScatterPoint,
  scatterSpec,
  type VlSpec,
  zeroPosition,
} from "./figures.ts";
import { renderFigure, renderSvg } from "./render.ts";
import { type FigureEntry, type ReportModel, toHtml, toMarkdown } from "./document.ts";
import { collectProvenance } from "./provenance.ts";
import { fitPca2, projectPca2, stackRows, unitRows } from "./pca2.ts";

/** Options of {@link buildReport} (the `report` kind's params, camel-cased). */
export interface BuildOptions {
  /** Report title. */
  title: string;
  /** Tables 1–3 (default: one per dataset). */
  tables?: TableSpec[];
  /** Method id → display name. */
  methodNames?: Record<string, string>;
  /** Method ids of the DSE variants (Table 4, Fig 6, emphasised lines). */
  dseMethods?: string[];
  /** Method id → λ of its main run. */
  lambdaDefaults?: Record<string, number>;
  /** Which PCA variant of a method Figs 2–4 draw. */
  curvesPca?: "without" | "with" | "best" | "both";
  /** Similarity of the λ-sweep points (or `all`). */
  sweepSimilarity?: string;
  /** Panel size of Figs 2–5. */
  figureSize?: FigureSize;
  /** Panel size of Fig 6. */
  scatterSize?: FigureSize;
  /** PNG zoom factor. */
  scale?: number;
  /** Formats to write: `png`, `svg`. */
  formats?: string[];
  /** At most this many points per modality per Fig 6 panel (evenly strided). */
  scatterMaxPoints?: number;
  /** The git checkout to ask for the commit. */
  repoDir: string;
  /** Progress and notes. */
  log?: (msg: string) => void;
  /**
   * The comparison table and figure (`compare.ts`). With it, rows with a `seed` field go to
   * the comparison only, and without `tables` there are no Tables 1–4.
   */
  compare?: CompareSpec;
}

function safeId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, "_");
}

function suffix(i: number): string {
  return i === 0 ? "" : String.fromCharCode(97 + i); // "", "b", "c", ...
}

function preferLambda<T extends { method: string; lambda?: number }>(
  items: T[],
  defaults: Record<string, number>,
): T | undefined {
  const plain = items.find((x) => x.lambda === undefined);
  if (plain) return plain;
  // A single candidate (e.g. DSE-S, whose λ is recorded but unused) is unambiguous.
  if (items.length === 1) return items[0];
  const def = Object.entries(defaults).find(([m]) =>
    methodKey(m) === methodKey(items[0]?.method ?? "")
  )
    ?.[1];
  return def === undefined ? undefined : items.find((x) => x.lambda === def);
}

function meanCurves(a: number[] | undefined, b: number[] | undefined): number[] | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.map((v, i) => (v + (b[i] ?? v)) / 2);
}

/** Average a curve set's I→T and T→I curves for one similarity (the paper's Figs 2–4). */
export function averageDirections(
  set: CurveSet,
  similarity: string,
): Pick<CurveSeries, "pr" | "scope"> | undefined {
  const bySim = set.curves[similarity];
  if (!bySim) return undefined;
  const a = bySim.i2t, b = bySim.t2i;
  if (!a && !b) return undefined;
  let pr: CurveSeries["pr"];
  const ra = a?.pr11, rb = b?.pr11;
  if (ra || rb) {
    if (ra && rb && ra.recall.some((r, i) => Math.abs(r - rb.recall[i]) > 1e-9)) {
      throw new Error(
        `curves of ${set.method} (${set.dataset}): I→T and T→I PR curves use different recall grids`,
      );
    }
    pr = {
      recall: (ra ?? rb)!.recall,
      precision: meanCurves(ra?.precision, rb?.precision)!,
    };
  }
  let scope: CurveSeries["scope"];
  const sa = a?.scope, sb = b?.scope;
  if (sa && sb) {
    const n: number[] = [], p: number[] = [];
    sa.n.forEach((x, i) => {
      const j = sb.n.indexOf(x);
      if (j >= 0) {
        n.push(x);
        p.push((sa.precision[i] + sb.precision[j]) / 2);
      }
    });
    scope = { n, precision: p };
  } else if (sa || sb) scope = { ...(sa ?? sb)! };
  return { pr, scope };
}

function curveSeriesFor(
  data: ReportInputs,
  dataset: string,
  table: ResultTable | undefined,
  spec: TableSpec | undefined,
  options: BuildOptions,
): { series: CurveSeries[]; notes: string[] } {
  const sets = data.curves.filter((c) => c.dataset === dataset);
  const methods: string[] = [];
  for (const c of sets) {
    if (!methods.some((m) => methodKey(m) === methodKey(c.method))) methods.push(c.method);
  }
  const dse = (options.dseMethods ?? []).map(methodKey);
  const mode = options.curvesPca ?? "best";
  const series: CurveSeries[] = [];
  const notes: string[] = [];
  const sims = new Set<string>();
  for (const method of paperOrder(methods)) {
    const variants: boolean[] = [];
    const has = (pca: boolean) =>
      sets.some((c) => methodKey(c.method) === methodKey(method) && c.pca === pca);
    if (mode === "both") variants.push(...[false, true].filter(has));
    else if (mode === "without") {
      if (has(false)) variants.push(false);
    } else if (mode === "with") {
      if (has(true)) variants.push(true);
    } else {
      const row = table?.rows.find((r) => methodKey(r.method) === methodKey(method));
      const plain = row?.cells.avg.reproduced.plain, pca = row?.cells.avg.reproduced.pca;
      const pick = has(true) &&
        (!has(false) || (pca !== undefined && (plain === undefined || pca > plain)));
      variants.push(pick);
    }
    for (const pca of variants) {
      const cands = sets.filter((c) => methodKey(c.method) === methodKey(method) && c.pca === pca);
      const set = preferLambda(cands, options.lambdaDefaults ?? {});
      if (!set) continue;
      let sim = chooseSimilarity(data, { dataset, method, preferred: spec?.similarity });
      if (!sim || !set.curves[sim]) {
        sim = ["cosine", "nc", "inner", "euclidean"].find((s) => set.curves[s]) ??
          Object.keys(set.curves)[0];
      }
      if (!sim) continue;
      const avg = averageDirections(set, sim);
      if (!avg) continue;
      sims.add(sim);
      series.push({
        label: `${methodLabel(method, options.methodNames)}${pca ? "+PCA" : ""}`,
        emphasis: dse.includes(methodKey(method)),
        ...avg,
      });
    }
  }
  if (sims.size) notes.push(`similarity: ${[...sims].join(", ")}`);
  return { series, notes };
}

function lambdaPointsFor(
  data: ReportInputs,
  dataset: string,
  options: BuildOptions,
): LambdaPoint[] {
  let rows = data.metrics.filter((r) => r.dataset === dataset && r.lambda !== undefined);
  const want = options.sweepSimilarity ?? "cosine";
  if (want !== "all" && rows.some((r) => r.similarity === want)) {
    rows = rows.filter((r) => r.similarity === want);
  }
  const seen = new Set<string>();
  const out: LambdaPoint[] = [];
  for (const r of rows) {
    const k = `${methodKey(r.method)}|${r.similarity}|${r.lambda}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({
      method: methodLabel(r.method, options.methodNames),
      similarity: r.similarity,
      lambda: r.lambda!,
      map: r.avg,
    });
  }
  const order = paperOrder([...new Set(out.map((p) => p.method))]);
  return out.sort((a, b) =>
    order.indexOf(a.method) - order.indexOf(b.method) || a.similarity.localeCompare(b.similarity) ||
    a.lambda - b.lambda
  );
}

function stride(n: number, max: number): number[] {
  if (n <= max) return [...Array(n).keys()];
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(Math.floor((i * n) / max));
  return out;
}

async function scatterPointsFor(
  sets: EmbeddingSet[],
  classes: string[] | undefined,
  options: BuildOptions,
): Promise<{ points: ScatterPoint[]; classes: string[]; variants: string[]; notes: string[] }> {
  const points: ScatterPoint[] = [];
  const variants: string[] = [];
  const notes: string[] = [];
  let maxLabel = -1;
  for (const e of sets) {
    const [img, txt, y] = await Promise.all([
      readMatrix(`${e.dir}/img.npy`),
      readMatrix(`${e.dir}/txt.npy`),
      readLabels(`${e.dir}/y.npy`),
    ]);
    if (img.rows !== y.length || txt.rows !== y.length || img.cols !== txt.cols) {
      throw new Error(
        `${e.alias}: img.npy ${img.rows}×${img.cols}, txt.npy ${txt.rows}×${txt.cols} and y.npy (${y.length}) must have the same rows and width`,
      );
    }
    const centers = e.hasCenters ? await readMatrix(`${e.dir}/centers.npy`) : undefined;
    if (centers && centers.cols !== img.cols) {
      throw new Error(`${e.alias}: centers.npy has width ${centers.cols}, embeddings ${img.cols}`);
    }
    const variant = methodLabel(e.method, options.methodNames);
    variants.push(variant);
    for (const l of y) maxLabel = Math.max(maxLabel, l);
    const name = (c: number) => classes?.[c] ?? `class ${c}`;
    const keep = stride(y.length, options.scatterMaxPoints ?? 2000);
    if (keep.length < y.length) notes.push(`${variant}: ${keep.length} of ${y.length} pairs drawn`);
    for (const space of ["raw", "unit-normalised"]) {
      const unit = space !== "raw";
      const im = unit ? unitRows(img) : img, tx = unit ? unitRows(txt) : txt;
      const pca = fitPca2(stackRows([im, tx]));
      const pi = projectPca2(pca, im), pt = projectPca2(pca, tx);
      for (const i of keep) {
        points.push({
          variant,
          space,
          x: pi[2 * i],
          y: pi[2 * i + 1],
          cls: name(y[i]),
          modality: "image",
        });
        points.push({
          variant,
          space,
          x: pt[2 * i],
          y: pt[2 * i + 1],
          cls: name(y[i]),
          modality: "text",
        });
      }
      if (centers) {
        const cm = unit ? unitRows(centers) : centers;
        const pc = projectPca2(pca, cm);
        for (let c = 0; c < cm.rows; c++) {
          points.push({
            variant,
            space,
            x: pc[2 * c],
            y: pc[2 * c + 1],
            cls: name(c),
            modality: "class center",
          });
        }
        maxLabel = Math.max(maxLabel, cm.rows - 1);
      }
      notes.push(
        `${variant}, ${space}: PC 1+2 explain ${(100 * pca.explained).toFixed(1)}% of the variance`,
      );
    }
  }
  const names = classes ?? [...Array(maxLabel + 1).keys()].map((c) => `class ${c}`);
  return { points, classes: names.slice(0, Math.max(maxLabel + 1, 0)), variants, notes };
}

/** What {@link buildReport} wrote. */
export interface BuiltReport {
  /** The model stored in report.json. */
  model: ReportModel;
  /** Figure id → rendered bytes. */
  figures: Record<string, { png?: Uint8Array; svg?: string }>;
}

/**
 * Build the report from `data` into `out` (a function mapping an output name to its path:
 * `report.md`, `report.html`, `report.json`, `figures`).
 */
export async function buildReport(
  data: ReportInputs,
  out: (name: string) => string,
  options: BuildOptions,
): Promise<BuiltReport> {
  const log = options.log ?? (() => {});
  const formats = options.formats ?? ["png", "svg"];
  for (const f of formats) {
    if (f !== "png" && f !== "svg") {
      throw new Error(`report: unknown figure format "${f}"; use png and/or svg`);
    }
  }
  const size = options.figureSize ?? { width: 360, height: 260 };
  const scatterSize = options.scatterSize ?? { width: 250, height: 210 };
  const tableOpts = {
    methodNames: options.methodNames,
    lambdaDefaults: options.lambdaDefaults,
    dseMethods: options.dseMethods,
  };
  const compareOnly = options.compare !== undefined && !options.tables?.length;
  const unseeded = options.compare
    ? {
      ...data,
      metrics: data.metrics.filter((r) => r.seed === undefined),
    }
    : data;
  const tables = compareOnly
    ? []
    : buildResultTables(unseeded, { ...tableOpts, tables: options.tables });
  const similarityTables = compareOnly ? [] : buildSimilarityTables(unseeded, {
    ...tableOpts,
    firstNumber: Math.max(4, tables.length + 1),
  });
  const compare = options.compare
    ? buildCompareTable(data.metrics, {
      spec: options.compare,
      methodNames: options.methodNames,
      recipes: data.recipes?.[0],
    })
    : undefined;
  const claims = buildClaimsTable(data);
  const warnings = [...data.warnings];

  const figDir = out("figures");
  await Deno.mkdir(figDir, { recursive: true });
  const figures: FigureEntry[] = [];
  const bytes: Record<string, { png?: Uint8Array; svg?: string }> = {};
  const skipped: string[] = [];
  async function emit(
    id: string,
    number: string,
    title: string,
    caption: string,
    spec: VlSpec,
  ): Promise<void> {
    const entry: FigureEntry = { id, number, title, caption, files: {} };
    const b: { png?: Uint8Array; svg?: string } = {};
    if (formats.includes("png")) {
      const r = await renderFigure(spec, { scale: options.scale ?? 2 });
      b.png = r.png;
      b.svg = r.svg;
      entry.width = r.width;
      entry.height = r.height;
      await Deno.writeFile(`${figDir}/${id}.png`, r.png);
      entry.files.png = `figures/${id}.png`;
    } else b.svg = await renderSvg(spec);
    if (formats.includes("svg")) {
      await Deno.writeTextFile(`${figDir}/${id}.svg`, b.svg!);
      entry.files.svg = `figures/${id}.svg`;
    }
    await Deno.writeTextFile(`${figDir}/${id}.vl.json`, JSON.stringify(spec));
    figures.push(entry);
    bytes[id] = formats.includes("png") ? { png: b.png } : { svg: b.svg };
    log(`report: ${id} rendered`);
  }

  // The DSE variants keep one colour each across figures.
  const dseLabels = (options.dseMethods ?? ["dse-s", "dse-cs", "dse-ds"]).map((m) =>
    methodLabel(m, options.methodNames)
  );

  if (compare) {
    const points = comparePoints(compare);
    await emit(
      `fig_compare_${safeId(compare.dataset)}`,
      "C",
      `mAP against R@1, ${compare.dataset}`,
      "One point per method: mean over seeds of the average of I→T and T→I; bars ±1 sd over " +
        "seeds (R@1: the larger of the two directions' sd). Deterministic methods have no bars.",
      compareSpec(`Fig. C: mAP against R@1 (${compare.dataset})`, points, { size }),
    );
  }

  // Figs 2–4: one per results table's dataset, in table order.
  const curveDatasets = tables.map((t) => t.dataset);
  for (const d of new Set(data.curves.map((c) => c.dataset))) {
    if (!curveDatasets.includes(d)) curveDatasets.push(d);
  }
  let n = 0;
  for (const dataset of curveDatasets) {
    const table = tables.find((t) => t.dataset === dataset);
    const spec = options.tables?.find((t) => t.dataset === dataset);
    const { series, notes } = curveSeriesFor(data, dataset, table, spec, options);
    if (!series.length) {
      skipped.push(
        `precision-recall / precision-scope for ${dataset}: no curves.json among the inputs`,
      );
      continue;
    }
    const number = n < 3 ? String(2 + n) : `4${suffix(n - 2)}`;
    n++;
    const name = table?.title.replace(/^Table \d+:\s*/, "") ?? dataset;
    await emit(
      `fig${number}_${safeId(dataset)}`,
      number,
      `Precision-recall and precision-scope, ${name}`,
      `Each line is one method; I→T and T→I curves are averaged, as in the paper (${
        notes.join("; ")
      }). ` +
        (options.curvesPca === "both"
          ? "Methods run with PCA appear twice (+PCA)."
          : "Where a method ran with and without PCA, the better (by average mAP) is drawn, marked +PCA."),
      curvesSpec(`Fig. ${number}: ${name}`, series, { size, emphasis: dseLabels }),
    );
  }

  // Fig 5: λ sweeps.
  const sweepDatasets = [
    ...new Set(data.metrics.filter((r) => r.lambda !== undefined).map((r) => r.dataset)),
  ];
  if (!sweepDatasets.length) skipped.push("Fig. 5 (mAP against λ): no metrics rows carry a λ");
  for (const [i, dataset] of sweepDatasets.entries()) {
    const points = lambdaPointsFor(data, dataset, options);
    const number = `5${suffix(i)}`;
    const hasZero = points.some((p) => p.lambda === 0);
    const z = zeroPosition(points.map((p) => p.lambda));
    await emit(
      `fig${number}_${safeId(dataset)}`,
      number,
      `mAP against λ, ${dataset}`,
      `Average of I→T and T→I mAP (${[...new Set(points.map((p) => p.similarity))].join(", ")}). ` +
        (hasZero
          ? `λ = 0 cannot sit on a log axis: it is the square marker at the left, drawn at ${z} ` +
            "(one decade below the smallest positive λ) behind the dashed break, and its tick reads 0."
          : ""),
      lambdaSpec(`Fig. ${number}: mAP against λ (${dataset})`, points, {
        size,
        emphasis: dseLabels,
      }),
    );
  }

  // Fig 6: embeddings of the DSE variants.
  const dse = (options.dseMethods ?? ["dse-s", "dse-cs", "dse-ds"]).map(methodKey);
  const embDatasets = [...new Set(data.embeddings.map((e) => e.dataset))];
  let scatterCount = 0;
  for (const dataset of embDatasets) {
    const all = data.embeddings.filter((e) =>
      e.dataset === dataset && dse.includes(methodKey(e.method))
    );
    const chosen: EmbeddingSet[] = [];
    for (const m of dse) {
      const pick = preferLambda(
        all.filter((e) => methodKey(e.method) === m),
        options.lambdaDefaults ?? {},
      );
      if (pick) chosen.push(pick);
    }
    if (!chosen.length) continue;
    const number = `6${suffix(scatterCount++)}`;
    const s = await scatterPointsFor(chosen, data.classNames[dataset], options);
    await emit(
      `fig${number}_${safeId(dataset)}`,
      number,
      `Test embeddings of the DSE variants, ${dataset} (2-D PCA)`,
      "Colour is the class; circles are images, triangles texts, outlined diamonds the class " +
        "centers. Left: the raw embedding; right: rows scaled to unit length (what cosine sees). " +
        "Each panel has its own PCA, fitted on its images and texts together; centers are projected " +
        `with the same PCA. ${s.notes.join("; ")}.`,
      scatterSpec(`Fig. ${number}: DSE embeddings (${dataset}), 2-D PCA`, s.points, {
        size: scatterSize,
        classes: s.classes,
        variants: s.variants,
        spaces: ["raw", "unit-normalised"],
      }),
    );
  }
  if (!scatterCount) {
    skipped.push("Fig. 6 (embedding scatter): no DSE Embedding object among the inputs");
  }

  const provenance = await collectProvenance(data.objects, options.repoDir);
  const model: ReportModel = {
    title: options.title,
    tables,
    similarityTables,
    compare,
    claims,
    checkOk: data.checkOk,
    checkCounts: data.checkCounts,
    figures,
    skippedFigures: skipped,
    lambdaSweep: sweepDatasets.flatMap((d) => lambdaPointsFor(data, d, options)),
    provenance,
    warnings,
  };
  await Deno.writeTextFile(out("report.json"), JSON.stringify(model, null, 2) + "\n");
  await Deno.writeTextFile(out("report.md"), toMarkdown(model));
  await Deno.writeTextFile(out("report.html"), toHtml(model, bytes));
  return { model, figures: bytes };
}
