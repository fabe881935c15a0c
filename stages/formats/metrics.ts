/**
 * The metrics row schema (docs/architecture.md, "Metrics") and reading it back.
 *
 * `metrics.json` = `{ "rows": MetricRow[] }`. This is the stable interface behind
 * `deno task metrics --json` and the input of the `check` stage.
 * @module
 */

/** One evaluated result: a method under one similarity on one dataset. */
export interface MetricRow {
  /** Dataset id, e.g. `wiki`. */
  dataset: string;
  /** Method label, e.g. `cca`, `dse-cs`, `random`. */
  method: string;
  /** Whether PCA was applied on the image side. */
  pca: boolean;
  /** Similarity used to rank, e.g. `cosine`, or `random` for the random expectation. */
  similarity: string;
  /** mAP, image query → text gallery. */
  i2t: number;
  /** mAP, text query → image gallery. */
  t2i: number;
  /** (i2t + t2i) / 2. */
  avg: number;
  /** Name of the stage that produced the row. */
  stage: string;
  /** λ of a sweep point (the evaluate stage's `sweep`); absent outside a sweep. */
  lambda?: number;
  /** Seed of one run among several seeds (the evaluate stage's `sweep`); absent otherwise. */
  seed?: number;
  /** I→T Recall@1 (1:1 pairs; a fraction). Optional: absent in rows without a pairing. */
  i2t_r1?: number;
  /** I→T Recall@5. */
  i2t_r5?: number;
  /** I→T Recall@10. */
  i2t_r10?: number;
  /** I→T median rank (1-based). */
  i2t_medr?: number;
  /** I→T mean rank (1-based). */
  i2t_meanr?: number;
  /** T→I Recall@1. */
  t2i_r1?: number;
  /** T→I Recall@5. */
  t2i_r5?: number;
  /** T→I Recall@10. */
  t2i_r10?: number;
  /** T→I median rank. */
  t2i_medr?: number;
  /** T→I mean rank. */
  t2i_meanr?: number;
}

/** The optional retrieval-by-pair fields of a row, in the order they are written. */
export const RECALL_FIELDS = [
  "i2t_r1",
  "i2t_r5",
  "i2t_r10",
  "i2t_medr",
  "i2t_meanr",
  "t2i_r1",
  "t2i_r5",
  "t2i_r10",
  "t2i_medr",
  "t2i_meanr",
] as const;

/**
 * The sweep fields of a row, in the order they are written: which point of a sweep (λ) or which of
 * several seeds the row is. Part of the row's identity: a row without them is the method's one
 * run, not a sweep point.
 */
export const SWEEP_FIELDS = ["lambda", "seed"] as const;

/** The sweep values of a row (`lambda`, `seed`). */
export type SweepValues = { [F in typeof SWEEP_FIELDS[number]]?: number };

/** One direction's R@K and ranks, as `stages/retrieval/recall.ts` computes them. */
export interface DirectionRecall {
  /** Recall@1. */
  r1: number;
  /** Recall@5. */
  r5: number;
  /** Recall@10. */
  r10: number;
  /** Median rank. */
  medr: number;
  /** Mean rank. */
  meanr: number;
}

/** The contents of a `metrics.json`. */
export interface MetricsFile {
  /** The rows, in a stable order. */
  rows: MetricRow[];
}

/**
 * Check that `value` is a {@link MetricRow}; throws naming the field and the file.
 * @param value parsed JSON
 * @param where file (and index) for the error message
 */
