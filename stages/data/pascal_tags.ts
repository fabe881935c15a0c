/**
 * Hwang & Grauman's (BMVC 2010) Pascal VOC2007 tag lists in the form the public cross-modal code
 * reads them: `train.mat` (VOC trainval) and `test.mat` (VOC test), each holding struct arrays
 * (`D1`, `D2`, concatenated in that order) whose elements have
 *
 * - `filename`: the VOC image, e.g. `000005.jpg` (a path or a bare id is accepted too);
 * - `objectcount`: 1×20 object counts per VOC class (the devkit's alphabetical order);
 * - `taglist`: the ordered tag list as 1-based indices into the 399-word vocabulary (words may
 *   repeat; the list may be empty).
 *
 * The single-object subset of Sharma et al. (2012), 2808 train / 2841 test, keeps the images whose
 * `objectcount` has exactly one non-zero class, which is the rule of the public code
 * (`length(find(D(n).objectcount == 0)) == 19`). Other fields (`gist`, `color`, `bow`) are ignored.
 * @module
 */
import { matField, type MatVariable, matVariable, readMatV5 } from "../tensor_io/mat_v5.ts";

/** One element of a Hwang tag struct array. */
export interface HwangRecord {
  /** VOC image id (file stem), e.g. `000005`. */
  id: string;
  /** Object counts per VOC class (20 values). */
  objectcount: number[];
  /** Tags as 0-based indices into the vocabulary, in list order. */
  tagIds: number[];
}

/** Options of {@link readHwangTagFile}. */
export interface HwangOptions {
  /** Struct-array variables to concatenate, in order (default `["D1", "D2"]`). */
  variables?: string[];
  /** Vocabulary size; a tag index outside 1..V is an error (default 399). */
  vocabularySize?: number;
}

function numbersOf(v: MatVariable, where: string): number[] {
  if (!v.data) throw new Error(`${where} is a ${v.class} array, expected numbers`);
  return Array.from(v.data as ArrayLike<number | bigint>, Number);
}

/** VOC id of a `filename` field: the stem of the last path component. */
export function vocIdOf(filename: string): string {
  const base = filename.trim().split(/[\\/]/).pop() ?? "";
  return base.replace(/\.(jpe?g|png)$/i, "");
}

/**
 * Read one of Hwang's tag files (`train.mat` or `test.mat`, MAT v5) into records, in file order.
 * Errors name the file, the variable and the element.
 */
export async function readHwangTagFile(
  path: string,
  options: HwangOptions = {},
): Promise<HwangRecord[]> {
  const vars = await readMatV5(path);
  const names = options.variables ?? ["D1", "D2"];
  const V = options.vocabularySize ?? 399;
  const out: HwangRecord[] = [];
  for (const name of names) {
    const v = matVariable(vars, name, { source: path });
    if (v.class !== "struct" || !v.records) {
      throw new Error(`${path}: variable '${name}' is a ${v.class} array, expected a struct array`);
    }
    v.records.forEach((rec, i) => {
      const at = `${path}: ${name}(${i + 1})`;
      const fn = matField(rec, "filename", { source: at });
      const filename = fn.text?.join("") ?? "";
      if (filename.trim() === "") throw new Error(`${at}.filename is empty or not text`);
      const objectcount = numbersOf(
        matField(rec, "objectcount", { source: at }),
        `${at}.objectcount`,
      );
      if (objectcount.length !== 20) {
        throw new Error(
          `${at}.objectcount has ${objectcount.length} values, expected 20 VOC classes`,
        );
      }
      const tags = numbersOf(matField(rec, "taglist", { source: at }), `${at}.taglist`);
      const tagIds = tags.map((t) => {
        if (!Number.isInteger(t) || t < 1 || t > V) {
          throw new Error(
            `${at}.taglist holds ${t}, not a word index in 1..${V}; check the vocabulary size ` +
              `(vocabularySize, or the length of the vocabulary file)`,
          );
        }
        return t - 1;
      });
      out.push({ id: vocIdOf(filename), objectcount, tagIds });
    });
  }
  const seen = new Set<string>();
  for (const r of out) {
    if (seen.has(r.id)) throw new Error(`${path}: image ${r.id} appears twice`);
    seen.add(r.id);
  }
  return out;
}

/**
 * The class of a single-class image (the index of the one non-zero `objectcount` entry), or -1
 * when the image shows objects of several classes or none.
 */
export function singleClassOf(objectcount: readonly number[]): number {
  let found = -1;
  for (let c = 0; c < objectcount.length; c++) {
    if (objectcount[c] !== 0) {
      if (found >= 0) return -1;
      found = c;
    }
  }
  return found;
}
