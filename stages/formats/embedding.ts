/**
 * The Embedding artifact (docs/architecture.md, "Embedding"): `img.npy`, `txt.npy` (test-set
 * embeddings of images and texts, same width), `y.npy` (int32 test labels shared by the pairs) and
 * `embedding.json` ({@link EmbeddingInfo}). One reader ({@link readEmbedding}) and one writer
 * ({@link writeEmbedding}); every baseline and DSE stage writes one, `evaluate` and the report read
 * them.
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";
import { SIMILARITIES, type Similarity } from "../retrieval/map.ts";
import { readLabels, readMatrix, writeLabels } from "../tensor_io/npy.ts";
import { rowsOf, type ViewRows, writeRows } from "./feature_set.ts";

/** The files of an Embedding artifact (a stage may write more, e.g. DSE's `centers.npy`). */
export const EMBEDDING_OUTPUTS: readonly string[] = [
  "img.npy",
  "txt.npy",
  "y.npy",
  "embedding.json",
];

/** The metadata of an Embedding artifact (`embedding.json`). */
export interface EmbeddingInfo {
  /** Dataset id. */
  dataset: string;
  /** Method label. */
  method: string;
  /** Whether PCA was applied on the image side. */
  pca: boolean;
  /** The method's native similarity. */
  score: Similarity;
  /** Hyper-parameters, free-form. */
  hyper?: Record<string, unknown>;
  /** Notes, free-form. */
  notes?: string[];
}

/** A loaded Embedding artifact. */
export interface Embedding {
  /** Test image embeddings. */
  img: Matrix;
  /** Test text embeddings. */
  txt: Matrix;
  /** Test labels, shared by the pairs. */
  y: Int32Array;
  /** embedding.json. */
  info: EmbeddingInfo;
}

/** Read and validate an Embedding artifact directory. */
export async function readEmbedding(dir: string): Promise<Embedding> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(`${dir}/embedding.json`));
  } catch (e) {
    throw new Error(
      `${dir}/embedding.json: cannot read (${(e as Error).message}); ` +
        `the \`emb\` input must be an Embedding stage's object`,
    );
  }
  const info = raw as Partial<EmbeddingInfo>;
  if (typeof info.dataset !== "string" || typeof info.method !== "string") {
    throw new Error(`${dir}/embedding.json: "dataset" and "method" must be strings`);
  }
  if (typeof info.pca !== "boolean") {
    throw new Error(`${dir}/embedding.json: "pca" must be true or false`);
  }
  if (!SIMILARITIES.includes(info.score as Similarity)) {
    throw new Error(
      `${dir}/embedding.json: "score" is ${JSON.stringify(info.score)}; use one of ${SIMILARITIES}`,
    );
  }
  const [img, txt, y] = await Promise.all([
    readMatrix(`${dir}/img.npy`),
    readMatrix(`${dir}/txt.npy`),
    readLabels(`${dir}/y.npy`),
  ]);
  if (img.cols !== txt.cols) {
    throw new Error(
      `${dir}: img.npy is ${img.rows}×${img.cols} but txt.npy is ${txt.rows}×${txt.cols}; ` +
        `both must have the embedding width`,
    );
  }
  if (img.rows !== y.length || txt.rows !== y.length) {
    throw new Error(
      `${dir}: img.npy has ${img.rows} rows, txt.npy ${txt.rows}, y.npy ${y.length}; ` +
        `they must be the same test pairs`,
    );
  }
  for (const [name, m] of [["img", img], ["txt", txt]] as const) {
    for (let i = 0; i < m.data.length; i++) {
      if (!Number.isFinite(m.data[i])) {
        throw new Error(
          `${dir}/${name}.npy: value ${m.data[i]} at row ${Math.floor(i / m.cols)}; ` +
            `embeddings must be finite (did training diverge?)`,
        );
      }
    }
  }
  return { img, txt, y, info: info as EmbeddingInfo };
}

/** What {@link writeEmbedding} writes. */
export interface EmbeddingToWrite {
  /** Test-set image embeddings (float64 matrix, or float32 rows with their shape). */
  img: ViewRows;
  /** Test-set text embeddings, same width. */
  txt: ViewRows;
  /** Test labels. */
  y: ArrayLike<number>;
  /** `embedding.json`. */
  info: EmbeddingInfo;
}

/**
 * Write an Embedding artifact, checking that the widths agree and every part has one row per
 * test pair.
 * @param out maps an output name to its path (a stage's `ctx.out`)
 * @param emb the embeddings, labels and metadata
 */
export async function writeEmbedding(
  out: (name: string) => string,
  emb: EmbeddingToWrite,
): Promise<void> {
  const img = rowsOf(emb.img), txt = rowsOf(emb.txt);
  if (img.cols !== txt.cols) {
    throw new Error(`embedding: image width ${img.cols} != text width ${txt.cols}`);
  }
  if (img.rows !== emb.y.length || txt.rows !== emb.y.length) {
    throw new Error("embedding: image, text and label rows must all be the test-set size");
  }
  const { dataset, method, pca, score, hyper, notes } = emb.info;
  await Promise.all([
    writeRows(out("img.npy"), emb.img),
    writeRows(out("txt.npy"), emb.txt),
    writeLabels(out("y.npy"), emb.y),
    Deno.writeTextFile(
      out("embedding.json"),
      JSON.stringify({ dataset, method, pca, score, hyper, notes }, null, 2) + "\n",
    ),
  ]);
}
