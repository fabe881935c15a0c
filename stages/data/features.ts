/**
 * The `features` stage kind: loads a dataset's precomputed image and text features and its labels
 * from MAT v5, MAT v7.3, `.npy` or CSV files, validates them, and writes the Feature-set artifact
 * (`img_train.npy`, `img_test.npy`, `txt_train.npy`, `txt_test.npy`, `y_train.npy`, `y_test.npy`,
 * `dataset.json`; see docs/architecture.md).
 *
 * ## Params
 * - `dataset`: the dataset's short name (e.g. `wiki`).
 * - `format`: `auto` (by extension: `.mat` sniffed v5/v7.3, `.npy`, `.csv`/`.tsv`/`.txt`), `mat`,
 *   `mat73`, `npy` or `csv`: the default for matrix references.
 * - `source`: the default file for matrix variables (e.g. `raw_features.mat`), or "".
 * - `img_train`, `img_test`, `txt_train`, `txt_test`: a matrix reference, either
 *   `{ file?, var?, format? }` or a string: `file#var`; a bare variable name when `source` is set;
 *   a file path (`.npy`, `.csv`) otherwise.
 * - `labels_train`, `labels_test`: a label reference: `{ file, column?, base? }` for a text list
 *   (columns split on tabs, else commas, else spaces; `column` is 1-based, default 1), or
 *   `{ file?, var?, base? }` for a `.mat`/`.npy` vector. `base` (default 0) is subtracted, so
 *   `base: 1` turns 1-based category ids into the 0-based labels the artifacts use.
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
import type { StageContext, StageKind } from "../../pipeline/types.ts";
import { readCsv } from "../tensor_io/csv.ts";
import { readMat } from "../tensor_io/mat.ts";
import { matToMatrix, type MatVariable, matVariable } from "../tensor_io/mat_v5.ts";
import { type Matrix, readMatrix, readNpy, writeLabels, writeMatrix } from "../tensor_io/npy.ts";
import { sha256File } from "./download.ts";

/** File formats a reference may name. */
export type FeatureFormat = "auto" | "mat" | "mat73" | "npy" | "csv";

/** Where one matrix comes from. */
export interface MatrixRef {
  /** File path (relative to the `raw` input, or absolute). Default: the `source` param. */
  file?: string;
  /** Variable name inside a MAT file. */
  var?: string;
  /** Format, overriding the stage's `format`. */
  format?: FeatureFormat;
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
}

/** Params of the `features` kind. */
export interface FeaturesParams extends Record<string, unknown> {
  /** Dataset short name. */
  dataset: string;
  /** Default format. */
  format: FeatureFormat;
  /** Default file for matrix variables, or "". */
  source: string;
  /** Image features, training split. */
  img_train: MatrixRef | string;
  /** Image features, test split. */
  img_test: MatrixRef | string;
  /** Text features, training split. */
  txt_train: MatrixRef | string;
  /** Text features, test split. */
  txt_test: MatrixRef | string;
  /** Training labels. */
  labels_train: LabelRef | string;
  /** Test labels. */
  labels_test: LabelRef | string;
  /** Class names, a names file, or null. */
  classes: string[] | { file: string } | string | null;
}

const FORMATS = ["auto", "mat", "mat73", "npy", "csv"] as const;
const MATRICES = ["img_train", "img_test", "txt_train", "txt_test"] as const;

function extFormat(file: string): "mat" | "npy" | "csv" | "list" | null {
  const ext = /\.([A-Za-z0-9]+)$/.exec(file)?.[1]?.toLowerCase();
  if (ext === "mat") return "mat";
  if (ext === "npy") return "npy";
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
  hashes: Record<string, string>;
}

