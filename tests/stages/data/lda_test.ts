import assert from "node:assert/strict";
import { type Corpus, fitLda, foldIn, ldaTextKind, toCorpus } from "../../../stages/data/lda.ts";
import { mulberry32 } from "../../../stages/util/rng.ts";
import { rawDatasetKind } from "../../../stages/data/datasets.ts";
import { readMatrix } from "../../../stages/tensor_io/npy.ts";
import { writeWikiFixture } from "../../helpers/fixtures_raw.ts";
import { runKind } from "../../helpers/stage_context.ts";

const K = 4;
const BLOCK = 10;
const V = K * BLOCK;

/** Planted corpus: topic k emits only words [k*10, k*10+10); each doc mixes ≤ 2 topics. */
function planted(docs: number, len: number, seed: number): { corpus: Corpus; theta: number[][] } {
  const r = mulberry32(seed);
  const words: number[] = [];
  const offsets = [0];
  const theta: number[][] = [];
  for (let d = 0; d < docs; d++) {
    const a = d % K;
    const b = (a + 1 + Math.floor(r() * (K - 1))) % K;
    const w = 0.6 + 0.4 * r(); // share of topic a
    const th = new Array(K).fill(0);
    th[a] += w;
    th[b] += 1 - w;
    theta.push(th);
    for (let i = 0; i < len; i++) {
      const k = r() < w ? a : b;
      words.push(k * BLOCK + Math.floor(r() * BLOCK));
    }
    offsets.push(words.length);
  }
  return {
    corpus: { words: Int32Array.from(words), offsets: Int32Array.from(offsets), vocabSize: V },
    theta,
  };
}

Deno.test("lda: recovers planted topics and proportions; fold-in matches held-out truth", () => {
  const { corpus, theta } = planted(120, 80, 1);
  const model = fitLda(corpus, {
    topics: K,
    alpha: 0.5,
    beta: 0.01,
    sweeps: 150,
    seed: 7,
    average: 20,
  });
  // Map each learned topic to the planted block holding most of its mass.
  const match: number[] = [];
  for (let k = 0; k < K; k++) {
    const mass = new Array(K).fill(0);
    for (let w = 0; w < V; w++) mass[Math.floor(w / BLOCK)] += model.phi[k * V + w];
    const best = mass.indexOf(Math.max(...mass));
    assert.ok(mass[best] > 0.95, `topic ${k} is not concentrated on one block: ${mass}`);
    match.push(best);
  }
  assert.deepStrictEqual([...match].sort(), [0, 1, 2, 3], `topics collapsed: ${match}`);
  let err = 0;
  for (let d = 0; d < theta.length; d++) {
    for (let k = 0; k < K; k++) err += Math.abs(model.theta[d * K + k] - theta[d][match[k]]);
  }
  err /= theta.length * K;
  assert.ok(err < 0.06, `mean |θ − θ*| = ${err}`);
  const held = planted(40, 80, 99);
  const th = foldIn(model, held.corpus, { sweeps: 50, seed: 3, average: 10 });
  let errT = 0;
  for (let d = 0; d < 40; d++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      errT += Math.abs(th[d * K + k] - held.theta[d][match[k]]);
      s += th[d * K + k];
    }
    assert.ok(Math.abs(s - 1) < 1e-9);
  }
  assert.ok(errT / (40 * K) < 0.08, `fold-in mean |θ − θ*| = ${errT / 160}`);
});

Deno.test("lda: deterministic for a seed, different for another; bad ids are refused", () => {
  const { corpus } = planted(20, 30, 2);
  const a = fitLda(corpus, { topics: K, sweeps: 5, seed: 1 });
  const b = fitLda(corpus, { topics: K, sweeps: 5, seed: 1 });
  const c = fitLda(corpus, { topics: K, sweeps: 5, seed: 2 });
  assert.deepStrictEqual(a.z, b.z);
  assert.notDeepStrictEqual(a.z, c.z);
  assert.strictEqual(a.alpha, 50 / K);
  const bad = { ...corpus, words: Int32Array.from(corpus.words).fill(V, 0, 1) };
  assert.throws(() => fitLda(bad, { topics: K, sweeps: 1, seed: 0 }), /outside \[0, 40\)/);
});

Deno.test("lda: toCorpus drops unknown words and keeps document boundaries", () => {
  const vocab = new Map([["cat", 0], ["dog", 1]]);
  const c = toCorpus([["cat", "eel", "dog"], [], ["dog"]], vocab);
  assert.deepStrictEqual([...c.words], [0, 1, 1]);
  assert.deepStrictEqual([...c.offsets], [0, 2, 2, 3]);
  assert.strictEqual(c.vocabSize, 2);
});

Deno.test("lda-text kind: wiki fixture texts give topic rows that separate the categories", async () => {
  const root = await Deno.makeTempDir();
  await writeWikiFixture(root, { train: 15, test: 6 });
  const ds = await runKind(rawDatasetKind, { inputs: { root }, params: { dataset: "wiki" } });
  const run = await runKind(ldaTextKind, {
    inputs: { dataset: ds.dir, root },
    params: { topics: 3, sweeps: 60, foldSweeps: 30, average: 10, alpha: 0.3, seed: 5 },
  });
  const tr = await readMatrix(`${run.dir}/txt_train.npy`);
  const te = await readMatrix(`${run.dir}/txt_test.npy`);
  assert.deepStrictEqual([tr.rows, tr.cols, te.rows, te.cols], [15, 3, 6, 3]);
  const vocab: string[] = JSON.parse(await Deno.readTextFile(`${run.dir}/vocab.json`));
  assert.ok(!vocab.includes("the") && !vocab.includes("of"), "stop words removed");
  assert.ok(vocab.includes("cafe") && vocab.includes("painting"));
  // Row i belongs to category i % 3; its dominant topic must be the category's topic.
  const dom = (m: { data: Float64Array }, i: number) => {
    const r = [...m.data.slice(i * 3, i * 3 + 3)];
    return r.indexOf(Math.max(...r));
  };
  const topicOf = [0, 1, 2].map((c) => dom(tr, c));
  assert.deepStrictEqual([...topicOf].sort(), [0, 1, 2]);
  for (let i = 0; i < 15; i++) assert.strictEqual(dom(tr, i), topicOf[i % 3]);
  for (let i = 0; i < 6; i++) assert.strictEqual(dom(te, i), topicOf[(15 + i) % 3]);
  assert.strictEqual((run.provenance.lda as { seed: number }).seed, 5);
});
