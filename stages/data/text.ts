/**
 * Text side of the raw datasets: tokeniser, English stop words, Wikipedia XML text extraction, a
 * tiny XML element reader (VOC and LabelMe annotations), vocabularies and tag word-count vectors,
 * and the `tag-counts` stage kind (Pascal: a fixed 399-word list; LabelMe: tags seen > 3 times).
 * @module
 */
import type { ParamsOf } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { writeMatrix } from "../tensor_io/npy.ts";

/** English stop words (the NLTK list plus a few web/markup leftovers). */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  ("i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she " +
    "her hers herself it its itself they them their theirs themselves what which who whom this that " +
    "these those am is are was were be been being have has had having do does did doing a an the and " +
    "but if or because as until while of at by for with about against between into through during " +
    "before after above below to from up down in out on off over under again further then once here " +
    "there when where why how all any both each few more most other some such no nor not only own same " +
    "so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn " +
    "hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn also would could " +
    "may might must shall one two three many much however although though within without upon " +
    "among whose yet since thus us per via etc http https www com ref nbsp quot amp").split(" "),
);

/** Options of {@link tokenize}. */
export interface TokenizeOptions {
  /** Remove {@link STOP_WORDS}; default true. */
  stopwords?: boolean;
  /** Drop tokens shorter than this; default 2. */
  minLength?: number;
}

/**
 * Lower-case, split on anything that is not a letter (digits and punctuation separate tokens and
 * are dropped), strip diacritics, and remove stop words and short tokens.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  const stop = options.stopwords ?? true;
  const minLength = options.minLength ?? 2;
  const plain = text.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase();
  const out: string[] = [];
  for (const m of plain.matchAll(/\p{L}+/gu)) {
    const t = m[0];
    if (t.length < minLength) continue;
    if (stop && STOP_WORDS.has(t)) continue;
    out.push(t);
  }
  return out;
}

/** Decode the five XML entities and numeric character references. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[e] as string;
  });
}

/** Inner XML of every element `<tag ...>...</tag>` (non-nested tags; CDATA kept as text). */
export function xmlElements(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}\\s*>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1]);
}

/** Text content of the first `<tag>` element (tags stripped, entities decoded, trimmed), or null. */
export function xmlText(xml: string, tag: string): string | null {
  const el = xmlElements(xml, tag)[0];
  return el === undefined ? null : stripTags(el).trim();
}

function stripTags(s: string): string {
  const noCdata = s.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_, c: string) => c.replace(/</g, " <"));
  return decodeEntities(noCdata.replace(/<!--[\s\S]*?-->/g, " ").replace(/<[^>]*>/g, " "));
}

/**
 * The article text of a Wikipedia-dataset XML document (`<document>` with `<title>` and `<text>`
 * children, Rasiwasia et al. 2010): the `<text>` content, or the whole document stripped of tags if
 * it has no `<text>` element.
 */
export function wikiText(xml: string): string {
  const t = xmlText(xml, "text");
  if (t !== null) return t;
  return stripTags(xml.replace(/<\?xml[^>]*\?>/, "")).trim();
}

/**
 * Vocabulary of `docs`: words with at least `minCount` occurrences, sorted, mapped to ids 0..V-1.
 */
export function buildVocabulary(
  docs: string[][],
  options: { minCount?: number } = {},
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of docs) for (const t of d) counts.set(t, (counts.get(t) ?? 0) + 1);
  const min = options.minCount ?? 1;
  const words = [...counts].filter(([, c]) => c >= min).map(([w]) => w).sort();
  return new Map(words.map((w, i) => [w, i]));
}

/** Word-count vectors (rows = docs, cols = vocabulary ids), float64; unknown words are ignored. */
export function countVectors(docs: string[][], vocab: Map<string, number>): Float64Array {
  const V = vocab.size;
  const out = new Float64Array(docs.length * V);
  docs.forEach((d, i) => {
    for (const t of d) {
      const id = vocab.get(t);
      if (id !== undefined) out[i * V + id]++;
    }
  });
  return out;
}

/**
 * Count vectors from tag indices (rows = items, cols = `V`), float64: `hist(taglist, 1:V)`.
 * An index outside 0..V-1 is an error naming the item.
 */
export function countIds(
  items: readonly { id: string; tagIds?: number[] }[],
  V: number,
): Float64Array {
  const out = new Float64Array(items.length * V);
  items.forEach((it, i) => {
    if (it.tagIds === undefined) throw new Error(`tag-counts: item ${it.id} has no tagIds`);
    for (const t of it.tagIds) {
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new Error(`tag-counts: item ${it.id} has tag index ${t}, outside 0..${V - 1}`);
      }
      out[i * V + t]++;
    }
  });
  return out;
}

/** Normalise a tag phrase to its tokens: lower case, letters only, no stop-word removal. */
export function tagTokens(tag: string): string[] {
  return tokenize(tag, { stopwords: false, minLength: 1 });
}

/** One item of a raw dataset (see datasets.ts): paths are relative to the extracted root. */
export interface RawItem {
  /** Stable id (file stem). */
  id: string;
  /** 0-based class id. */
  label: number;
  /** Image path relative to the root. */
  image: string;
  /** Text document path relative to the root (Wikipedia). */
  text?: string;
  /** Tags (Pascal `files`, LabelMe). */
  tags?: string[];
  /** Tags as 0-based indices into {@link RawItems.vocabulary}, in list order (Pascal `hwang-mat`). */
  tagIds?: number[];
}

