import assert from "node:assert/strict";
import {
  collectRows,
  type MetricRow,
  metricRow,
  readMetrics,
  validateRow,
  writeMetrics,
} from "../../../stages/formats/metrics.ts";

const row = (method: string, stage: string): MetricRow =>
  metricRow({ dataset: "wiki", method, pca: false, similarity: "cosine", stage }, {
    i2t: 0.3,
    t2i: 0.2,
  });

Deno.test("metricRow computes avg", () => {
  const r = row("cca", "eval-cca");
  assert.equal(r.avg, 0.25);
  assert.deepEqual(Object.keys(r), [
    "dataset",
    "method",
    "pca",
    "similarity",
    "i2t",
    "t2i",
    "avg",
    "stage",
  ]);
});

Deno.test("collectRows reads directories and files in order; skipMissing", async () => {
  const a = await Deno.makeTempDir(),
    b = await Deno.makeTempDir(),
    empty = await Deno.makeTempDir();
  await writeMetrics(`${a}/metrics.json`, [row("cca", "eval-cca"), row("pls", "eval-pls")]);
  await writeMetrics(`${b}/metrics.json`, [row("blm", "eval-blm")]);
  const rows = await collectRows([b, `${a}/metrics.json`]);
  assert.deepEqual(rows.map((r) => r.method), ["blm", "cca", "pls"]);
  await assert.rejects(() => collectRows([a, empty]), /no metrics\.json here/);
  const some = await collectRows([empty, a], { skipMissing: true });
  assert.equal(some.length, 2);
  assert.deepEqual(await collectRows([]), []);
});

Deno.test("readMetrics rejects bad files with the field named", async () => {
  const d = await Deno.makeTempDir();
  await Deno.writeTextFile(`${d}/metrics.json`, "{ not json");
  await assert.rejects(() => readMetrics(d), /not valid JSON/);
  await Deno.writeTextFile(`${d}/metrics.json`, JSON.stringify([]));
  await assert.rejects(() => readMetrics(d), /expected \{ "rows"/);
  const bad = { ...row("cca", "s"), i2t: "0.3" };
  await Deno.writeTextFile(`${d}/metrics.json`, JSON.stringify({ rows: [bad] }));
  await assert.rejects(() => readMetrics(d), /rows\[0\]: field "i2t" must be a finite number/);
  assert.throws(() => validateRow({ ...row("x", "s"), pca: "no" }, "here"), /"pca" must be/);
  assert.throws(() => validateRow(null, "here"), /must be an object/);
});

Deno.test("R@K fields are optional: old rows read unchanged, new rows round-trip, bad values fail", () => {
  const old = row("cca", "eval-cca");
  assert.deepEqual(validateRow(JSON.parse(JSON.stringify(old)), "x"), old);
  assert.equal("i2t_r1" in old, false);
  const d = { r1: 0.25, r5: 0.5, r10: 0.75, medr: 3, meanr: 4.5 };
  const full = metricRow(
    { dataset: "wiki", method: "vsepp", pca: false, similarity: "cosine", stage: "e" },
    { i2t: 0.3, t2i: 0.2 },
    { recall: { i2t: d, t2i: { ...d, r1: 0.1 } } },
  );
  assert.equal(full.i2t_r1, 0.25);
  assert.equal(full.t2i_r1, 0.1);
  assert.equal(full.t2i_meanr, 4.5);
  assert.deepEqual(validateRow(JSON.parse(JSON.stringify(full)), "x"), full);
  assert.throws(
    () => validateRow({ ...old, i2t_medr: "3" }, "m.json rows[0]"),
    /m.json rows\[0\]: optional field "i2t_medr" must be a finite number/,
  );
});

Deno.test("sweep fields (lambda, seed): written after stage, read back, bad values fail", () => {
  const r = metricRow(
    { dataset: "wiki", method: "dse-ds", pca: false, similarity: "cosine", stage: "s" },
    { i2t: 0.3, t2i: 0.2 },
    { sweep: { lambda: 0.0001, seed: 1 } },
  );
  assert.deepEqual(Object.keys(r).slice(7), ["stage", "lambda", "seed"]);
  assert.deepEqual(validateRow(JSON.parse(JSON.stringify(r)), "m"), r);
  assert.throws(
    () => validateRow({ ...r, lambda: "1e-4" }, "m rows[0]"),
    /m rows\[0\]: optional field "lambda" must be a finite number, got "1e-4"/,
  );
});
