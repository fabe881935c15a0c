/**
 * Latent Dirichlet allocation by collapsed Gibbs sampling (Griffiths & Steyvers 2004) on typed
 * arrays, with fold-in for held-out documents, and the `lda-text` stage kind.
 *
 * Counts: `ndk` (D×K), `nwk` (V×K, word-major so one token's K counts are contiguous), `nk` (K).
 * One sweep resamples every token once from
 * p(z = k) ∝ (ndk[d,k] + α) · (nwk[w,k] + β) / (nk[k] + Vβ).
 * @module
 */
import type { ParamsOf } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { writeMatrix } from "../tensor_io/npy.ts";
import { mulberry32 } from "../util/rng.ts";
import { buildVocabulary, type RawItems, readItemsFile, tokenize, wikiText } from "./text.ts";

/** A corpus in token form: document d holds tokens `words[offsets[d] .. offsets[d+1])`. */
export interface Corpus {
  /** Word id of every token, documents concatenated. */
  words: Int32Array;
  /** D+1 offsets into `words`. */
  offsets: Int32Array;
  /** Vocabulary size. */
  vocabSize: number;
}

/** Options of {@link fitLda}. */
export interface LdaOptions {
  /** Number of topics. */
  topics: number;
  /** Symmetric document-topic prior; default 50/K. */
  alpha?: number;
  /** Symmetric topic-word prior; default 0.01. */
  beta?: number;
  /** Gibbs sweeps. */
  sweeps: number;
  /** Seed of the sampler's PRNG. */
  seed: number;
  /** Average θ over the last `average` sweeps (default 1: the final state). */
  average?: number;
  /** Called after each sweep. */
  onSweep?: (done: number, total: number) => void;
}

/** A fitted model. */
export interface LdaModel {
  /** Topics. */
  topics: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** Priors used. */
  alpha: number;
  /** Topic-word prior used. */
  beta: number;
  /** Topic-word distributions φ, K×V row-major (each row sums to 1). */
  phi: Float64Array;
  /** Document-topic proportions θ of the training documents, D×K row-major. */
  theta: Float64Array;
  /** Final topic of every training token. */
  z: Int32Array;
}

function checkCorpus(c: Corpus): void {
  const D = c.offsets.length - 1;
  if (D < 0 || c.offsets[0] !== 0 || c.offsets[D] !== c.words.length) {
    throw new Error("lda: corpus offsets must start at 0 and end at words.length");
  }
  for (let i = 0; i < c.words.length; i++) {
    if (c.words[i] < 0 || c.words[i] >= c.vocabSize) {
      throw new Error(`lda: token ${i} has word id ${c.words[i]} outside [0, ${c.vocabSize})`);
    }
  }
}

/** Fit LDA to `corpus` by collapsed Gibbs sampling. Deterministic for a given seed. */
export function fitLda(corpus: Corpus, options: LdaOptions): LdaModel {
  checkCorpus(corpus);
  const K = options.topics;
  if (!(K >= 1)) throw new Error(`lda: topics must be ≥ 1, got ${K}`);
  const V = corpus.vocabSize;
  const D = corpus.offsets.length - 1;
  const alpha = options.alpha ?? 50 / K;
  const beta = options.beta ?? 0.01;
  const vBeta = V * beta;
  const rand = mulberry32(options.seed);
  const { words, offsets } = corpus;
  const N = words.length;
  const z = new Int32Array(N);
  const ndk = new Int32Array(D * K);
  const nwk = new Int32Array(V * K);
  const nk = new Int32Array(K);
  for (let d = 0; d < D; d++) {
    for (let i = offsets[d]; i < offsets[d + 1]; i++) {
      const k = Math.floor(rand() * K);
      z[i] = k;
      ndk[d * K + k]++;
      nwk[words[i] * K + k]++;
      nk[k]++;
    }
  }
  const p = new Float64Array(K);
  const average = Math.max(1, Math.min(options.average ?? 1, options.sweeps));
  const thetaSum = new Float64Array(D * K);
  for (let s = 0; s < options.sweeps; s++) {
    for (let d = 0; d < D; d++) {
      const dk = d * K;
      for (let i = offsets[d]; i < offsets[d + 1]; i++) {
        const w = words[i] * K;
        let k = z[i];
        ndk[dk + k]--;
        nwk[w + k]--;
        nk[k]--;
        let total = 0;
        for (let j = 0; j < K; j++) {
          total += (ndk[dk + j] + alpha) * (nwk[w + j] + beta) / (nk[j] + vBeta);
          p[j] = total;
        }
        const u = rand() * total;
        k = 0;
        while (k < K - 1 && p[k] <= u) k++;
        z[i] = k;
        ndk[dk + k]++;
        nwk[w + k]++;
        nk[k]++;
      }
    }
    if (s >= options.sweeps - average) accumulateTheta(thetaSum, ndk, offsets, K, alpha);
    options.onSweep?.(s + 1, options.sweeps);
  }
  if (options.sweeps === 0) accumulateTheta(thetaSum, ndk, offsets, K, alpha);
  const nAvg = options.sweeps === 0 ? 1 : average;
  for (let i = 0; i < thetaSum.length; i++) thetaSum[i] /= nAvg;
  const phi = new Float64Array(K * V);
  for (let k = 0; k < K; k++) {
    for (let w = 0; w < V; w++) phi[k * V + w] = (nwk[w * K + k] + beta) / (nk[k] + vBeta);
  }
  return { topics: K, vocabSize: V, alpha, beta, phi, theta: thetaSum, z };
}