export function validateRow(value: unknown, where: string): MetricRow {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where}: a metrics row must be an object, got ${JSON.stringify(value)}`);
  }
  const v = value as Record<string, unknown>;
  for (const f of ["dataset", "method", "similarity", "stage"]) {
    if (typeof v[f] !== "string") {
      throw new Error(`${where}: field "${f}" must be a string, got ${JSON.stringify(v[f])}`);
    }
  }
  if (typeof v.pca !== "boolean") {
    throw new Error(`${where}: field "pca" must be true or false, got ${JSON.stringify(v.pca)}`);
  }
  for (const f of ["i2t", "t2i", "avg"]) {
    if (typeof v[f] !== "number" || !Number.isFinite(v[f])) {
      throw new Error(
        `${where}: field "${f}" must be a finite number, got ${JSON.stringify(v[f])}`,
      );
    }
  }
  const row: MetricRow = {
    dataset: v.dataset as string,
    method: v.method as string,
    pca: v.pca as boolean,
    similarity: v.similarity as string,
    i2t: v.i2t as number,
    t2i: v.t2i as number,
    avg: v.avg as number,
    stage: v.stage as string,
  };
  for (const f of [...SWEEP_FIELDS, ...RECALL_FIELDS]) {
    if (v[f] === undefined) continue;
    if (typeof v[f] !== "number" || !Number.isFinite(v[f])) {
      throw new Error(
        `${where}: optional field "${f}" must be a finite number, got ${JSON.stringify(v[f])}`,
      );
    }
    row[f] = v[f] as number;
  }
  return row;
}

/**
 * Build a row, computing `avg` from the two directions.
 * @param options `recall`: both directions' R@K and ranks (1:1 pairs), written as `i2t_r1` …;
 * `sweep`: the row's sweep values (`lambda`, `seed`)
 */
export function metricRow(
  id: { dataset: string; method: string; pca: boolean; similarity: string; stage: string },
  map: { i2t: number; t2i: number },
  options: { recall?: { i2t: DirectionRecall; t2i: DirectionRecall }; sweep?: SweepValues } = {},
): MetricRow {
  const row: MetricRow = {
    dataset: id.dataset,
    method: id.method,
    pca: id.pca,
    similarity: id.similarity,
    i2t: map.i2t,
    t2i: map.t2i,
    avg: (map.i2t + map.t2i) / 2,
    stage: id.stage,
  };
  for (const f of SWEEP_FIELDS) if (options.sweep?.[f] !== undefined) row[f] = options.sweep[f];
  const r = options.recall;
  if (r) {
    for (const dir of ["i2t", "t2i"] as const) {
      for (const k of ["r1", "r5", "r10", "medr", "meanr"] as const) row[`${dir}_${k}`] = r[dir][k];
    }
  }
  return row;
}

/** Write `{ rows }` as pretty JSON. */
export async function writeMetrics(path: string, rows: readonly MetricRow[]): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify({ rows }, null, 2) + "\n");
}

/**
 * Read the rows of one `metrics.json`.
 * @param path the file, or a directory (a stage object) that holds `metrics.json`
 */
export async function readMetrics(path: string): Promise<MetricRow[]> {
  const file = await metricsPath(path);
  if (!file) {
    throw new Error(
      `${path}: no metrics.json here; point at an \`evaluate\` (or \`random\`) stage's object`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const rows = (parsed as { rows?: unknown })?.rows;
  if (!Array.isArray(rows)) throw new Error(`${file}: expected { "rows": [...] }`);
  return rows.map((r, i) => validateRow(r, `${file} rows[${i}]`));
}

async function metricsPath(path: string): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return undefined;
  }
  if (info.isFile) return path;
  try {
    const f = `${path.replace(/\/+$/, "")}/metrics.json`;
    if ((await Deno.stat(f)).isFile) return f;
  } catch {
    // absent
  }
  return undefined;
}

/**
 * Collect the rows of every `metrics.json` in `dirs`, in the order given (rows keep their file
 * order). Each entry is a stage object directory or a `metrics.json` path.
 * @param options `skipMissing`: ignore entries without a metrics.json instead of throwing
 */
export async function collectRows(
  dirs: string[],
  options: { skipMissing?: boolean } = {},
): Promise<MetricRow[]> {
  const out: MetricRow[] = [];
  for (const d of dirs) {
    if (options.skipMissing && !(await metricsPath(d))) continue;
    out.push(...await readMetrics(d));
  }
  return out;
}
