/**
 * The `features` stage kind: loads a dataset's precomputed image and text features and its labels
 * from MAT v5, MAT v7.3, `.npy` or CSV files, validates them, and writes the Feature-set artifact
 * (`img_train.npy`, `img_test.npy`, `txt_train.npy`, `txt_test.npy`, `y_train.npy`, `y_test.npy`,
 * `dataset.json`; see docs/architecture.md).
 *
 * ## Params
 * Generated reference: docs/kinds.md (`deno task kinds features`). In short:
 * - `dataset`: the dataset's short name (e.g. `wiki`).
 * - `format`: `auto` (by extension: `.mat` sniffed v5/v7.3, `.npy`, `.npz`, `.csv`/`.tsv`/`.txt`),
 *   `mat`, `mat73`, `npy`, `npz` or `csv`: the default for matrix references.
 * - `source`: the default file for matrix variables (e.g. `raw_features.mat`), or "".
 * - `img_train`, `img_test`, `txt_train`, `txt_test`: a matrix reference, either
 *   `{ file?, var?, format?, transpose? }` or a string: `file#var`; a bare variable name when
 *   `source` is set; a file path (`.npy`, `.csv`) otherwise. In MAT files `var` is a path
 *   (`data.I_tr`, `D(2).x`, `c{1}`; see `matPath`).
 * - `labels_train`, `labels_test`: a label reference: `{ file, column?, base? }` for a text list
 *   (columns split on tabs, else commas, else spaces; `column` is 1-based, default 1), or
 *   `{ file?, var?, base?, transpose?, multiLabel? }` for a vector or an n×c one-hot matrix.
 *   `base` (default 0) is subtracted from vectors, so `base: 1` turns 1-based category ids into
 *   the 0-based labels the artifacts use.
 * - `img`, `txt`, `labels` and `split` instead: all samples in one matrix each, and
 *   `{ train, test?, base?, as? }` naming the split as a 0/1 mask or row-index lists.
 * - `classes`: class names: a list, a file with one name per line (`{ file }` or a string), or
 *   null for `"0"`..`"c-1"` (c = largest label + 1).
 *
 * ## Paths
 * A relative file is looked up in the input `raw` (a download stage's object or its `files/`
 * output); without a `raw` input, relative to the working directory. Absolute and `~/` paths are
 * the user's own files. Each file read is hashed (sha256) into `dataset.json` and the provenance.
 * Files outside `raw` are named by the kind's `files()` hook ({@link featureFiles}), so the engine
 * puts their contents into the cache key: editing a user's label file in place makes the stage
 * stale.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import { readCsv } from "../tensor_io/csv.ts";
import { readMat } from "../tensor_io/mat.ts";
import { matPath, matToMatrix, type MatVariable } from "../tensor_io/mat_v5.ts";
import { type NpyArray, readNpy, writeLabels, writeMatrix } from "../tensor_io/npy.ts";
import type { Matrix } from "../linalg/matrix.ts";
import { decodeNpzArray } from "../tensor_io/npz.ts";
import { sha256File } from "../util/fs.ts";
import { FEATURE_SET_OUTPUTS } from "../formats/feature_set.ts";

/** File formats a reference may name. */
export type FeatureFormat = "auto" | "mat" | "mat73" | "npy" | "npz" | "csv";

/** Where one matrix comes from. */
export interface MatrixRef {
  /** File path (relative to the `raw` input, or absolute). Default: the `source` param. */
  file?: string;
  /**
   * Variable inside a MAT or `.npz` file; in MAT files a path: `data.I_tr` (struct fields, nested
   * to any depth; `/` works too), `D(2).x` (an element of a struct array), `c{1}` (a cell).
   */
  var?: string;
  /** Format, overriding the stage's `format`. */
  format?: FeatureFormat;
  /** The file stores features × samples (d×n): transpose it to samples × features. */
  transpose?: boolean;
}

/** Where one label vector comes from. */
export interface LabelRef {
  /** File path: a text list, `.npy` or `.mat`. Default: the `source` param. */
  file?: string;
  /** Variable name inside a MAT file. */
  var?: string;
  /** Text lists: the 1-based column holding the label (default 1). */
  column?: number;
  /** Subtracted from every label (1 for 1-based category ids). Default 0. */
  base?: number;
  /** Format; `list` is a text table. Default: by extension. */
  format?: FeatureFormat | "list";
  /** The matrix is classes × samples (a c×n one-hot): transpose it first. */
  transpose?: boolean;
  /**
   * One-hot / multi-hot matrices: what to do with a row naming several classes. `refuse`
   * (default) stops with their count; `first` keeps each such row's lowest class index.
   */
  multiLabel?: "refuse" | "first";
}