function accumulateTheta(
  acc: Float64Array,
  ndk: Int32Array,
  offsets: Int32Array,
  K: number,
  alpha: number,
): void {
  const D = offsets.length - 1;
  for (let d = 0; d < D; d++) {
    const n = offsets[d + 1] - offsets[d];
    for (let k = 0; k < K; k++) acc[d * K + k] += (ndk[d * K + k] + alpha) / (n + K * alpha);
  }
}

/**
 * θ of new documents with the topics φ of `model` held fixed: Gibbs sampling of the new tokens'
 * topics only, p(z = k) ∝ (ndk[d,k] + α) · φ[k,w]. Returns D×K row-major.
 */
export function foldIn(
  model: LdaModel,
  corpus: Corpus,
  options: { sweeps: number; seed: number; average?: number },
): Float64Array {
  if (corpus.vocabSize > model.vocabSize) {
    throw new Error("lda: fold-in corpus uses a larger vocabulary than the model");
  }
  checkCorpus(corpus);
  const K = model.topics;
  const V = model.vocabSize;
  const { words, offsets } = corpus;
  const D = offsets.length - 1;
  const alpha = model.alpha;
  const rand = mulberry32(options.seed);
  const phiT = new Float64Array(V * K);
  for (let k = 0; k < K; k++) for (let w = 0; w < V; w++) phiT[w * K + k] = model.phi[k * V + w];
  const z = new Int32Array(words.length);
  const ndk = new Int32Array(D * K);
  for (let i = 0; i < words.length; i++) z[i] = -1;
  for (let d = 0; d < D; d++) {
    for (let i = offsets[d]; i < offsets[d + 1]; i++) {
      const k = Math.floor(rand() * K);
      z[i] = k;
      ndk[d * K + k]++;
    }
  }
  const p = new Float64Array(K);
  const average = Math.max(1, Math.min(options.average ?? 1, options.sweeps));
  const acc = new Float64Array(D * K);
  for (let s = 0; s < options.sweeps; s++) {
    for (let d = 0; d < D; d++) {
      const dk = d * K;
      for (let i = offsets[d]; i < offsets[d + 1]; i++) {
        const w = words[i] * K;
        let k = z[i];
        ndk[dk + k]--;
        let total = 0;
        for (let j = 0; j < K; j++) {
          total += (ndk[dk + j] + alpha) * phiT[w + j];
          p[j] = total;
        }
        const u = rand() * total;
        k = 0;
        while (k < K - 1 && p[k] <= u) k++;
        z[i] = k;
        ndk[dk + k]++;
      }
    }
    if (s >= options.sweeps - average) accumulateTheta(acc, ndk, offsets, K, alpha);
  }
  if (options.sweeps === 0) accumulateTheta(acc, ndk, offsets, K, alpha);
  const nAvg = options.sweeps === 0 ? 1 : average;
  for (let i = 0; i < acc.length; i++) acc[i] /= nAvg;
  return acc;
}

/** Build a {@link Corpus} from token lists; tokens missing from `vocab` are dropped. */
export function toCorpus(docs: string[][], vocab: Map<string, number>): Corpus {
  const offsets = new Int32Array(docs.length + 1);
  const ids: number[] = [];
  docs.forEach((doc, d) => {
    for (const t of doc) {
      const id = vocab.get(t);
      if (id !== undefined) ids.push(id);
    }
    offsets[d + 1] = ids.length;
  });
  return { words: Int32Array.from(ids), offsets, vocabSize: vocab.size };
}

