/**
 * On-disk layouts of the three raw datasets and the `raw-dataset` stage kind, which turns an
 * extracted download into `items.json` (train/test items with image, text or tags, label),
 * `y_train.npy`, `y_test.npy` and `dataset.json`.
 *
 * - **wiki** (Rasiwasia et al. 2010): `images/<category>/<img>.jpg`, `texts/<txt>.xml`,
 *   `trainset_txt_img_cat.list` / `testset_txt_img_cat.list` (lines `txt<TAB>img<TAB>cat`, cat
 *   1-based), `categories.list`.
 * - **pascal** (VOC2007, selection of Sharma et al. 2012): `VOCdevkit/VOC2007/JPEGImages/<id>.jpg`
 *   and the tags of Hwang & Grauman (2010), in one of two forms:
 *   - `hwang-mat`: their `train.mat`/`test.mat` struct arrays (see `pascal_tags.ts`); an image is
 *     kept if its `objectcount` names one class, which the VOC annotation must confirm;
 *   - `files`: one tag file per image; an image is kept if all objects of its VOC annotation
 *     (`Annotations/<id>.xml`, listed in `ImageSets/Main/{trainval,test}.txt`) share one class.
 * - **labelme** (Oliva & Torralba's 8 outdoor scenes, 256×256): `*.jpg` named `<class>_<name>.jpg`
 *   (or under `<class>/`), LabelMe XML annotations `<annotations>/<stem>.xml` whose `<object><name>`
 *   give the tags; 100 test images per class drawn with a recorded seed.
 * @module
 */
import type { ParamsOf, StageKind } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import { readNpy, writeLabels } from "../tensor_io/npy.ts";
import { mulberry32 } from "../util/rng.ts";
import { readHwangTagFile, singleClassOf } from "./pascal_tags.ts";
import { type RawItem, type RawItems, xmlElements, xmlText } from "./text.ts";
import { FEATURE_SET_OUTPUTS } from "../formats/feature_set.ts";

/** The 20 VOC classes in the devkit's order. */
export const VOC_CLASSES: readonly string[] = [
  "aeroplane",
  "bicycle",
  "bird",
  "boat",
  "bottle",
  "bus",
  "car",
  "cat",
  "chair",
  "cow",
  "diningtable",
  "dog",
  "horse",
  "motorbike",
  "person",
  "pottedplant",
  "sheep",
  "sofa",
  "train",
  "tvmonitor",
];

/** The 8 outdoor scene classes of Oliva & Torralba (2001), alphabetical. */
export const LABELME_CLASSES: readonly string[] = [
  "coast",
  "forest",
  "highway",
  "insidecity",
  "mountain",
  "opencountry",
  "street",
  "tallbuilding",
];

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function requireFile(p: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${what}: ${p} is missing; check the download and the 'subdir' param`);
    }
    throw e;
  }
}

async function checkExist(root: string, items: RawItem[], dataset: string): Promise<void> {
  const missing: string[] = [];
  for (const it of items) {
    for (const rel of [it.image, it.text]) {
      if (rel !== undefined && !(await exists(`${root}/${rel}`))) missing.push(rel);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `${dataset}: ${missing.length} listed files are missing under ${root}, e.g. ` +
        `${missing.slice(0, 5).join(", ")}; the download is incomplete or the layout differs`,
    );
  }
}

/**
 * Read the Wikipedia dataset layout under `root` (the directory holding the `.list` files).
 * `checkFiles: false` skips checking that every listed image and text exists.
 */
export async function readWikipedia(
  root: string,
  options: { checkFiles?: boolean } = {},
): Promise<RawItems> {
  const classes = (await requireFile(`${root}/categories.list`, "wiki"))
    .split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
  const read = async (file: string) => {
    const out: RawItem[] = [];
    const lines = (await requireFile(`${root}/${file}`, "wiki")).split(/\r?\n/);
    lines.forEach((line, n) => {
      if (line.trim() === "") return;
      const f = line.trim().split(/\s+/);
      const cat = Number(f[2]);
      if (f.length !== 3 || !Number.isInteger(cat) || cat < 1 || cat > classes.length) {
        throw new Error(
          `wiki: ${file} line ${
            n + 1
          } is not 'text<TAB>image<TAB>category(1..${classes.length})': ${line}`,
        );
      }
      out.push({
        id: f[0],
        label: cat - 1,
        image: `images/${classes[cat - 1]}/${f[1]}.jpg`,
        text: `texts/${f[0]}.xml`,
      });
    });
    return out;
  };
  const train = await read("trainset_txt_img_cat.list");
  const test = await read("testset_txt_img_cat.list");
  if (options.checkFiles ?? true) await checkExist(root, [...train, ...test], "wiki");
  return { dataset: "wiki", classes, train, test };
}

/** One VOC annotation: object classes (with their difficult flags). */
export function vocObjects(xml: string): { name: string; difficult: boolean }[] {
  return xmlElements(xml, "object").map((o) => ({
    name: (xmlText(o, "name") ?? "").toLowerCase(),
    difficult: xmlText(o, "difficult") === "1",
  }));
}

/** Options of {@link readVoc}. */
export interface VocOptions {
  /** Form of the tags: Hwang's `train.mat`/`test.mat`, or one file per image (default `files`). */
  tagFormat?: "hwang-mat" | "files";
  /** hwang-mat: directory holding `train.mat` and `test.mat` (default: the root). */
  tagsRoot?: string;
  /** hwang-mat: struct-array variables to concatenate (default `["D1", "D2"]`). */
  tagVariables?: string[];
  /** hwang-mat: vocabulary size when no vocabulary file names the words (default 399). */
  vocabularySize?: number;
  /** files: count difficult objects when deciding "one class only" (default true). */
  includeDifficult?: boolean;
  /** files: tag file of an image, relative to the root; `{id}` is replaced (default `tags/{id}.txt`). */
  tagFile?: string;
  /**
   * Fixed vocabulary file (one word per line) relative to the root (hwang-mat: to the tags root);
   * "" = none. hwang-mat without one names the words `#1`…`#V`.
   */
  vocabularyFile?: string;
}