/** A split of one matrix into train and test: index lists or a 0/1 mask. */
export interface SplitRef {
  /** Training samples: a 0/1 mask over all rows, or a list of row indices. */
  train: LabelRef | string;
  /** Test samples, in the same form; default: every row not in `train`. */
  test?: LabelRef | string;
  /** Index lists: subtracted from each index (1 for MATLAB's 1-based indices). Default 0. */
  base?: number;
  /** `mask`, `indices`, or `auto` (a 0/1 vector as long as the data is a mask). Default auto. */
  as?: "auto" | "mask" | "indices";
}

/** Params of the `features` kind. */
export type FeaturesParams = ParamsOf<typeof FEATURES_PARAMS>;

const FORMATS = ["auto", "mat", "mat73", "npy", "npz", "csv"] as const;
const MATRICES = ["img_train", "img_test", "txt_train", "txt_test"] as const;

function extFormat(file: string): "mat" | "mat73" | "npy" | "npz" | "csv" | "list" | null {
  const ext = /\.([A-Za-z0-9]+)$/.exec(file)?.[1]?.toLowerCase();
  if (ext === "mat") return "mat";
  if (ext === "h5" || ext === "hdf5") return "mat73";
  if (ext === "npy") return "npy";
  if (ext === "npz") return "npz";
  if (ext === "csv" || ext === "tsv") return "csv";
  if (ext === "list" || ext === "txt" || ext === "lst") return "list";
  return null;
}

/** Resolve a matrix reference (see the module doc for the string forms). */
export function parseMatrixRef(
  ref: unknown,
  options: { source: string; param: string },
): MatrixRef {
  const at = `features: ${options.param}`;
  if (typeof ref === "string") {
    if (ref.includes("#")) {
      const i = ref.lastIndexOf("#");
      return { file: ref.slice(0, i) || options.source || undefined, var: ref.slice(i + 1) };
    }
    return options.source ? { file: options.source, var: ref } : { file: ref };
  }
  if (typeof ref !== "object" || ref === null || Array.isArray(ref)) {
    throw new Error(
      `${at} must be a string ('file#var', a variable of 'source', or a file) ` +
        `or {file?, var?, format?}`,
    );
  }
  const r = ref as MatrixRef;
  const file = r.file ?? (options.source || undefined);
  if (!file) throw new Error(`${at}: no file given and no 'source' param`);
  if (r.format !== undefined && !FORMATS.includes(r.format)) {
    throw new Error(`${at}.format '${r.format}' must be one of ${FORMATS.join(", ")}`);
  }
  return { ...r, file };
}

/** Parse integer labels from a text table column (1-based). */
export function parseLabelList(
  text: string,
  options: { column: number; source: string },
): number[] {
  const out: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const fields = line.includes("\t")
      ? line.split("\t")
      : line.includes(",")
      ? line.split(",")
      : line.trim().split(/\s+/);
    const f = fields[options.column - 1]?.trim();
    if (f === undefined) {
      throw new Error(
        `${options.source}: line ${i + 1} has ${fields.length} columns, ` +
          `no column ${options.column}; set 'column' to the label column (1-based)`,
      );
    }
    if (!/^[+-]?\d+$/.test(f)) {
      throw new Error(
        `${options.source}: line ${i + 1}, column ${options.column} is '${f}', not an integer ` +
          `label; set 'column' to the label column (1-based)`,
      );
    }
    out.push(Number(f));
  });
  return out;
}

interface Loader {
  resolve(file: string): Promise<string>;
  mat(path: string, format: "mat" | "mat73" | undefined): Promise<Map<string, MatVariable>>;
  npz(path: string): Promise<Uint8Array>;
  hashes: Record<string, string>;
}

function makeLoader(ctx: StageContext): Loader {
  const raw = ctx.inputs.raw;
  const mats = new Map<string, Promise<Map<string, MatVariable>>>();
  const npzs = new Map<string, Promise<Uint8Array>>();
  const hashes: Record<string, string> = {};
  const isFile = async (p: string) => (await Deno.stat(p).catch(() => null))?.isFile === true;
  return {
    hashes,
    async resolve(file) {
      let path: string;
      if (file.startsWith("/")) path = file;
      else if (file.startsWith("~/")) path = `${Deno.env.get("HOME") ?? ""}/${file.slice(2)}`;
      else if (raw) {
        path = `${raw}/${file}`;
        if (!(await isFile(path)) && (await isFile(`${raw}/files/${file}`))) {
          path = `${raw}/files/${file}`;
        }
      } else path = `${Deno.cwd()}/${file}`;
      if (!(await isFile(path))) {
        const base = raw ? `input 'raw' (${raw})` : `the working directory (no 'raw' input)`;
        throw new Error(`features: file '${file}' not found (looked in ${base}: ${path})`);
      }
      if (!(path in hashes)) hashes[path] = (await sha256File(path)).sha256;
      return path;
    },
    npz(path) {
      let p = npzs.get(path);
      if (!p) {
        p = Deno.readFile(path);
        npzs.set(path, p);
      }
      return p;
    },
    mat(path, format) {
      let p = mats.get(path);
      if (!p) {
        p = readMat(path, { format });
        mats.set(path, p);
      }
      return p;
    },
  };
}

