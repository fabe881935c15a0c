import assert from "node:assert/strict";
import type { StageKind } from "../../../pipeline/types.ts";
import {
  evaluateEmbedding,
  evaluateKind,
  resolveSimilarities,
} from "../../../stages/eval/evaluate.ts";
import { readEmbedding } from "../../../stages/formats/embedding.ts";
import { meanAveragePrecision } from "../../../stages/retrieval/map.ts";
import { readMetrics } from "../../../stages/formats/metrics.ts";
import { writeLabels, writeMatrix } from "../../../stages/tensor_io/npy.ts";
import type { Matrix } from "../../../stages/linalg/matrix.ts";
import { runKind } from "../../helpers/stage_context.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A toy embedding: class-dependent means plus noise, so mAP is well above chance. */
async function writeEmbedding(
  info: Record<string, unknown>,
  opts: { n?: number; d?: number; nan?: boolean; float32?: boolean } = {},
): Promise<{ dir: string; img: Matrix; txt: Matrix; y: number[] }> {
  const rand = lcg(9);
  const n = opts.n ?? 40, d = opts.d ?? 6;
  const y = Array.from({ length: n }, (_, i) => i % 4);
  const make = () => {
    const data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) data[i * d + k] = (k === y[i] ? 1 : 0) + (rand() - 0.5) * 1.5;
    }
    return { rows: n, cols: d, data };
  };
  const img = make(), txt = make();
  if (opts.nan) txt.data[7] = NaN;
  const dir = await Deno.makeTempDir({ prefix: "emb-" });
  await writeMatrix(`${dir}/img.npy`, img, { float32: opts.float32 });
  await writeMatrix(`${dir}/txt.npy`, txt);
  await writeLabels(`${dir}/y.npy`, y);
  await Deno.writeTextFile(`${dir}/embedding.json`, JSON.stringify(info));
  if (opts.float32) img.data = Float64Array.from(Float32Array.from(img.data));
  return { dir, img, txt, y };
}

const INFO = { dataset: "toy", method: "cca", pca: true, score: "cosine", hyper: {}, notes: [] };

Deno.test("evaluate kind: metrics.json rows match meanAveragePrecision; curves.json shape", async () => {
  const { dir, img, txt, y } = await writeEmbedding(INFO, { float32: true });
  const run = await runKind(evaluateKind as StageKind, {
    inputs: { emb: dir },
    params: { similarities: ["native", "euclidean", "cosine"], scope: 10 },
  });
  const rows = await readMetrics(run.dir);
  assert.deepEqual(rows.map((r) => r.similarity), ["cosine", "euclidean"]);
  for (const r of rows) {
    const sim = r.similarity as "cosine" | "euclidean";
    const i2t = meanAveragePrecision({ x: img, y }, { x: txt, y }, { similarity: sim });
    const t2i = meanAveragePrecision({ x: txt, y }, { x: img, y }, { similarity: sim });
    assert.equal(r.i2t, i2t);
    assert.equal(r.t2i, t2i);
    assert.equal(r.avg, (i2t + t2i) / 2);
    assert.equal(r.dataset, "toy");
    assert.equal(r.method, "cca");
    assert.equal(r.pca, true);
    assert.equal(r.stage, "test-evaluate");
    assert.ok(r.i2t > 0.4, `toy embedding should retrieve well: ${r.i2t}`);
  }
  const curves = JSON.parse(await Deno.readTextFile(`${run.dir}/curves.json`));
  assert.equal(curves.method, "cca");
  assert.equal(curves.pca, true);
  const c = curves.curves.cosine.i2t;
  assert.equal(c.pr11.recall.length, 11);
  assert.equal(c.pr11.precision.length, 11);
  assert.equal(c.pr.recall.length, 101);
  assert.deepEqual(c.scope.n, [10, 20, 30, 40]);
  assert.equal(c.map, rows[0].i2t);
  // P@40 over the whole gallery is the class share, 10/40.
  assert.ok(Math.abs(c.scope.precision[3] - 0.25) < 1e-12);
  assert.deepEqual(Object.keys(curves.curves.euclidean), ["i2t", "t2i"]);
  assert.deepEqual(run.provenance.similarities, ["cosine", "euclidean"]);
});

Deno.test("evaluate kind: label and dataset overrides; default similarities = native", async () => {
  const { dir } = await writeEmbedding({ ...INFO, score: "inner" });
  const run = await runKind(evaluateKind as StageKind, {
    inputs: { emb: dir },
    params: { label: "cca-k5", dataset: "wiki" },
  });
  const rows = await readMetrics(run.dir);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].similarity, "inner");
  assert.equal(rows[0].method, "cca-k5");
  assert.equal(rows[0].dataset, "wiki");
});

Deno.test("evaluateEmbedding: I→T and T→I are the two directions", async () => {
  const { img, txt, y } = await writeEmbedding(INFO, { n: 21, d: 3 });
  const r = evaluateEmbedding({ img, txt, y: Int32Array.from(y) }, {
    similarity: "nc",
    scope: [1, 21],
  });
  assert.equal(r.i2t.map, meanAveragePrecision({ x: img, y }, { x: txt, y }, { similarity: "nc" }));
  assert.equal(r.t2i.map, meanAveragePrecision({ x: txt, y }, { x: img, y }, { similarity: "nc" }));
});

