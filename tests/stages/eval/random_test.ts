import assert from "node:assert/strict";
import type { StageKind } from "../../../pipeline/types.ts";
import { evaluateDirection } from "../../../stages/retrieval/curves.ts";
import {
  expectedAveragePrecision,
  expectedRandomMap,
  harmonic,
  randomKind,
} from "../../../stages/eval/random.ts";
import { readMetrics } from "../../../stages/formats/metrics.ts";
import { writeLabels } from "../../../stages/tensor_io/npy.ts";
import { wikipediaDir } from "../../helpers/shared_data.ts";
import { runKind } from "../../helpers/stage_context.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Exact E[AP] by enumerating every set of positions of the R relevant items among n. */
function enumerateExpectation(R: number, n: number): number {
  let total = 0, count = 0;
  const pos: number[] = [];
  function rec(start: number) {
    if (pos.length === R) {
      let s = 0;
      pos.forEach((p, i) => (s += (i + 1) / (p + 1)));
      total += s / R;
      count++;
      return;
    }
    for (let p = start; p < n; p++) {
      pos.push(p);
      rec(p + 1);
      pos.pop();
    }
  }
  rec(0);
  return total / count;
}

Deno.test("expectedAveragePrecision: edge cases", () => {
  assert.equal(expectedAveragePrecision(0, 10), 0);
  assert.ok(Math.abs(expectedAveragePrecision(10, 10) - 1) < 1e-15);
  assert.ok(Math.abs(expectedAveragePrecision(1, 4) - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4) < 1e-15);
  assert.equal(expectedAveragePrecision(1, 1), 1);
  assert.ok(Math.abs(harmonic(3) - 11 / 6) < 1e-15);
  assert.throws(() => expectedAveragePrecision(5, 4), /R = 5 > n = 4/);
  assert.throws(() => expectedAveragePrecision(1.5, 4), /integers/);
});

Deno.test("expectedAveragePrecision equals exhaustive enumeration for small n", () => {
  for (let n = 1; n <= 9; n++) {
    for (let R = 1; R <= n; R++) {
      const e = expectedAveragePrecision(R, n), x = enumerateExpectation(R, n);
      assert.ok(Math.abs(e - x) < 1e-12, `R=${R} n=${n}: ${e} vs ${x}`);
    }
  }
});

Deno.test("expectedRandomMap matches Monte-Carlo through the real evaluation", () => {
  // 60 items in 4 classes; random score matrices; mean mAP over trials vs the closed form.
  const rand = lcg(2024);
  const y = Array.from({ length: 60 }, (_, i) => [0, 0, 0, 1, 1, 2, 2, 2, 2, 3][i % 10]);
  const exact = expectedRandomMap(y, y);
  const trials = 200;
  const maps: number[] = [];
  for (let t = 0; t < trials; t++) {
    const s = Float64Array.from({ length: 60 * 60 }, () => rand());
    maps.push(evaluateDirection(s, { query: y, gallery: y, scope: [] }).map);
  }
  const mean = maps.reduce((a, b) => a + b, 0) / trials;
  const sd = Math.sqrt(maps.reduce((a, b) => a + (b - mean) ** 2, 0) / (trials - 1));
  const se = sd / Math.sqrt(trials);
  assert.ok(Math.abs(mean - exact) < 4 * se, `MC ${mean} ± ${se} vs exact ${exact}`);
  // Not vacuous: the naive guess R/n (the precision of a random list) is far off.
  const naive = y.reduce((a, c) => a + y.filter((d) => d === c).length / 60, 0) / 60;
  assert.ok(Math.abs(naive - exact) > 10 * se);
});

Deno.test("random expectation is 0.118 on the Wikipedia test class counts", () => {
  // PROVENANCE.md per-class test counts.
  const counts = [34, 88, 96, 85, 65, 58, 51, 41, 71, 104];
  const y = counts.flatMap((c, k) => new Array(c).fill(k));
  assert.equal(y.length, 693);
  const e = expectedRandomMap(y, y);
  assert.ok(Math.abs(e - 0.118) < 0.0005, `${e}`);
  assert.ok(Math.abs(e - 0.11836841430216909) < 1e-12, `${e}`);
});

const WIKI = wikipediaDir();

Deno.test({
  name: "random expectation on the real Wikipedia test list (skipped without the data mirror)",
  ignore: WIKI === undefined,
  async fn() {
    const text = await Deno.readTextFile(`${WIKI}/testset_txt_img_cat.list`);
    const y = text.trim().split("\n").map((l) => Number(l.trim().split(/\s+/)[2]) - 1);
    assert.equal(y.length, 693);
    const counts = new Array(10).fill(0);
    for (const c of y) counts[c]++;
    assert.deepEqual(counts, [34, 88, 96, 85, 65, 58, 51, 41, 71, 104]);
    const e = expectedRandomMap(y, y);
    assert.ok(Math.abs(e - 0.118) < 0.0005, `${e}`);
  },
});

Deno.test("random kind: writes one metrics row from a feature set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "random-in-" });
  const y = [0, 0, 1, 1, 1, 2];
  await writeLabels(`${dir}/y_test.npy`, y);
  await Deno.writeTextFile(
    `${dir}/dataset.json`,
    JSON.stringify({ dataset: "toy", classes: ["a", "b", "c"], n_train: 0, n_test: 6 }),
  );
  const run = await runKind(randomKind as StageKind, { inputs: { data: dir } });
  const rows = await readMetrics(run.dir);
  assert.equal(rows.length, 1);
  const e = expectedRandomMap(y, y);
  assert.deepEqual(rows[0], {
    dataset: "toy",
    method: "random",
    pca: false,
    similarity: "random",
    i2t: e,
    t2i: e,
    avg: e,
    stage: "test-random",
  });
  const over = await runKind(randomKind as StageKind, {
    inputs: { data: dir },
    params: { dataset: "wiki" },
  });
  assert.equal((await readMetrics(over.dir))[0].dataset, "wiki");
  await assert.rejects(() => runKind(randomKind as StageKind), /input "data" is missing/);
});