/** A loaded table and where it came from (`file#var`, for messages). */
interface Table {
  m: Matrix;
  where: string;
}

/** The transpose of a matrix. */
export function transposeMatrix(m: Matrix): Matrix {
  const data = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) data[j * m.rows + i] = m.data[i * m.cols + j];
  }
  return { rows: m.cols, cols: m.rows, data };
}

function npyMatrix(a: NpyArray, where: string): Matrix {
  if (a.shape.length > 2) throw new Error(`${where}: expected a 2-D array, got [${a.shape}]`);
  const rows = a.shape.length === 0 ? 1 : a.shape[0];
  const cols = a.shape.length === 2 ? a.shape[1] : 1;
  const data = a.data instanceof Float64Array
    ? a.data
    : Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
  return { rows, cols, data };
}

/** Loads any 2-D table a reference names (MAT by path, npz by name, npy, CSV), transposed if asked. */
async function loadTable(
  loader: Loader,
  ref: MatrixRef,
  options: { format: FeatureFormat; param: string },
): Promise<Table> {
  const at = `features: ${options.param}`;
  const path = await loader.resolve(ref.file!);
  let format = ref.format ?? options.format;
  if (format === "auto") {
    const ext = extFormat(path);
    if (ext === "list") format = "csv";
    else if (ext === null) {
      throw new Error(
        `${at}: cannot tell the format of '${ref.file}' from its extension; set ` +
          `'format' to one of ${FORMATS.slice(1).join(", ")}`,
      );
    } else format = ext;
  }
  const where = `${ref.file}${ref.var ? `#${ref.var}` : ""}`;
  let m: Matrix;
  if (format === "mat" || format === "mat73") {
    if (!ref.var) {
      throw new Error(
        `${at}: '${ref.file}' is a MAT file; name the variable ('var'), e.g. ` +
          `'X' or a struct field path 'data.X'`,
      );
    }
    const vars = await loader.mat(path, format === "mat73" ? "mat73" : undefined);
    m = matToMatrix(matPath(vars, ref.var, { source: path }), { source: path });
  } else if (format === "npz") {
    if (!ref.var) throw new Error(`${at}: '${ref.file}' is an .npz file; name the array ('var')`);
    m = npyMatrix(decodeNpzArray(await loader.npz(path), ref.var, { source: path }), where);
  } else if (format === "npy") m = npyMatrix(await readNpy(path), where);
  else m = (await readCsv(path)).matrix;
  return { m: ref.transpose ? transposeMatrix(m) : m, where };
}

async function loadMatrix(
  loader: Loader,
  ref: MatrixRef,
  options: { format: FeatureFormat; param: string },
): Promise<Matrix> {
  if (ref.transpose !== undefined && typeof ref.transpose !== "boolean") {
    throw new Error(`features: ${options.param}.transpose must be true or false`);
  }
  return (await loadTable(loader, ref, options)).m;
}

/** Labels and, for messages, the shape of the table they came from. */
export interface LoadedLabels {
  /** 0-based labels. */
  y: Int32Array;
  /** `file#var` and, for a matrix, `(a r×c one-hot matrix)`. */
  where: string;
  /** The source matrix's shape when labels came from a one-hot / multi-hot matrix. */
  matrix?: [number, number];
}

/**
 * Labels from a one-hot or multi-hot n×c matrix: each row's class is the column holding its
 * nonzero entry. A row with none is refused; rows with several are refused with their count
 * unless `multiLabel` is `first` (the lowest such column).
 */
