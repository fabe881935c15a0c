/**
 * The Feature-set artifact (docs/architecture.md, "Feature set"): `img_train.npy`,
 * `img_test.npy`, `txt_train.npy`, `txt_test.npy` (rows = samples; image rows may be rank-4
 * image tensors), `y_train.npy`, `y_test.npy` (int32 labels; row i of img and txt is pair i) and
 * `dataset.json`. One reader ({@link readFeatureSetArrays}, and {@link readFeatureSet} for 2-D
 * float64 matrices) and one writer ({@link writeFeatureSet}).
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";
import { type NpyArray, readNpy, writeLabels, writeMatrix, writeNpy } from "../tensor_io/npy.ts";

/** The arrays of a Feature set, in the order they are listed. */
export const FEATURE_SET_ARRAYS: readonly string[] = [
  "img_train.npy",
  "img_test.npy",
  "txt_train.npy",
  "txt_test.npy",
  "y_train.npy",
  "y_test.npy",
];

/** Every output of a Feature-set stage (what its kind declares). */
export const FEATURE_SET_OUTPUTS: readonly string[] = [...FEATURE_SET_ARRAYS, "dataset.json"];

/** `dataset.json` of a Feature set: at least `dataset`; `classes` when the writer knows them. */
export interface FeatureSetMeta {
  /** Dataset short name, e.g. `wiki`. */
  dataset: string;
  /** Class names, index = label. */
  classes?: string[];
  /** Anything else the writer records (`n_train`, `n_test`, `source`, `pca`, ...). */
  [key: string]: unknown;
}

/** Train and test parts of one view. */
export interface SplitOf<T> {
  /** Training rows. */
  train: T;
  /** Test rows. */
  test: T;
}

/** A Feature set as stored: arrays of any rank and float type. */
export interface FeatureSetArrays {
  /** Image rows (2-D features, or rank-4 image tensors). */
  img: SplitOf<NpyArray>;
  /** Text rows. */
  txt: SplitOf<NpyArray>;
  /** Train labels (int32, 0-based). */
  yTrain: Int32Array;
  /** Test labels (int32, 0-based). */
  yTest: Int32Array;
  /** The parsed `dataset.json`. */
  meta: FeatureSetMeta;
}

/** A Feature set of 2-D float64 matrices (the baselines' working form). */
export interface FeatureSet {
  /** Image features, train and test. */
  img: SplitOf<Matrix>;
  /** Text features, train and test. */
  txt: SplitOf<Matrix>;
  /** Train labels (int32, 0-based). */
  yTrain: Int32Array;
  /** Test labels (int32, 0-based). */
  yTest: Int32Array;
  /** The parsed `dataset.json`. */
  meta: FeatureSetMeta;
}

function labelsOf(a: NpyArray): Int32Array {
  return a.data instanceof Int32Array ? a.data : Int32Array.from(a.data);
}

/**
 * Read a Feature-set directory as stored, checking that every file is there and that img, txt
 * and labels have the same number of rows in each split (rows are pairs).
 * @param dir the object directory (an input of the reading stage)
 * @returns the arrays, labels and `dataset.json`
 */
export async function readFeatureSetArrays(dir: string): Promise<FeatureSetArrays> {
  const root = dir.replace(/\/$/, "");
  const what = "a Feature set holds img_/txt_/y_ train/test .npy and dataset.json; wire a " +
    "features, raw-features, image-tensors or pca stage as this input";
  for (const f of FEATURE_SET_OUTPUTS) {
    try {
      await Deno.stat(`${root}/${f}`);
    } catch {
      throw new Error(`${root} is not a Feature set: it lacks ${f} (${what})`);
    }
  }
  let parts;
  try {
    parts = await Promise.all([
      ...FEATURE_SET_ARRAYS.map((f) => readNpy(`${root}/${f}`)),
      Deno.readTextFile(`${root}/dataset.json`),
    ]);
  } catch (e) {
    throw new Error(`${root} is not a Feature set: ${(e as Error).message} (${what})`);
  }
  const [it, ie, tt, te, ytr, yte] = parts.slice(0, 6) as NpyArray[];
  const fs: FeatureSetArrays = {
    img: { train: it, test: ie },
    txt: { train: tt, test: te },
    yTrain: labelsOf(ytr),
    yTest: labelsOf(yte),
    meta: JSON.parse(parts[6] as string),
  };
  for (const split of ["train", "test"] as const) {
    const ni = fs.img[split].shape[0], nt = fs.txt[split].shape[0];
    const ny = split === "train" ? fs.yTrain.length : fs.yTest.length;
    if (ni !== nt || ni !== ny) {
      throw new Error(
        `${root}: ${split} rows differ (img ${ni}, txt ${nt}, y ${ny}); rows must be pairs`,
      );
    }
  }
  return fs;
}