/** What {@link readVoc} found besides the items. */
export interface VocReport {
  /** hwang-mat: records per tag file, before the single-class selection. */
  records?: { train: number; test: number };
  /** hwang-mat: kept images whose VOC annotation also has objects of other classes. */
  annotationDisagreements?: string[];
}

/**
 * Read VOC2007 under `root` (the directory holding `VOCdevkit/`) and keep the images whose objects
 * all belong to one class (Sharma et al. 2012 report 2808 trainval / 2841 test such images).
 */
export async function readVoc(
  root: string,
  options: VocOptions = {},
): Promise<RawItems & { report: VocReport }> {
  const items = options.tagFormat === "hwang-mat"
    ? await readVocHwang(root, options)
    : await readVocTagFiles(root, options);
  await checkExist(root, [...items.train, ...items.test], "pascal");
  return items;
}

async function readVocTagFiles(
  root: string,
  options: VocOptions,
): Promise<RawItems & { report: VocReport }> {
  const base = `${root}/VOCdevkit/VOC2007`;
  const includeDifficult = options.includeDifficult ?? true;
  const tagFile = options.tagFile ?? "tags/{id}.txt";
  const select = async (set: string) => {
    const ids = (await requireFile(`${base}/ImageSets/Main/${set}.txt`, "pascal"))
      .split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
    const out: RawItem[] = [];
    for (const id of ids) {
      const xml = await requireFile(`${base}/Annotations/${id}.xml`, "pascal");
      const names = new Set(
        vocObjects(xml).filter((o) => includeDifficult || !o.difficult).map((o) => o.name),
      );
      if (names.size !== 1) continue;
      const name = [...names][0];
      const label = VOC_CLASSES.indexOf(name);
      if (label < 0) throw new Error(`pascal: ${id}.xml has unknown class '${name}'`);
      const tagPath = `${root}/${tagFile.replaceAll("{id}", id)}`;
      const raw = await requireFile(tagPath, "pascal tags");
      const tags = raw.split(/[\r\n,]+/).map((s) => s.trim()).filter((s) => s !== "");
      out.push({ id, label, image: `VOCdevkit/VOC2007/JPEGImages/${id}.jpg`, tags });
    }
    return out;
  };
  const train = await select("trainval");
  const test = await select("test");
  const items: RawItems & { report: VocReport } = {
    dataset: "pascal",
    classes: [...VOC_CLASSES],
    train,
    test,
    report: {},
  };
  if (options.vocabularyFile) {
    items.vocabulary = await readWordList(`${root}/${options.vocabularyFile}`);
  }
  return items;
}