export function labelsFromIndicator(
  m: Matrix,
  options: { multiLabel?: "refuse" | "first"; where: string },
): Int32Array {
  const y = new Int32Array(m.rows);
  let multi = 0, firstMulti = -1;
  for (let i = 0; i < m.rows; i++) {
    let cls = -1, hits = 0;
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[i * m.cols + j];
      if (!Number.isFinite(v) || v < 0) {
        throw new Error(
          `${options.where}: row ${i + 1}, column ${j + 1} is ${v}; a one-hot label matrix ` +
            `holds 0 and 1 (or nonnegative scores)`,
        );
      }
      if (v > 0) {
        if (cls < 0) cls = j;
        hits++;
      }
    }
    if (hits === 0) {
      throw new Error(
        `${options.where}: row ${i + 1} of the ${m.rows}×${m.cols} one-hot label matrix has no ` +
          `class (all zeros); if the matrix is classes × samples, set 'transpose: true'`,
      );
    }
    if (hits > 1) {
      multi++;
      if (firstMulti < 0) firstMulti = i;
    }
    y[i] = cls;
  }
  if (multi > 0 && m.cols > m.rows) {
    let oneHotCols = true;
    for (let j = 0; j < m.cols && oneHotCols; j++) {
      let hits = 0;
      for (let i = 0; i < m.rows; i++) if (m.data[i * m.cols + j] > 0) hits++;
      oneHotCols = hits === 1;
    }
    if (oneHotCols) {
      throw new Error(
        `${options.where}: the ${m.rows}×${m.cols} label matrix is one-hot by column: it looks ` +
          `classes × samples; set 'transpose: true' on these labels`,
      );
    }
  }
  if (multi > 0 && options.multiLabel !== "first") {
    const r = firstMulti;
    const cols: number[] = [];
    for (let j = 0; j < m.cols; j++) if (m.data[r * m.cols + j] > 0) cols.push(j);
    throw new Error(
      `${options.where}: ${multi} of ${m.rows} rows of the ${m.rows}×${m.cols} label matrix name ` +
        `several classes (first: row ${r + 1}, classes ${cols.slice(0, 10).join(", ")}${
          cols.length > 10 ? ", …" : ""
        }, 0-based); ` +
        `retrieval here needs one class per sample: set 'multiLabel: first' to keep each such ` +
        `row's lowest class, or give single-label labels`,
    );
  }
  return y;
}

async function loadLabels(
  loader: Loader,
  refIn: LabelRef | string,
  options: { source: string; param: string; format: FeatureFormat; noBase?: boolean },
): Promise<LoadedLabels> {
  const at = `features: ${options.param}`;
  const ref: LabelRef = typeof refIn === "string"
    ? (refIn.includes("#")
      ? {
        file: refIn.slice(0, refIn.lastIndexOf("#")) || options.source,
        var: refIn.slice(refIn.lastIndexOf("#") + 1),
      }
      : options.source && extFormat(refIn) === null
      ? { file: options.source, var: refIn }
      : { file: refIn })
    : refIn;
  if (typeof ref !== "object" || ref === null || Array.isArray(ref)) {
    throw new Error(`${at} must be {file, column?, base?} or {file?, var, base?}`);
  }
  if (ref.multiLabel !== undefined && !["refuse", "first"].includes(ref.multiLabel)) {
    throw new Error(`${at}.multiLabel must be 'refuse' or 'first', got '${ref.multiLabel}'`);
  }
  const file = ref.file || (ref.var ? options.source : "");
  if (!file) throw new Error(`${at}: give 'file' (and 'var' for a MAT file)`);
  const path = await loader.resolve(file);
  const format = ref.format && ref.format !== "auto"
    ? ref.format
    : extFormat(path) ?? (options.format !== "auto" ? options.format : "list");
  let values: ArrayLike<number>;
  let where = `${file}${ref.var ? `#${ref.var}` : ""}`;
  let matrix: [number, number] | undefined;
  if (format === "list") {
    const column = ref.column ?? 1;
    if (!Number.isInteger(column) || column < 1) {
      throw new Error(`${at}.column must be a 1-based column index, got ${column}`);
    }
    values = parseLabelList(await Deno.readTextFile(path), { column, source: path });
  } else {
    if ((format === "mat" || format === "mat73") && !ref.var) {
      throw new Error(`${at}: '${file}' is a MAT file; name the label variable ('var')`);
    }
    const t = await loadTable(loader, { file, var: ref.var, format, transpose: ref.transpose }, {
      format: options.format,
      param: options.param,
    });
    where = t.where;
    if (t.m.rows === 1 || t.m.cols === 1) values = t.m.data;
    else {
      matrix = [t.m.rows, t.m.cols];
      const y = labelsFromIndicator(t.m, {
        multiLabel: ref.multiLabel,
        where: `${at}: ${where}`,
      });
      return { y, where: `${where}, a ${t.m.rows}×${t.m.cols} one-hot matrix`, matrix };
    }
  }
  const base = options.noBase ? 0 : ref.base ?? 0;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) throw new Error(`${at}: label ${i} is ${v}, not an integer`);
    out[i] = v - base;
  }
  return { y: out, where };
}

/**
 * Row indices of a split part: a 0/1 mask over `n` rows, or a list of (`base`-based) indices.
 * `as: auto` reads a vector of length `n` holding only 0 and 1 as a mask.
 */
