/**
 * Vega-Lite specs for the report's figures (pure functions: data in, spec out).
 * - Figs 2–4: precision-recall (11-point) and precision-scope per dataset, I→T and T→I averaged.
 * - Fig 5: mAP against λ on a log axis. λ = 0 cannot sit on a log axis, so it is drawn one decade
 *   left of the smallest positive λ, as a separate square marker, behind a dashed axis break, and
 *   that tick is labelled "0".
 * - Fig 6: 2-D PCA scatter of the test embeddings per DSE variant, raw and unit-normalised.
 * @module
 */

/** A Vega-Lite spec (top-level JSON). */
export type VlSpec = Record<string, unknown>;

/** Panel size in pixels (the `figure_size` param). */
export interface FigureSize {
  /** Panel width. */
  width: number;
  /** Panel height. */
  height: number;
}

/** Palette of the baselines (no red, violet or black: those mark the paper's own methods). */
export const METHOD_PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#76b7b2",
  "#edc948",
  "#9c755f",
  "#ff9da7",
  "#bab0ac",
  "#1f3a93",
  "#8cd17d",
  "#b6992d",
  "#499894",
];

/** Colours of the emphasised series (the DSE variants), in order. */
export const EMPHASIS_PALETTE = [
  "#d62728",
  "#9400d3",
  "#000000",
  "#e377c2",
  "#008b8b",
  "#b8860b",
];

const FONT = "DejaVu Sans, Verdana, Arial, sans-serif";

/** Shared config: white background, one font, readable sizes. */
export function baseConfig(): Record<string, unknown> {
  return {
    font: FONT,
    background: "white",
    view: { stroke: "#888" },
    axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: "#e6e6e6" },
    legend: { labelFontSize: 11, titleFontSize: 12, symbolSize: 120, labelLimit: 320 },
    title: { fontSize: 15, anchor: "start", offset: 10 },
    header: { labelFontSize: 12, titleFontSize: 13 },
  };
}

/** One method's averaged curves for Figs 2–4. */
export interface CurveSeries {
  /** Legend label, e.g. `DSE-CS` or `CCA+PCA`. */
  label: string;
  /** Whether to draw it heavier (the paper's own methods). */
  emphasis?: boolean;
  /** Averaged 11-point PR curve. */
  pr?: { recall: number[]; precision: number[] };
  /** Averaged precision at N. */
  scope?: { n: number[]; precision: number[] };
}

/** Legend domain and matching colours; emphasised series get their own, random is grey. */
function colourScale(
  labels: string[],
  emphasised: string[] = [],
): { domain: string[]; range: string[] } {
  let k = 0;
  const range = labels.map((l) => {
    const e = emphasised.indexOf(l);
    if (e >= 0) return EMPHASIS_PALETTE[e % EMPHASIS_PALETTE.length];
    return /^random\b/i.test(l) ? "#8c8c8c" : METHOD_PALETTE[k++ % METHOD_PALETTE.length];
  });
  return { domain: labels, range };
}

/**
 * Figs 2–4: PR and precision-scope side by side for one dataset, one line per method.
 * @param title figure title
 * @param series one entry per method (already averaged over I→T and T→I)
 */