/** Params of the `lda-text` kind. */
export type LdaTextParams = ParamsOf<typeof ldaTextKind.params>;

/**
 * `lda-text`: LDA topic proportions of the documents of a `raw-dataset` object. Fits on the train
 * documents, folds in the test documents. Outputs `txt_train.npy`, `txt_test.npy` (float64, rows
 * sum to 1), `topics.json` (top words per topic) and `vocab.json`.
 */
export const ldaTextKind = defineKind({
  name: "lda-text",
  description: "LDA topic features of raw texts (collapsed Gibbs; fit on train, fold-in test)",
  module: import.meta.url,
  inputs: {
    dataset: "the raw-dataset stage (items and splits)",
    root: "the extracted dataset (an extract stage's `data` output)",
  },
  params: {
    topics: { type: "integer", default: 10, doc: "number of topics K (Rasiwasia 2010: 10)" },
    alpha: { type: "number", default: 0, doc: "document-topic prior; 0 = 50/K" },
    beta: { type: "number", default: 0.01, doc: "topic-word prior" },
    sweeps: { type: "integer", default: 1000, doc: "Gibbs sweeps over the train documents" },
    foldSweeps: { type: "integer", default: 200, doc: "Gibbs sweeps to fold in test documents" },
    average: { type: "integer", default: 50, doc: "average θ over this many final sweeps" },
    seed: { type: "integer", default: 0, doc: "sampler seed (recorded)" },
    minCount: { type: "integer", default: 1, doc: "drop words seen fewer times in train" },
    stopwords: { type: "boolean", default: true, doc: "remove English stop words" },
  },
  outputs: ["txt_train.npy", "txt_test.npy", "topics.json", "vocab.json"],
  async run(ctx) {
    const p = ctx.params;
    const items: RawItems = await readItemsFile(ctx.inputs);
    const root = ctx.inputs.root;
    const docsOf = async (split: "train" | "test") => {
      const out: string[][] = [];
      for (const it of items[split]) {
        if (it.text === undefined) {
          throw new Error(`lda-text: item ${it.id} has no text; lda-text needs a text dataset`);
        }
        const raw = await Deno.readTextFile(`${root}/${it.text}`);
        out.push(tokenize(wikiText(raw), { stopwords: p.stopwords }));
      }
      return out;
    };
    const trainDocs = await docsOf("train");
    const testDocs = await docsOf("test");
    const vocab = buildVocabulary(trainDocs, { minCount: p.minCount });
    const train = toCorpus(trainDocs, vocab);
    const test = toCorpus(testDocs, vocab);
    const K = p.topics;
    ctx.log(`lda: ${trainDocs.length} train docs, ${train.words.length} tokens, V=${vocab.size}`);
    const t0 = performance.now();
    const model = fitLda(train, {
      topics: K,
      alpha: p.alpha > 0 ? p.alpha : undefined,
      beta: p.beta,
      sweeps: p.sweeps,
      seed: p.seed,
      average: p.average,
      onSweep: (d, n) => {
        if (d % 10 === 0 || d === n) ctx.progress(d, n + 1, "gibbs sweeps");
        ctx.signal.throwIfAborted();
      },
    });
    const secs = (performance.now() - t0) / 1000;
    const thetaTest = foldIn(model, test, {
      sweeps: p.foldSweeps,
      seed: p.seed + 1,
      average: p.average,
    });
    ctx.progress(p.sweeps + 1, p.sweeps + 1);
    await writeMatrix(ctx.out("txt_train.npy"), {
      data: model.theta,
      rows: trainDocs.length,
      cols: K,
    });
    await writeMatrix(ctx.out("txt_test.npy"), { data: thetaTest, rows: testDocs.length, cols: K });
    const words = [...vocab.keys()];
    const topics = [];
    for (let k = 0; k < K; k++) {
      const row = model.phi.subarray(k * vocab.size, (k + 1) * vocab.size);
      const top = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 15);
      topics.push(top.map((w) => words[w]));
    }
    await Deno.writeTextFile(ctx.out("topics.json"), JSON.stringify({ topics }, null, 1));
    await Deno.writeTextFile(ctx.out("vocab.json"), JSON.stringify(words));
    ctx.provenance.lda = {
      seed: p.seed,
      alpha: model.alpha,
      beta: model.beta,
      sweeps: p.sweeps,
      secondsPerSweep: secs / Math.max(1, p.sweeps),
      vocab: vocab.size,
      tokens: train.words.length,
    };
  },
});