export function splitIndices(
  v: ArrayLike<number>,
  options: { n: number; base: number; as: "auto" | "mask" | "indices"; where: string },
): number[] {
  const { n, where } = options;
  let isMask = options.as === "mask";
  if (options.as === "auto") {
    isMask = v.length === n && Array.prototype.every.call(v, (x: number) => x === 0 || x === 1);
  }
  if (isMask) {
    if (v.length !== n) {
      throw new Error(
        `${where}: a mask needs one 0/1 entry per sample (${n}), it has ${v.length}; ` +
          `for a list of row indices set 'as: indices'`,
      );
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (v[i] !== 0 && v[i] !== 1) {
        throw new Error(`${where}: mask entry ${i + 1} is ${v[i]}, not 0 or 1`);
      }
      if (v[i] === 1) out.push(i);
    }
    return out;
  }
  const seen = new Set<number>();
  const out: number[] = [];
  for (let k = 0; k < v.length; k++) {
    const i = v[k] - options.base;
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new Error(
        `${where}: index ${v[k]} (entry ${k + 1}) is outside the ${n} samples after subtracting ` +
          `base ${options.base}; ${
            options.base === 0 ? "for MATLAB's 1-based indices set 'base: 1'" : "check 'base'"
          }`,
      );
    }
    if (seen.has(i)) throw new Error(`${where}: index ${v[k]} appears twice`);
    seen.add(i);
    out.push(i);
  }
  return out;
}

function selectRows(m: Matrix, idx: readonly number[]): Matrix {
  const data = new Float64Array(idx.length * m.cols);
  idx.forEach((i, r) => data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), r * m.cols));
  return { rows: idx.length, cols: m.cols, data };
}

async function loadClasses(
  loader: Loader,
  classes: FeaturesParams["classes"],
  maxLabel: number,
): Promise<string[]> {
  if (classes === null || classes === undefined) {
    return Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  }
  if (Array.isArray(classes)) return classes.map(String);
  const file = typeof classes === "string" ? classes : classes.file;
  if (typeof file !== "string") {
    throw new Error("features: classes must be a list of names, a file, {file}, or null");
  }
  const text = await Deno.readTextFile(await loader.resolve(file));
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

function checkFinite(m: Matrix, name: string): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    const r = Math.floor(first / m.cols);
    const c = first % m.cols;
    throw new Error(
      `features: ${name} has ${bad} non-finite values (first at row ${r}, column ${c}); ` +
        `clean or impute them before loading`,
    );
  }
}

/** Per-class counts of labels (length `c`). */
export function classCounts(labels: Int32Array, c: number): number[] {
  const counts = new Array(c).fill(0);
  for (const y of labels) counts[y]++;
  return counts;
}

/**
 * The files a `features` stage reads outside its `raw` input (absolute, `~/`, or, without a `raw`
 * input, relative to the working directory): every matrix, label and class-names file its params
 * name. Never throws; a malformed reference is left to the run to report.
 */
export function featureFiles(
  params: Record<string, unknown>,
  options: { inputs: readonly string[] },
): string[] {
  const hasRaw = options.inputs.includes("raw");
  const source = typeof params.source === "string" ? params.source : "";
  const out = new Set<string>();
  const add = (f: unknown) => {
    if (typeof f !== "string" || f === "") return;
    if (f.startsWith("/") || f.startsWith("~/") || !hasRaw) out.add(f);
  };
  const addRef = (ref: unknown, defaultFile: string) => {
    if (typeof ref === "string") {
      if (ref.includes("#")) add(ref.slice(0, ref.lastIndexOf("#")) || defaultFile);
      else add(defaultFile || ref);
    } else if (ref && typeof ref === "object" && !Array.isArray(ref)) {
      const r = ref as Record<string, unknown>;
      add(typeof r.file === "string" && r.file ? r.file : defaultFile);
    }
  };
  for (const name of [...MATRICES, "img", "txt"]) addRef(params[name], source);
  const split = params.split as Record<string, unknown> | null | undefined;
  const labelRefs = [params.labels_train, params.labels_test, params.labels];
  if (split && typeof split === "object") labelRefs.push(split.train, split.test);
  for (const ref of labelRefs) {
    if (typeof ref === "string") {
      if (ref.includes("#")) add(ref.slice(0, ref.lastIndexOf("#")) || source);
      else add(source && extFormat(ref) === null ? source : ref);
    } else if (ref && typeof ref === "object" && !Array.isArray(ref)) {
      const r = ref as Record<string, unknown>;
      add(typeof r.file === "string" && r.file ? r.file : r.var ? source : "");
    }
  }
  const c = params.classes;
  if (typeof c === "string") add(c);
  else if (c && typeof c === "object" && !Array.isArray(c)) add((c as { file?: unknown }).file);
  return [...out].map((f) => f.startsWith("~/") ? `${Deno.env.get("HOME") ?? ""}/${f.slice(2)}` : f)
    .sort();
}