export function curvesSpec(
  title: string,
  series: CurveSeries[],
  options: { size: FigureSize; emphasis?: string[] },
): VlSpec {
  const pr: Record<string, unknown>[] = [];
  const scope: Record<string, unknown>[] = [];
  for (const s of series) {
    const w = s.emphasis ? 3 : 1.6;
    // Solid for the paper's methods, dashed for baselines, dotted for the random ranking.
    const dash = s.emphasis ? [1, 0] : /^random\b/i.test(s.label) ? [2, 3] : [6, 3];
    // Baselines recede (faint), so the paper's methods stand out where many lines overlap.
    const o = s.emphasis ? 1 : 0.5;
    s.pr?.recall.forEach((r, i) =>
      pr.push({ method: s.label, recall: r, precision: s.pr!.precision[i], w, dash, o })
    );
    s.scope?.n.forEach((n, i) =>
      scope.push({ method: s.label, n, precision: s.scope!.precision[i], w, dash, o })
    );
  }
  const labels = series.map((s) => s.label);
  const color = {
    field: "method",
    type: "nominal",
    title: "Method",
    scale: colourScale(
      labels,
      options.emphasis ?? series.filter((s) => s.emphasis).map((s) => s.label),
    ),
    sort: labels,
  };
  const panel = (
    values: Record<string, unknown>[],
    x: string,
    xTitle: string,
    sub: string,
    xScale: Record<string, unknown>,
  ) => {
    // Markers only where a series has few points (a dense P@N grid reads better as a line).
    const perSeries = values.length / Math.max(1, series.length);
    const top = Math.max(0.1, ...values.map((v) => Number(v.precision) || 0));
    return {
      title: { text: sub, fontSize: 13 },
      width: options.size.width,
      height: options.size.height,
      data: { values },
      mark: perSeries <= 15
        ? { type: "line", point: { size: 28, filled: true }, clip: true }
        : { type: "line", clip: true },
      encoding: {
        x: { field: x, type: "quantitative", title: xTitle, scale: xScale },
        y: {
          field: "precision",
          type: "quantitative",
          title: "Precision",
          // From 0 to a little above the highest precision, so close curves stay apart.
          scale: { domain: [0, Math.min(1, Math.ceil(top * 10 + 0.5) / 10)], nice: false },
        },
        color,
        strokeWidth: { field: "w", type: "quantitative", scale: null, legend: null },
        strokeDash: { field: "dash", type: "nominal", scale: null, legend: null },
        strokeOpacity: { field: "o", type: "quantitative", scale: null, legend: null },
        order: { field: x, type: "quantitative" },
      },
    };
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: baseConfig(),
    hconcat: [
      panel(pr, "recall", "Recall", "Precision–recall (11-point)", { domain: [0, 1], nice: false }),
      panel(scope, "n", "Scope N (top-N retrieved)", "Precision at scope", { zero: true }),
    ],
    resolve: { scale: { color: "shared" } },
  };
}

/** One point of the λ sweep. */
export interface LambdaPoint {
  /** Method label, e.g. DSE-CS. */
  method: string;
  /** Similarity. */
  similarity: string;
  /** λ (may be 0). */
  lambda: number;
  /** mAP (average of both directions). */
  map: number;
}

/** Where λ = 0 is drawn on the log axis: one decade left of the smallest positive λ. */
export function zeroPosition(lambdas: number[]): number {
  const pos = lambdas.filter((l) => l > 0);
  const min = pos.length ? Math.min(...pos) : 1e-4;
  return 10 ** (Math.floor(Math.log10(min)) - 1);
}

/**
 * Fig 5: mAP against λ, log x axis; λ = 0 as a separate square marker at {@link zeroPosition}.
 */