async function readWordList(path: string): Promise<string[]> {
  return (await requireFile(path, "pascal vocabulary")).split(/\r?\n/).map((s) => s.trim())
    .filter((s) => s !== "");
}

async function readVocHwang(
  root: string,
  options: VocOptions,
): Promise<RawItems & { report: VocReport }> {
  const tagsRoot = options.tagsRoot ?? root;
  const vocabulary = options.vocabularyFile
    ? await readWordList(`${tagsRoot}/${options.vocabularyFile}`)
    : Array.from({ length: options.vocabularySize ?? 399 }, (_, i) => `#${i + 1}`);
  const disagreements: string[] = [];
  const records = { train: 0, test: 0 };
  const select = async (split: "train" | "test") => {
    const path = `${tagsRoot}/${split}.mat`;
    if (!(await exists(path))) {
      throw new Error(
        `pascal tags: ${path} is missing; hwang-mat needs Hwang & Grauman's train.mat and ` +
          `test.mat (the 'tags' input, or the root)`,
      );
    }
    const recs = await readHwangTagFile(path, {
      variables: options.tagVariables,
      vocabularySize: vocabulary.length,
    });
    records[split] = recs.length;
    const out: RawItem[] = [];
    for (const r of recs) {
      const label = singleClassOf(r.objectcount);
      if (label < 0) continue;
      // the VOC annotation must show the class Hwang counted: this catches a class order that
      // differs from the devkit's
      const xml = await requireFile(`${root}/VOCdevkit/VOC2007/Annotations/${r.id}.xml`, "pascal");
      const names = new Set(vocObjects(xml).map((o) => o.name));
      if (!names.has(VOC_CLASSES[label])) {
        throw new Error(
          `pascal: ${path} counts objects of '${VOC_CLASSES[label]}' in ${r.id}, but its VOC ` +
            `annotation has ${[...names].join(", ") || "no objects"}; the tag file does not ` +
            `match this VOC release or its class order differs`,
        );
      }
      if (names.size > 1) disagreements.push(r.id);
      out.push({
        id: r.id,
        label,
        image: `VOCdevkit/VOC2007/JPEGImages/${r.id}.jpg`,
        tagIds: r.tagIds,
      });
    }
    return out;
  };
  const train = await select("train");
  const test = await select("test");
  return {
    dataset: "pascal",
    classes: [...VOC_CLASSES],
    train,
    test,
    vocabulary,
    report: { records, annotationDisagreements: disagreements },
  };
}

/** Object names of a LabelMe annotation (deleted objects skipped). */
export function labelmeTags(xml: string): string[] {
  return xmlElements(xml, "object")
    .filter((o) => xmlText(o, "deleted") !== "1")
    .map((o) => (xmlText(o, "name") ?? "").trim())
    .filter((s) => s !== "");
}

/** Options of {@link readLabelMe}. */
export interface LabelMeOptions {
  /** Directory of the images, relative to the root (searched recursively). */
  imagesDir?: string;
  /** Directory of the LabelMe XML annotations, relative to `annotationsRoot`. */
  annotationsDir?: string;
  /** Where `annotationsDir` lies (default: the root), e.g. a `labelme-annotations` output. */
  annotationsRoot?: string;
  /** Test images per class. */
  testPerClass?: number;
  /** Seed of the split. */
  seed?: number;
}

async function listJpegs(dir: string, rel: string, out: string[]): Promise<void> {
  for await (const d of Deno.readDir(`${dir}/${rel}`)) {
    const p = rel === "" ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory) await listJpegs(dir, p, out);
    else if (/\.jpe?g$/i.test(d.name)) out.push(p);
  }
}

/**
 * Read the LabelMe 8-scene layout and split it: per class, the image ids sorted, shuffled with a
 * Fisher–Yates shuffle driven by mulberry32(seed), the first `testPerClass` go to test.
 */