type MatrixName = (typeof MATRICES)[number];

interface Loaded {
  refs: Record<string, MatrixRef>;
  m: Record<MatrixName, Matrix>;
  labels: { train: LoadedLabels; test: LoadedLabels };
}

/** `x` has `n` rows, or an error naming the fix (transpose, or other labels). */
function checkRows(
  x: Matrix,
  labels: LoadedLabels,
  options: { name: string; labelsName: string; ref: MatrixRef },
): void {
  const n = labels.y.length;
  if (x.rows === n) return;
  let fix = "rows are samples: transpose the matrix, or pick the matching label file";
  if (x.cols === n) {
    fix = `${options.name} looks features × samples (${x.rows}×${x.cols}): set ` +
      `'transpose: true' on ${options.name}`;
  } else if (labels.matrix && labels.matrix[1] === x.rows) {
    fix =
      `the label matrix looks classes × samples: set 'transpose: true' on ${options.labelsName}`;
  }
  throw new Error(
    `features: ${options.name} (${options.ref.file}${
      options.ref.var ? `#${options.ref.var}` : ""
    }) has ${x.rows} rows but ${options.labelsName} (${labels.where}) has ` +
      `${n} labels; ${fix}`,
  );
}

function refOf(p: FeaturesParams, name: (typeof MATRICES)[number] | "img" | "txt"): MatrixRef {
  return parseMatrixRef(p[name], { source: p.source, param: name });
}

async function loadSplitsMode(
  loader: Loader,
  p: FeaturesParams,
  ctx: StageContext,
): Promise<Loaded> {
  const refs = {} as Record<MatrixName, MatrixRef>;
  const m = {} as Record<MatrixName, Matrix>;
  for (const name of MATRICES) {
    refs[name] = refOf(p, name);
    m[name] = await loadMatrix(loader, refs[name], { format: p.format, param: name });
    checkFinite(m[name], name);
    ctx.log(
      `${name}: ${m[name].rows}×${m[name].cols} from ${refs[name].file}` +
        (refs[name].var ? `#${refs[name].var}` : ""),
    );
  }
  const labels = {
    train: await loadLabels(loader, p.labels_train!, {
      source: p.source,
      param: "labels_train",
      format: p.format,
    }),
    test: await loadLabels(loader, p.labels_test!, {
      source: p.source,
      param: "labels_test",
      format: p.format,
    }),
  };
  for (const split of ["train", "test"] as const) {
    for (const mod of ["img", "txt"] as const) {
      checkRows(m[`${mod}_${split}`], labels[split], {
        name: `${mod}_${split}`,
        labelsName: `labels_${split}`,
        ref: refs[`${mod}_${split}`],
      });
    }
  }
  return { refs, m, labels };
}

async function loadSplitMode(
  loader: Loader,
  p: FeaturesParams,
  ctx: StageContext,
): Promise<Loaded> {
  const split = p.split!;
  const as = split.as ?? "auto";
  const refs = { img: refOf(p, "img"), txt: refOf(p, "txt") };
  const img = await loadMatrix(loader, refs.img, { format: p.format, param: "img" });
  const txt = await loadMatrix(loader, refs.txt, { format: p.format, param: "txt" });
  checkFinite(img, "img");
  checkFinite(txt, "txt");
  const all = await loadLabels(loader, p.labels!, {
    source: p.source,
    param: "labels",
    format: p.format,
  });
  checkRows(img, all, { name: "img", labelsName: "labels", ref: refs.img });
  checkRows(txt, all, { name: "txt", labelsName: "labels", ref: refs.txt });
  const n = all.y.length;
  const part = async (which: "train" | "test") => {
    const v = await loadLabels(loader, split[which]!, {
      source: p.source,
      param: `split.${which}`,
      format: p.format,
      noBase: true,
    });
    return splitIndices(v.y, {
      n,
      base: split.base ?? 0,
      as,
      where: `features: split.${which} (${v.where})`,
    });
  };
  const train = await part("train");
  let test: number[];
  if (split.test === undefined || split.test === null) {
    const inTrain = new Set(train);
    test = [];
    for (let i = 0; i < n; i++) if (!inTrain.has(i)) test.push(i);
  } else {
    test = await part("test");
    const inTrain = new Set(train);
    const both = test.filter((i) => inTrain.has(i));
    if (both.length) {
      throw new Error(
        `features: ${both.length} samples are in both split.train and split.test ` +
          `(first: row ${both[0] + 1}); the parts must not overlap`,
      );
    }
  }
  if (!train.length || !test.length) {
    throw new Error(
      `features: the split leaves ${train.length} train / ${test.length} test samples`,
    );
  }
  ctx.log(
    `split: ${train.length} train / ${test.length} test of ${n} (${img.cols}-d img, ` +
      `${txt.cols}-d txt)`,
  );
  const pick = (y: Int32Array, idx: number[]) => Int32Array.from(idx, (i) => y[i]);
  return {
    refs,
    m: {
      img_train: selectRows(img, train),
      img_test: selectRows(img, test),
      txt_train: selectRows(txt, train),
      txt_test: selectRows(txt, test),
    },
    labels: {
      train: { ...all, y: pick(all.y, train) },
      test: { ...all, y: pick(all.y, test) },
    },
  };
}