export function lambdaSpec(
  title: string,
  points: LambdaPoint[],
  options: { size: FigureSize; emphasis?: string[] },
): VlSpec {
  const z = zeroPosition(points.map((p) => p.lambda));
  const hasZero = points.some((p) => p.lambda === 0);
  const pos = points.filter((p) => p.lambda > 0).map((p) => p.lambda);
  const maxL = pos.length ? Math.max(...pos) : 1;
  const lo = hasZero ? z : 10 ** Math.floor(Math.log10(Math.min(...pos)));
  const hi = 10 ** Math.ceil(Math.log10(maxL) - 1e-9);
  const ticks: number[] = [];
  for (let e = Math.round(Math.log10(lo)); e <= Math.round(Math.log10(hi)); e++) {
    ticks.push(10 ** e);
  }
  const manySims = new Set(points.map((p) => p.similarity)).size > 1;
  const values = points.map((p) => ({
    ...p,
    x: p.lambda === 0 ? z : p.lambda,
    zero: p.lambda === 0,
    series: manySims ? `${p.method} (${p.similarity})` : p.method,
  }));
  const series = [...new Set(values.map((v) => v.series))];
  const color = {
    field: "series",
    type: "nominal",
    title: "Method",
    scale: colourScale(series, options.emphasis),
  };
  const x = {
    field: "x",
    type: "quantitative",
    title: "λ (log scale; the left tick is λ = 0)",
    scale: { type: "log", domain: [lo / 1.6, hi * 1.6], nice: false },
    axis: {
      values: ticks,
      labelExpr: (hasZero ? `datum.value < ${z * 1.5} ? '0' : ` : "") +
        "datum.value >= 0.01 ? format(datum.value, '~g') : format(datum.value, '.0e')",
    },
  };
  const ys = points.map((p) => p.map);
  const yLo = Math.max(0, Math.floor((Math.min(...ys) - 0.02) * 20) / 20);
  const yHi = Math.min(1, Math.ceil((Math.max(...ys) + 0.02) * 20) / 20);
  const y = {
    field: "map",
    type: "quantitative",
    title: "mAP (average of I→T and T→I)",
    scale: { domain: [yLo, yHi] },
  };
  const layers: Record<string, unknown>[] = [
    {
      transform: [{ filter: "!datum.zero" }],
      mark: { type: "line", point: { size: 60, filled: true }, strokeWidth: 2.5 },
      encoding: { x, y, color, order: { field: "x", type: "quantitative" } },
    },
  ];
  if (hasZero) {
    layers.push({
      transform: [{ filter: "datum.zero" }],
      mark: { type: "point", shape: "square", size: 110, filled: true, opacity: 1 },
      encoding: { x, y, color },
    });
    // The axis break between λ = 0 and the positive decades.
    layers.push({
      data: { values: [{ x: Math.sqrt(z * (z * 10)) }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "#777" },
      encoding: { x: { field: "x", type: "quantitative" } },
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: baseConfig(),
    width: options.size.width,
    height: options.size.height,
    data: { values },
    layer: layers,
  };
}

/** One point of Fig 6. */
export interface ScatterPoint {
  /** Panel row: the DSE variant label. */
  variant: string;
  /** Panel column: `raw` or `unit-normalised`. */
  space: string;
  /** PC 1. */
  x: number;
  /** PC 2. */
  y: number;
  /** Class name. */
  cls: string;
  /** `image`, `text` or `class center`. */
  modality: string;
}

/**
 * Fig 6: facets rows = variant, columns = space; colour = class, shape = modality, centers as
 * large outlined diamonds. Each panel has its own axes (the spaces differ in scale).
 */
export function scatterSpec(
  title: string,
  points: ScatterPoint[],
  options: { size: FigureSize; classes: string[]; variants: string[]; spaces: string[] },
): VlSpec {
  const palette = options.classes.length <= 10 ? "tableau10" : "tableau20";
  const color = {
    field: "cls",
    type: "nominal",
    title: "Class",
    scale: { scheme: palette, domain: options.classes },
  };
  const shape = {
    field: "modality",
    type: "nominal",
    title: "Marker",
    scale: {
      domain: ["image", "text", "class center"],
      range: ["circle", "triangle-up", "diamond"],
    },
  };
  const xy = {
    x: { field: "x", type: "quantitative", title: "PC 1", scale: { zero: false } },
    y: { field: "y", type: "quantitative", title: "PC 2", scale: { zero: false } },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: baseConfig(),
    data: { values: points },
    facet: {
      row: { field: "variant", type: "nominal", title: null, sort: options.variants },
      column: { field: "space", type: "nominal", title: null, sort: options.spaces },
    },
    spec: {
      width: options.size.width,
      height: options.size.height,
      layer: [
        {
          transform: [{ filter: "datum.modality !== 'class center'" }],
          mark: { type: "point", filled: true, size: 22, opacity: 0.55 },
          encoding: { ...xy, color, shape },
        },
        {
          transform: [{ filter: "datum.modality === 'class center'" }],
          mark: {
            type: "point",
            filled: true,
            size: 260,
            opacity: 1,
            stroke: "black",
            strokeWidth: 1.5,
          },
          encoding: { ...xy, color, shape },
        },
      ],
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
}