export async function readLabelMe(root: string, options: LabelMeOptions = {}): Promise<{
  items: RawItems;
  missingAnnotations: number;
}> {
  const imagesDir = options.imagesDir ?? "Images";
  const annDir = options.annotationsDir ?? "Annotations";
  const testPerClass = options.testPerClass ?? 100;
  const seed = options.seed ?? 0;
  const files: string[] = [];
  if (!(await exists(`${root}/${imagesDir}`))) {
    throw new Error(`labelme: image directory ${root}/${imagesDir} is missing; set 'imagesDir'`);
  }
  await listJpegs(`${root}/${imagesDir}`, "", files);
  const byClass: string[][] = LABELME_CLASSES.map(() => []);
  for (const f of files) {
    const parts = f.split("/");
    const stem = parts[parts.length - 1];
    const dirClass = parts.length > 1 ? LABELME_CLASSES.indexOf(parts[parts.length - 2]) : -1;
    const label = dirClass >= 0 ? dirClass : LABELME_CLASSES.indexOf(stem.split("_")[0]);
    if (label < 0) {
      throw new Error(
        `labelme: cannot tell the class of ${f}; expected <class>_*.jpg or <class>/*.jpg with ` +
          `class one of ${LABELME_CLASSES.join(", ")}`,
      );
    }
    byClass[label].push(f);
  }
  const rand = mulberry32(seed);
  const train: RawItem[] = [];
  const test: RawItem[] = [];
  let missingAnnotations = 0;
  for (let c = 0; c < byClass.length; c++) {
    const list = byClass[c].sort();
    if (list.length <= testPerClass) {
      throw new Error(
        `labelme: class ${LABELME_CLASSES[c]} has ${list.length} images, not more than ` +
          `testPerClass=${testPerClass}`,
      );
    }
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
    const testSet = new Set(list.slice(0, testPerClass));
    for (const f of [...list].sort()) {
      const stem = f.split("/").pop()!.replace(/\.jpe?g$/i, "");
      const ann = `${options.annotationsRoot ?? root}/${annDir}/${stem}.xml`;
      let tags: string[] = [];
      if (await exists(ann)) tags = labelmeTags(await Deno.readTextFile(ann));
      else missingAnnotations++;
      const item: RawItem = { id: stem, label: c, image: `${imagesDir}/${f}`, tags };
      (testSet.has(f) ? test : train).push(item);
    }
  }
  if (missingAnnotations === files.length) {
    throw new Error(
      `labelme: none of the ${files.length} images has an annotation in ` +
        `${options.annotationsRoot ?? root}/${annDir}; run a labelme-annotations stage and give ` +
        `it as the 'annotations' input, or set 'annotationsDir'`,
    );
  }
  return {
    items: { dataset: "labelme", classes: [...LABELME_CLASSES], train, test },
    missingAnnotations,
  };
}

/**
 * Where the Wikipedia set lies under an extracted root: "" if `categories.list` is at the top,
 * else the one sub-directory holding it (the zip may wrap everything in `wikipedia_dataset/`).
 */
export async function findWikiDir(root: string): Promise<string> {
  if (await exists(`${root}/categories.list`)) return "";
  const found: string[] = [];
  for await (const d of Deno.readDir(root)) {
    if (d.isDirectory && (await exists(`${root}/${d.name}/categories.list`))) found.push(d.name);
  }
  if (found.length === 1) return found[0];
  throw new Error(
    `wiki: no categories.list in ${root} or ${
      found.length === 0 ? "any sub-directory" : `a unique sub-directory (${found.join(", ")})`
    }; set 'subdir'`,
  );
}

/** Params of the `raw-dataset` kind. */
export type RawDatasetParams = ParamsOf<typeof rawDatasetKind.params>;

/**
 * The warning for a dataset whose sizes differ from the paper's, or null when they agree (or no
 * sizes are expected). `expected` counts of 0 are not checked.
 */
export function sizeWarning(
  meta: { dataset: string; n_train: number; n_test: number },
  expected: { train?: number; test?: number } | undefined,
): string | null {
  if (!expected) return null;
  const off = (n: number, e?: number) => Boolean(e) && n !== e;
  if (!off(meta.n_train, expected.train) && !off(meta.n_test, expected.test)) return null;
  return `${meta.dataset}: ${meta.n_train} train / ${meta.n_test} test items, but the paper has ` +
    `${expected.train || "?"} / ${expected.test || "?"}; check the download and the selection`;
}

/**
 * `raw-dataset`: read one raw dataset from the input `root` (an extracted download) and write
 * `items.json`, `y_train.npy`, `y_test.npy`, `dataset.json`. Paths in items.json are relative
 * to `root/subdir`; downstream kinds take both this object (`dataset`) and `root`. LabelMe may
 * take its XML annotations from a second input, `annotations` (a `labelme-annotations` output),
 * and Pascal its `train.mat`/`test.mat` tag files from `tags` (a `download` output).
 */