function makeLoader(ctx: StageContext): Loader {
  const raw = ctx.inputs.raw;
  const mats = new Map<string, Promise<Map<string, MatVariable>>>();
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

async function loadMatrix(
  loader: Loader,
  ref: MatrixRef,
  options: { format: FeatureFormat; param: string },
): Promise<Matrix> {
  const at = `features: ${options.param}`;
  const path = await loader.resolve(ref.file!);
  let format = ref.format ?? options.format;
  if (format === "auto") {
    const ext = extFormat(path);
    if (ext === "list") format = "csv";
    else if (ext === null) {
      throw new Error(`${at}: cannot tell the format of '${ref.file}'; set 'format'`);
    } else format = ext;
  }
  if (format === "mat" || format === "mat73") {
    if (!ref.var) throw new Error(`${at}: '${ref.file}' is a MAT file; name the variable ('var')`);
    const vars = await loader.mat(path, format === "mat73" ? "mat73" : undefined);
    return matToMatrix(matVariable(vars, ref.var, { source: path }), { source: path });
  }
  if (format === "npy") return await readMatrix(path);
  return (await readCsv(path)).matrix;
}

async function loadLabels(
  loader: Loader,
  refIn: LabelRef | string,
  options: { source: string; param: string },
): Promise<Int32Array> {
  const at = `features: ${options.param}`;
  const ref: LabelRef = typeof refIn === "string"
    ? (refIn.includes("#")
      ? {
        file: refIn.slice(0, refIn.lastIndexOf("#")),
        var: refIn.slice(refIn.lastIndexOf("#") + 1),
      }
      : { file: refIn })
    : refIn;
  if (typeof ref !== "object" || ref === null) {
    throw new Error(`${at} must be {file, column?, base?} or {file?, var, base?}`);
  }
  const file = ref.file || (ref.var ? options.source : "");
  if (!file) throw new Error(`${at}: give 'file' (and 'var' for a MAT file)`);
  const path = await loader.resolve(file);
  const format = ref.format && ref.format !== "auto" ? ref.format : extFormat(path) ?? "list";
  let values: number[];
  if (format === "mat" || format === "mat73") {
    if (!ref.var) {
      throw new Error(`${at}: '${file}' is a MAT file; name the label variable ('var')`);
    }
    const m = matToMatrix(
      matVariable(await loader.mat(path, format === "mat73" ? "mat73" : undefined), ref.var, {
        source: path,
      }),
      { source: path },
    );
    if (m.rows !== 1 && m.cols !== 1) {
      throw new Error(`${at}: ${path} variable '${ref.var}' is ${m.rows}×${m.cols}, not a vector`);
    }
    values = Array.from(m.data);
  } else if (format === "npy") {
    const a = await readNpy(path);
    if (a.shape.length > 2 || (a.shape.length === 2 && a.shape[1] !== 1)) {
      throw new Error(`${at}: ${path} has shape [${a.shape}]; expected a label vector`);
    }
    values = Array.from(a.data as ArrayLike<number>);
  } else {
    const column = ref.column ?? 1;
    if (!Number.isInteger(column) || column < 1) {
      throw new Error(`${at}.column must be a 1-based column index, got ${column}`);
    }
    values = parseLabelList(await Deno.readTextFile(path), { column, source: path });
  }
  const base = ref.base ?? 0;
  const out = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (!Number.isInteger(v)) throw new Error(`${at}: label ${i} is ${v}, not an integer`);
    out[i] = v - base;
  });
  return out;
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
  for (const name of MATRICES) addRef(params[name], source);
  for (const name of ["labels_train", "labels_test"]) {
    const ref = params[name];
    if (typeof ref === "string") addRef(ref, "");
    else if (ref && typeof ref === "object" && !Array.isArray(ref)) {
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

/** The `features` stage kind. */
export const features: StageKind = {
  name: "features",
  description: "Load precomputed features + labels (MAT v5/v7.3, npy, CSV) into a feature set",
  module: import.meta.url,
  inputs: {
    raw: "optional: where relative file names are looked up (a download stage, or its `files`)",
  },
  params: {
    dataset: { type: "string", doc: "dataset short name, e.g. wiki" },
    format: {
      type: "string",
      default: "auto",
      enum: FORMATS,
      doc: "default format of matrix files (auto = by extension)",
    },
    source: { type: "string", default: "", doc: "default file for matrix variables" },
    img_train: { type: "any", doc: "image train matrix: 'var', 'file#var', file, or {file,var}" },
    img_test: { type: "any", doc: "image test matrix" },
    txt_train: { type: "any", doc: "text train matrix" },
    txt_test: { type: "any", doc: "text test matrix" },
    labels_train: { type: "any", doc: "{file, column?, base?} or {file?, var, base?}" },
    labels_test: { type: "any", doc: "{file, column?, base?} or {file?, var, base?}" },
    classes: { type: "any", default: null, doc: "names list, names file, or null" },
  },
  outputs: [
    "img_train.npy",
    "img_test.npy",
    "txt_train.npy",
    "txt_test.npy",
    "y_train.npy",
    "y_test.npy",
    "dataset.json",
  ],
  files: featureFiles,
  async run(ctx: StageContext) {
    const p = ctx.params as FeaturesParams;
    if (!FORMATS.includes(p.format)) {
      throw new Error(`features: format '${p.format}' must be one of ${FORMATS.join(", ")}`);
    }
    const loader = makeLoader(ctx);
    const refs = {} as Record<(typeof MATRICES)[number], MatrixRef>;
    const m = {} as Record<(typeof MATRICES)[number], Matrix>;
    for (const name of MATRICES) {
      refs[name] = parseMatrixRef(p[name], { source: p.source, param: name });
      m[name] = await loadMatrix(loader, refs[name], { format: p.format, param: name });
      checkFinite(m[name], name);
      ctx.log(
        `${name}: ${m[name].rows}×${m[name].cols} from ${refs[name].file}` +
          (refs[name].var ? `#${refs[name].var}` : ""),
      );
    }
    const yTrain = await loadLabels(loader, p.labels_train, {
      source: p.source,
      param: "labels_train",
    });
    const yTest = await loadLabels(loader, p.labels_test, {
      source: p.source,
      param: "labels_test",
    });

    for (const [split, y] of [["train", yTrain], ["test", yTest]] as const) {
      for (const mod of ["img", "txt"] as const) {
        const x = m[`${mod}_${split}`];
        if (x.rows !== y.length) {
          throw new Error(
            `features: ${mod}_${split} has ${x.rows} rows but labels_${split} has ${y.length} ` +
              `labels; rows are samples (transpose the matrix, or pick the matching label file)`,
          );
        }
      }
    }
    for (const mod of ["img", "txt"] as const) {
      const a = m[`${mod}_train`], b = m[`${mod}_test`];
      if (a.cols !== b.cols) {
        throw new Error(
          `features: ${mod}_train has ${a.cols} columns but ${mod}_test has ${b.cols}; ` +
            `both splits must share the feature space`,
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
      matrices: Object.fromEntries(MATRICES.map((n) => [n, refs[n]])),
      labels: { train: p.labels_train, test: p.labels_test },
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
};

function relativeToRaw(path: string, raw: string | undefined): string {
  if (!raw) return path;
  for (const base of [`${raw}/files/`, `${raw}/`]) {
    if (path.startsWith(base)) return path.slice(base.length);
  }
  return path;
}