Deno.test("evaluate: clear errors for bad input", async () => {
  await assert.rejects(() => runKind(evaluateKind as StageKind), /input "emb" is missing/);
  const nan = await writeEmbedding(INFO, { nan: true });
  await assert.rejects(() => readEmbedding(nan.dir), /txt\.npy: value NaN at row 1/);
  const badScore = await writeEmbedding({ ...INFO, score: "l2" });
  await assert.rejects(() => readEmbedding(badScore.dir), /"score" is "l2"/);
  const ok = await writeEmbedding(INFO);
  await writeLabels(`${ok.dir}/y.npy`, [0, 1]);
  await assert.rejects(() => readEmbedding(ok.dir), /y\.npy 2; they must be the same/);
  const none = await Deno.makeTempDir();
  await assert.rejects(() => readEmbedding(none), /must be an Embedding stage's object/);
  assert.throws(() => resolveSimilarities(["cosine", "kl"], "cosine"), /unknown "kl"/);
  assert.throws(() => resolveSimilarities([], "cosine"), /non-empty list/);
  assert.deepEqual(resolveSimilarities(["native", "nc", "inner"], "inner"), ["inner", "nc"]);
});

Deno.test("evaluate kind: every row carries R@1/5/10, medr and meanr of the 1:1 test pairs", async () => {
  const { dir, img, txt } = await writeEmbedding(INFO, { float32: true });
  const run = await runKind(evaluateKind as StageKind, {
    inputs: { emb: dir },
    params: { similarities: ["cosine", "euclidean"], scope: 10 },
  });
  // An independent brute force: sort each query's gallery by (score desc, index asc).
  const cos = (a: Matrix, i: number, b: Matrix, j: number) => {
    let dot = 0, na = 0, nb = 0;
    for (let k = 0; k < a.cols; k++) {
      const x = a.data[i * a.cols + k], z = b.data[j * b.cols + k];
      dot += x * z;
      na += x * x;
      nb += z * z;
    }
    return dot / Math.sqrt(na * nb);
  };
  const ranks = (q: Matrix, g: Matrix) =>
    Array.from({ length: q.rows }, (_, i) => {
      const order = Array.from({ length: g.rows }, (_, j) => j)
        .sort((a, b) => cos(q, i, g, b) - cos(q, i, g, a) || a - b);
      return order.indexOf(i);
    });
  const rows = await readMetrics(run.dir);
  const r = rows.find((x) => x.similarity === "cosine")!;
  for (const [dir, rk] of [["i2t", ranks(img, txt)], ["t2i", ranks(txt, img)]] as const) {
    const n = rk.length;
    const sorted = rk.slice().sort((a, b) => a - b);
    assert.equal(r[`${dir}_r1`], rk.filter((v) => v < 1).length / n);
    assert.equal(r[`${dir}_r5`], rk.filter((v) => v < 5).length / n);
    assert.equal(r[`${dir}_r10`], rk.filter((v) => v < 10).length / n);
    assert.equal(r[`${dir}_medr`], Math.floor((sorted[n / 2 - 1] + sorted[n / 2]) / 2) + 1);
    assert.ok(Math.abs(r[`${dir}_meanr`]! - (rk.reduce((a, b) => a + b) / n + 1)) < 1e-12);
  }
  assert.ok(rows.every((x) => typeof x.t2i_medr === "number"), "euclidean rows too");
});

Deno.test("evaluate kind: sweep values become fields of every row and of curves.json", async () => {
  const { dir } = await writeEmbedding(INFO);
  const run = await runKind(evaluateKind as StageKind, {
    inputs: { emb: dir },
    params: { similarities: ["cosine", "euclidean"], sweep: { lambda: 0.0001 } },
  });
  const rows = await readMetrics(run.dir);
  assert.deepEqual(rows.map((r) => [r.method, r.similarity, r.lambda, r.seed]), [
    ["cca", "cosine", 0.0001, undefined],
    ["cca", "euclidean", 0.0001, undefined],
  ]);
  const curves = JSON.parse(await Deno.readTextFile(`${run.dir}/curves.json`));
  assert.equal(curves.lambda, 0.0001);
  const plain = await runKind(evaluateKind as StageKind, { inputs: { emb: dir }, params: {} });
  assert.ok(!("lambda" in (await readMetrics(plain.dir))[0]), "no sweep: no field");
  const validate = evaluateKind.validate!;
  const base = { similarities: ["native"], scope: 10, label: "", dataset: "" };
  assert.deepEqual(validate({ ...base, sweep: { lambda: 0.1, seed: 2 } }), []);
  assert.deepEqual(validate({ ...base, sweep: { lamda: 0.1 } as never }), [
    { param: "sweep", message: "unknown field 'lamda'; sweep fields: lambda,seed" },
  ]);
  assert.deepEqual(validate({ ...base, sweep: { seed: "0" } as never }), [
    { param: "sweep", message: `'seed' must be a number, got "0"` },
  ]);
});