export const rawDatasetKind = defineKind({
  name: "raw-dataset",
  description: "lists, labels and splits of a raw dataset (wiki, pascal, labelme layouts)",
  module: import.meta.url,
  inputs: {
    root: "the extracted dataset (an extract stage's `data` output)",
    tags: "Pascal: the directory holding Hwang's train.mat/test.mat (a download stage's `files`)",
    annotations: "LabelMe: the per-image annotations (a labelme-annotations stage)",
  },
  params: {
    dataset: { type: "string", enum: ["wiki", "pascal", "labelme"], doc: "which layout" },
    subdir: {
      type: "string",
      default: "",
      doc: "directory inside the input root holding the set ('' = top; wiki: auto-detected)",
    },
    seed: { type: "integer", default: 0, doc: "labelme: seed of the 100-per-class test draw" },
    testPerClass: { type: "integer", default: 100, doc: "labelme: test images per class" },
    tagFormat: {
      type: "string",
      default: "hwang-mat",
      enum: ["hwang-mat", "files"],
      doc:
        "pascal: Hwang's train.mat/test.mat (input 'tags', else the root), or one file per image",
    },
    tagVariables: typedParam<string[]>({
      type: "array",
      default: ["D1", "D2"],
      doc: "pascal hwang-mat: struct arrays of each .mat, concatenated in this order",
    }),
    vocabularySize: {
      type: "integer",
      default: 399,
      doc:
        "pascal hwang-mat: tag indices run 1..vocabularySize (unless vocabularyFile names words)",
    },
    includeDifficult: {
      type: "boolean",
      default: true,
      doc: "pascal files: count difficult objects when selecting single-class images",
    },
    tagFile: {
      type: "string",
      default: "tags/{id}.txt",
      doc: "pascal files: per-image tag file relative to the root, {id} = VOC id",
    },
    vocabularyFile: {
      type: "string",
      default: "",
      doc: "pascal: fixed vocabulary (one word per line) relative to the root (hwang-mat: to " +
        "the tags); '' = none",
    },
    imagesDir: { type: "string", default: "Images", doc: "labelme: image directory" },
    annotationsDir: {
      type: "string",
      default: "Annotations",
      doc: "labelme: LabelMe XML directory, in the 'annotations' input if given, else in root",
    },
    expectTrain: {
      type: "integer",
      default: 0,
      doc: "the paper's train size; another size is a warning here and in the report (0 = none)",
    },
    expectTest: {
      type: "integer",
      default: 0,
      doc: "the paper's test size; another size is a warning here and in the report (0 = none)",
    },
  },
  outputs: ["items.json", "y_train.npy", "y_test.npy", "dataset.json"],
  async run(ctx) {
    const p = ctx.params;
    const input = ctx.inputs.root;
    if (input === undefined) {
      throw new Error("raw-dataset needs an input named 'root' (an extract stage's data output)");
    }
    const subdir = p.subdir || (p.dataset === "wiki" ? await findWikiDir(input) : "");
    if (subdir !== p.subdir) ctx.log(`wiki: found the dataset in ${subdir}/`);
    const root = subdir ? `${input}/${subdir}` : input;
    let items: RawItems;
    const source: Record<string, unknown> = { layout: p.dataset };
    if (p.dataset === "wiki") items = await readWikipedia(root);
    else if (p.dataset === "pascal") {
      const { report, ...voc } = await readVoc(root, {
        tagFormat: p.tagFormat,
        tagsRoot: ctx.inputs.tags,
        tagVariables: p.tagVariables,
        vocabularySize: p.vocabularySize,
        includeDifficult: p.includeDifficult,
        tagFile: p.tagFile,
        vocabularyFile: p.vocabularyFile,
      });
      items = voc;
      source.tagFormat = p.tagFormat;
      if (p.tagFormat === "hwang-mat") {
        source.selection = "objectcount names one class (Hwang's .mat; Sharma et al. 2012)";
        source.records = report.records;
        source.annotationDisagreements = report.annotationDisagreements?.length ?? 0;
        if (report.annotationDisagreements?.length) {
          ctx.log(
            `pascal: ${report.annotationDisagreements.length} kept images have VOC objects of ` +
              `other classes too (e.g. ${report.annotationDisagreements.slice(0, 3).join(", ")})`,
          );
        }
      } else {
        source.selection = "all VOC objects of one class (Sharma et al. 2012)";
        source.includeDifficult = p.includeDifficult;
      }
    } else {
      const r = await readLabelMe(root, {
        imagesDir: p.imagesDir,
        annotationsDir: p.annotationsDir,
        annotationsRoot: ctx.inputs.annotations,
        testPerClass: p.testPerClass,
        seed: p.seed,
      });
      items = r.items;
      source.seed = p.seed;
      source.testPerClass = p.testPerClass;
      source.missingAnnotations = r.missingAnnotations;
      if (r.missingAnnotations > 0) {
        ctx.log(`labelme: ${r.missingAnnotations} images have no annotation (empty tags)`);
      }
    }
    if (subdir) {
      const pre = (it: RawItem): RawItem => ({
        ...it,
        image: `${subdir}/${it.image}`,
        ...(it.text !== undefined ? { text: `${subdir}/${it.text}` } : {}),
      });
      items = { ...items, train: items.train.map(pre), test: items.test.map(pre) };
    }
    await Deno.writeTextFile(ctx.out("items.json"), JSON.stringify(items));
    await writeLabels(ctx.out("y_train.npy"), items.train.map((i) => i.label));
    await writeLabels(ctx.out("y_test.npy"), items.test.map((i) => i.label));
    const meta: Record<string, unknown> & { dataset: string; n_train: number; n_test: number } = {
      dataset: items.dataset,
      classes: items.classes,
      n_train: items.train.length,
      n_test: items.test.length,
      source,
    };
    if (p.expectTrain || p.expectTest) {
      meta.expected = { train: p.expectTrain, test: p.expectTest };
    }
    // recorded in dataset.json, which raw-features carries on and the report lists
    const warning = sizeWarning(meta, { train: p.expectTrain, test: p.expectTest });
    if (warning) meta.warnings = [warning];
    await Deno.writeTextFile(ctx.out("dataset.json"), JSON.stringify(meta, null, 2));
    ctx.log(`${items.dataset}: ${items.train.length} train, ${items.test.length} test`);
    if (warning) ctx.log(`warning: ${warning}`);
    ctx.provenance.split = source;
  },
});