const SIX = [...MATRICES, "labels_train", "labels_test"];
const isSet = (v: unknown) => v !== null && v !== undefined;

/**
 * Problems with the params as a whole, each saying what to do: either the six per-split
 * references or `img`, `txt`, `labels` and `split`, and well-formed options. Checked when the
 * pipeline is loaded (exit 2) and again when the stage runs.
 */
export function checkFeatureParams(p: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (isSet(p.split)) {
    const given = SIX.filter((k) => isSet(p[k]));
    if (given.length) {
      out.push(
        `'split' splits img, txt and labels; remove ${given.join(", ")} (or remove 'split')`,
      );
    }
    const missing = ["img", "txt", "labels"].filter((k) => !isSet(p[k]));
    if (missing.length) {
      out.push(`'split' needs img, txt and labels; missing ${missing.join(", ")}`);
    }
    const sp = p.split as Record<string, unknown>;
    if (typeof sp !== "object" || Array.isArray(sp) || !isSet(sp.train)) {
      out.push("split must be { train, test?, base?, as? }: a 0/1 mask or row-index lists");
    } else if (sp.as !== undefined && !["auto", "mask", "indices"].includes(String(sp.as))) {
      out.push(`split.as must be auto, mask or indices, got '${sp.as}'`);
    }
  } else {
    const missing = SIX.filter((k) => !isSet(p[k]));
    const whole = ["img", "txt", "labels"].filter((k) => isSet(p[k]));
    if (missing.length) {
      out.push(
        `missing ${missing.join(", ")}: give img_train, img_test, txt_train, txt_test, ` +
          `labels_train and labels_test${
            whole.length
              ? ` (${whole.join(", ")} need a 'split')`
              : ", or img, txt, labels and a split"
          }`,
      );
    }
  }
  for (const k of [...SIX, "img", "txt", "labels"]) {
    const r = p[k];
    if (!isSet(r) || typeof r === "string") continue;
    if (typeof r !== "object" || Array.isArray(r)) {
      out.push(`${k} must be a string ('var', 'file#var' or a file) or {file?, var?, ...}`);
      continue;
    }
    const o = r as Record<string, unknown>;
    if (o.transpose !== undefined && typeof o.transpose !== "boolean") {
      out.push(`${k}.transpose must be true or false`);
    }
    if (o.multiLabel !== undefined && !["refuse", "first"].includes(String(o.multiLabel))) {
      out.push(`${k}.multiLabel must be refuse or first, got '${o.multiLabel}'`);
    }
    if (o.format !== undefined && ![...FORMATS, "list"].includes(String(o.format))) {
      out.push(`${k}.format must be one of ${FORMATS.join(", ")}, list; got '${o.format}'`);
    }
  }
  return out;
}

/** The declared params of `features` (its params type, {@link FeaturesParams}, derives from them). */
const FEATURES_PARAMS = {
  dataset: { type: "string", doc: "dataset short name, e.g. wiki" },
  format: {
    type: "string",
    default: "auto",
    enum: FORMATS,
    doc: "default format of matrix files (auto = by extension)",
  },
  source: { type: "string", default: "", doc: "default file for matrix variables" },
  img_train: typedParam<MatrixRef | string | null>({
    type: "any",
    default: null,
    doc: "image features, train: 'var' of source, 'file#var', a file, or " +
      "{file?, var?, format?, transpose?}; var is a path in MAT files (data.I_tr)",
  }),
  img_test: typedParam<MatrixRef | string | null>({
    type: "any",
    default: null,
    doc: "image features, test (as img_train)",
  }),
  txt_train: typedParam<MatrixRef | string | null>({
    type: "any",
    default: null,
    doc: "text features, train (as img_train)",
  }),
  txt_test: typedParam<MatrixRef | string | null>({
    type: "any",
    default: null,
    doc: "text features, test (as img_train)",
  }),
  labels_train: typedParam<LabelRef | string | null>({
    type: "any",
    default: null,
    doc: "train labels: a vector ({file, column?, base?} list, or {file?, var?, base?}) or " +
      "an n×c one-hot matrix ({file?, var?, transpose?, multiLabel?: refuse|first})",
  }),
  labels_test: typedParam<LabelRef | string | null>({
    type: "any",
    default: null,
    doc: "test labels (as labels_train)",
  }),
  img: typedParam<MatrixRef | string | null>({
    type: "any",
    default: null,
    doc: "image features of all samples, with 'split' (instead of img_train/img_test)",
  }),
  txt: typedParam<MatrixRef | string | null>({
    type: "any",
    default: null,
    doc: "text features of all samples, with 'split'",
  }),
  labels: typedParam<LabelRef | string | null>({
    type: "any",
    default: null,
    doc: "labels of all samples, with 'split'",
  }),
  split: typedParam<SplitRef | null>({
    type: "any",
    default: null,
    doc: "{train, test?, base?, as?: auto|mask|indices}: index lists or a 0/1 mask " +
      "(test defaults to the rest)",
  }),
  classes: typedParam<string[] | { file: string } | string | null>({
    type: "any",
    default: null,
    doc: "names list, names file, or null",
  }),
} as const satisfies ParamSchema;