/** A stored array as a float64 {@link Matrix} (a 1-D array becomes one column). */
export function npyMatrix(a: NpyArray, where: string): Matrix {
  if (a.shape.length > 2) throw new Error(`${where}: expected a 2-D array, got [${a.shape}]`);
  const rows = a.shape[0];
  const cols = a.shape.length === 2 ? a.shape[1] : 1;
  return { rows, cols, data: a.data instanceof Float64Array ? a.data : Float64Array.from(a.data) };
}

/**
 * Read a Feature set of 2-D features as float64 matrices ({@link readFeatureSetArrays}, and
 * train and test of each view must have the same width).
 * @param dir the object directory
 * @returns the matrices, labels and `dataset.json`
 */
export async function readFeatureSet(dir: string): Promise<FeatureSet> {
  const a = await readFeatureSetArrays(dir);
  const root = dir.replace(/\/$/, "");
  const m = (x: NpyArray, f: string) => npyMatrix(x, `${root}/${f}`);
  const fs: FeatureSet = {
    img: { train: m(a.img.train, "img_train.npy"), test: m(a.img.test, "img_test.npy") },
    txt: { train: m(a.txt.train, "txt_train.npy"), test: m(a.txt.test, "txt_test.npy") },
    yTrain: a.yTrain,
    yTest: a.yTest,
    meta: a.meta,
  };
  if (fs.img.train.cols !== fs.img.test.cols || fs.txt.train.cols !== fs.txt.test.cols) {
    throw new Error(`${root}: train and test feature widths differ`);
  }
  return fs;
}

/** One view as written: a float64 matrix, or raw rows with their shape (e.g. float32 tensors). */
export type ViewRows = Matrix | { data: Float32Array | Float64Array; shape: readonly number[] };

/** Rows and width of a view. */
export function rowsOf(v: ViewRows): { rows: number; cols: number } {
  if ("rows" in v) return { rows: v.rows, cols: v.cols };
  return { rows: v.shape[0], cols: v.shape.slice(1).reduce((a, b) => a * b, 1) };
}

/** Write a view: a matrix as float64 `.npy`, raw rows with their shape and type. */
export function writeRows(path: string, v: ViewRows): Promise<void> {
  return "rows" in v ? writeMatrix(path, v) : writeNpy(path, v.data, v.shape);
}

/**
 * Write a Feature set: the six arrays and `dataset.json`.
 * @param out maps an output name to its path (a stage's `ctx.out`)
 * @param fs the views (float64 matrices, or raw rows such as float32 image tensors), the labels
 *   and `dataset.json`
 */
export async function writeFeatureSet(
  out: (name: string) => string,
  fs: {
    img: SplitOf<ViewRows>;
    txt: SplitOf<ViewRows>;
    yTrain: ArrayLike<number>;
    yTest: ArrayLike<number>;
    meta: FeatureSetMeta;
  },
): Promise<void> {
  const view = writeRows;
  await Promise.all([
    view(out("img_train.npy"), fs.img.train),
    view(out("img_test.npy"), fs.img.test),
    view(out("txt_train.npy"), fs.txt.train),
    view(out("txt_test.npy"), fs.txt.test),
    writeLabels(out("y_train.npy"), fs.yTrain),
    writeLabels(out("y_test.npy"), fs.yTest),
    Deno.writeTextFile(out("dataset.json"), JSON.stringify(fs.meta, null, 2) + "\n"),
  ]);
}