/**
 * `raw-features`: assemble a Feature-set artifact (docs/architecture.md) from the raw path's
 * pieces: inputs `img` (image-features), `txt` (lda-text or tag-counts), `dataset` (raw-dataset).
 * Checks that the row counts agree.
 */
export const rawFeaturesKind: StageKind = {
  name: "raw-features",
  description: "assemble img/txt/labels of the raw path into a Feature-set artifact",
  module: import.meta.url,
  inputs: {
    img: "image features (an image-features stage)",
    txt: "text features (lda-text or tag-counts)",
    dataset: "the raw-dataset stage (labels, split, classes)",
  },
  params: {},
  outputs: FEATURE_SET_OUTPUTS,
  async run(ctx) {
    const { img, txt, dataset } = ctx.inputs;
    if (!img || !txt || !dataset) {
      throw new Error("raw-features needs inputs 'img' (image-features), 'txt' and 'dataset'");
    }
    const meta = JSON.parse(await Deno.readTextFile(`${dataset}/dataset.json`));
    for (const split of ["train", "test"] as const) {
      const n = meta[`n_${split}`];
      for (const [dir, f] of [[img, `img_${split}.npy`], [txt, `txt_${split}.npy`]]) {
        const a = await readNpy(`${dir}/${f}`);
        if (a.shape[0] !== n) {
          throw new Error(`raw-features: ${f} has ${a.shape[0]} rows but the dataset has ${n}`);
        }
        await Deno.copyFile(`${dir}/${f}`, ctx.out(f));
      }
      await Deno.copyFile(`${dataset}/y_${split}.npy`, ctx.out(`y_${split}.npy`));
    }
    const imgMeta = JSON.parse(await Deno.readTextFile(`${img}/features.json`).catch(() => "{}"));
    meta.source = { ...meta.source, image: imgMeta };
    await Deno.writeTextFile(ctx.out("dataset.json"), JSON.stringify(meta, null, 2));
  },
};