/** The `features` stage kind. */
export const features = defineKind({
  name: "features",
  description:
    "Load precomputed features + labels (MAT v5/v7.3 or HDF5 by path, npy, npz, CSV) into a feature set",
  module: import.meta.url,
  inputs: {
    raw: "optional: where relative file names are looked up (a download stage, or its `files`)",
  },
  params: FEATURES_PARAMS,
  outputs: FEATURE_SET_OUTPUTS,
  files: featureFiles,
  validate: checkFeatureParams,
  async run(ctx) {
    const p = ctx.params;
    const problems = checkFeatureParams(p);
    if (problems.length) throw new Error(`features: ${problems[0]}`);
    if (!FORMATS.includes(p.format)) {
      throw new Error(`features: format '${p.format}' must be one of ${FORMATS.join(", ")}`);
    }
    const loader = makeLoader(ctx);
    const { refs, m, labels } = p.split !== null && p.split !== undefined
      ? await loadSplitMode(loader, p, ctx)
      : await loadSplitsMode(loader, p, ctx);
    const yTrain = labels.train.y, yTest = labels.test.y;
    for (const mod of ["img", "txt"] as const) {
      const a = m[`${mod}_train`], b = m[`${mod}_test`];
      if (a.cols !== b.cols) {
        throw new Error(
          `features: ${mod}_train has ${a.cols} columns but ${mod}_test has ${b.cols}; ` +
            `both splits must share the feature space${
              a.rows === b.cols || a.cols === b.rows
                ? ` (one of them looks features × samples: set 'transpose: true' on it)`
                : ""
            }`,
        );
      }
    }
    let maxLabel = -1;
    for (const y of [yTrain, yTest]) for (const v of y) maxLabel = Math.max(maxLabel, v);
    const classes = await loadClasses(loader, p.classes, maxLabel);
    for (const [split, y] of [["train", yTrain], ["test", yTest]] as const) {
      for (let i = 0; i < y.length; i++) {
        if (y[i] < 0 || y[i] >= classes.length) {
          throw new Error(
            `features: labels_${split}[${i}] is ${y[i]} after subtracting base, outside ` +
              `0..${classes.length - 1} (${classes.length} classes); for 1-based labels set ` +
              `'base: 1', or check the class names`,
          );
        }
      }
    }
    const counts = {
      train: classCounts(yTrain, classes.length),
      test: classCounts(yTest, classes.length),
    };
    const empty = classes.filter((_, i) => counts.train[i] === 0);
    if (empty.length > 0) ctx.log(`warning: classes without training samples: ${empty.join(", ")}`);

    for (const name of MATRICES) await writeMatrix(ctx.out(`${name}.npy`), m[name]);
    await writeLabels(ctx.out("y_train.npy"), yTrain);
    await writeLabels(ctx.out("y_test.npy"), yTest);
    const source = {
      matrices: refs,
      labels: p.split
        ? { all: p.labels, split: p.split }
        : { train: p.labels_train, test: p.labels_test },
      classes: p.classes,
      sha256: Object.fromEntries(
        Object.entries(loader.hashes).map(([path, h]) => [relativeToRaw(path, ctx.inputs.raw), h]),
      ),
    };
    const meta = {
      dataset: p.dataset,
      classes,
      n_train: yTrain.length,
      n_test: yTest.length,
      dims: { img: m.img_train.cols, txt: m.txt_train.cols },
      class_counts: counts,
      source,
    };
    await Deno.writeTextFile(ctx.out("dataset.json"), JSON.stringify(meta, null, 2) + "\n");
    ctx.provenance.sources = source.sha256;
  },
});

function relativeToRaw(path: string, raw: string | undefined): string {
  if (!raw) return path;
  for (const base of [`${raw}/files/`, `${raw}/`]) {
    if (path.startsWith(base)) return path.slice(base.length);
  }
  return path;
}