/** The `items.json` of a `raw-dataset` object. */
export interface RawItems {
  /** Dataset name. */
  dataset: string;
  /** Class names, index = label. */
  classes: string[];
  /** Training items, in output row order. */
  train: RawItem[];
  /** Test items, in output row order. */
  test: RawItem[];
  /**
   * Fixed tag vocabulary, if the dataset has one (Pascal's 399 words). With `tagIds` its order is
   * the column order of the count vectors.
   */
  vocabulary?: string[];
}

/** Read `items.json` from the `dataset` input (a `raw-dataset` object directory). */
export async function readItemsFile(inputs: Record<string, string>): Promise<RawItems> {
  const dir = inputs.dataset;
  if (dir === undefined) {
    throw new Error("this stage needs an input named 'dataset' (a raw-dataset stage)");
  }
  if (inputs.root === undefined) {
    throw new Error("this stage needs an input named 'root' (the extract stage's data/ output)");
  }
  return JSON.parse(await Deno.readTextFile(`${dir}/items.json`)) as RawItems;
}

/** Params of the `tag-counts` kind. */
export type TagCountsParams = ParamsOf<typeof tagCountsKind.params>;

/**
 * `tag-counts`: word-count vectors over the tag vocabulary. Items with `tagIds` (Pascal's Hwang
 * tags) are counted by index over the dataset's vocabulary; string tags are tokenised and counted
 * over the dataset's own vocabulary when it has one, otherwise over the tags seen at least
 * `minCount` times (LabelMe: "more than 3 times" = 4). Outputs `txt_train.npy`, `txt_test.npy`,
 * `vocab.json`.
 */
export const tagCountsKind = defineKind({
  name: "tag-counts",
  description: "tag word-count vectors (fixed vocabulary, or tags seen ≥ minCount times)",
  module: import.meta.url,
  inputs: {
    dataset: "the raw-dataset stage (items and splits)",
    root: "the extracted dataset (an extract stage's `data` output)",
  },
  params: {
    minCount: { type: "integer", default: 4, doc: "keep tags seen at least this often (>3 ⇒ 4)" },
    vocabFrom: {
      type: "string",
      default: "all",
      enum: ["train", "all"],
      doc: "count tag frequencies over the train split or the whole dataset",
    },
    useDatasetVocabulary: {
      type: "boolean",
      default: true,
      doc: "use the dataset's fixed vocabulary for string tags when items.json has one " +
        "(tag indices, as Hwang's Pascal tags, always count over it)",
    },
  },
  outputs: ["txt_train.npy", "txt_test.npy", "vocab.json"],
  async run(ctx) {
    const p = ctx.params;
    const dir = ctx.inputs.dataset;
    if (dir === undefined) throw new Error("tag-counts needs an input named 'dataset'");
    const items = JSON.parse(await Deno.readTextFile(`${dir}/items.json`)) as RawItems;
    const byIds = [...items.train, ...items.test].some((it) => it.tagIds !== undefined);
    let trainCounts: Float64Array, testCounts: Float64Array, vocab: Map<string, number>;
    if (byIds) {
      // indices into the dataset's own vocabulary: counted as they are, no tokenising
      if (!items.vocabulary?.length) {
        throw new Error("tag-counts: items carry tagIds but items.json has no vocabulary");
      }
      vocab = new Map(items.vocabulary.map((w, i) => [w, i]));
      if (vocab.size !== items.vocabulary.length) {
        throw new Error("tag-counts: the dataset's vocabulary lists a word twice");
      }
      trainCounts = countIds(items.train, vocab.size);
      testCounts = countIds(items.test, vocab.size);
    } else {
      const docs = (split: "train" | "test") =>
        items[split].map((it) => {
          if (it.tags === undefined) {
            throw new Error(`tag-counts: item ${it.id} has no tags; use lda-text for texts`);
          }
          return it.tags.flatMap(tagTokens);
        });
      const train = docs("train");
      const test = docs("test");
      if (p.useDatasetVocabulary && items.vocabulary) {
        const words = [...new Set(items.vocabulary.flatMap(tagTokens))].sort();
        vocab = new Map(words.map((w, i) => [w, i]));
      } else {
        vocab = buildVocabulary(p.vocabFrom === "train" ? train : [...train, ...test], {
          minCount: p.minCount,
        });
      }
      if (vocab.size === 0) {
        throw new Error(`tag-counts: empty vocabulary (minCount ${p.minCount}); lower minCount`);
      }
      trainCounts = countVectors(train, vocab);
      testCounts = countVectors(test, vocab);
    }
    const V = vocab.size;
    const nTrain = items.train.length, nTest = items.test.length;
    await writeMatrix(ctx.out("txt_train.npy"), { data: trainCounts, rows: nTrain, cols: V });
    await writeMatrix(ctx.out("txt_test.npy"), { data: testCounts, rows: nTest, cols: V });
    await Deno.writeTextFile(ctx.out("vocab.json"), JSON.stringify([...vocab.keys()]));
    ctx.log(`tag-counts: V=${V}, ${nTrain} train, ${nTest} test`);
    ctx.provenance.vocabulary = {
      size: V,
      fixed: byIds || Boolean(p.useDatasetVocabulary && items.vocabulary),
      ...(byIds ? { from: "tag indices" } : {}),
    };
  },
});
