/**
 * The curves artifact of an `evaluate` stage, `curves.json` (docs/architecture.md, "Curves"): per
 * similarity and direction (`i2t`, `t2i`) the mAP, the 11-point and the 101-point
 * precision-recall curves and precision at scope N. One writer ({@link writeCurves}) and one
 * reader ({@link readCurves}).
 * @module
 */
import type { DirectionResult, PrCurve, ScopeCurve } from "../retrieval/curves.ts";

/** One direction's curves as stored. Readers accept files that hold only some of them. */
export interface DirectionCurves {
  /** Mean AP over the queries. */
  map?: number;
  /** 11-point interpolated precision-recall. */
  pr11?: PrCurve;
  /** Non-interpolated precision at recall 0:0.01:1. */
  pr?: PrCurve;
  /** Precision at scope N. */
  scope?: ScopeCurve;
}

/** A `curves.json`. */
export interface CurvesFile {
  /** Dataset id. */
  dataset: string;
  /** Method label. */
  method: string;
  /** Whether PCA was applied on the image side. */
  pca: boolean;
  /** similarity → direction (`i2t`, `t2i`) → curves. */
  curves: Record<string, Record<string, DirectionCurves>>;
  /** Fields a writer may add (e.g. a sweep's `lambda`). */
  [key: string]: unknown;
}

/** The stored curves of one direction's evaluation (the per-query APs are left out). */
export function directionCurves(d: DirectionResult): DirectionCurves {
  return { map: d.map, pr11: d.pr11, pr: d.pr, scope: d.scope };
}

/**
 * Write a `curves.json`.
 * @param path the output path (a stage's `ctx.out("curves.json")`)
 * @param file dataset, method, pca and the curves
 */
export async function writeCurves(path: string, file: CurvesFile): Promise<void> {
  const { dataset, method, pca, curves, ...rest } = file;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ dataset, method, pca, curves, ...rest }, null, 2) + "\n",
  );
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Check parsed `curves.json` content: one curve set, a list of them, or `{ curves: [...] }`.
 * @param raw the parsed JSON
 * @param path where it came from, for errors
 * @returns the curve sets
 */
export function parseCurves(raw: unknown, path: string): CurvesFile[] {
  const list = Array.isArray(raw) ? raw : isObj(raw) && Array.isArray(raw.curves) ? raw.curves : [
    raw,
  ];
  return list.map((c: unknown, i: number) => {
    if (!isObj(c) || typeof c.dataset !== "string" || typeof c.method !== "string") {
      throw new Error(`${path} entry ${i}: needs {dataset, method, pca, curves}`);
    }
    const curves = c.curves;
    if (!isObj(curves)) throw new Error(`${path} entry ${i}: "curves" must be an object`);
    const bySim: CurvesFile["curves"] = {};
    for (const [sim, dirs] of Object.entries(curves)) {
      if (!isObj(dirs)) throw new Error(`${path} entry ${i}: curves.${sim} must be an object`);
      bySim[sim] = {};
      for (const [d, v] of Object.entries(dirs)) {
        if (!isObj(v)) throw new Error(`${path} entry ${i}: curves.${sim}.${d} must be an object`);
        bySim[sim][d] = v;
      }
    }
    return { ...c, dataset: c.dataset, method: c.method, pca: c.pca === true, curves: bySim };
  });
}

/**
 * Read a `curves.json` ({@link parseCurves}).
 * @param path the file
 * @returns the curve sets it holds
 */
export async function readCurves(path: string): Promise<CurvesFile[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return parseCurves(raw, path);
}
