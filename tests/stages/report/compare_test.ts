import assert from "node:assert/strict";
import {
  buildCompareTable,
  compareGrid,
  comparePoints,
  compareSpec,
  recipeText,
  stat,
} from "../../../stages/report/compare.ts";
import type { RecipesFile } from "../../../stages/formats/recipes.ts";
import { compileSpec } from "../../../stages/report/render.ts";
import type { MetricsRow } from "../../../stages/report/inputs.ts";

function row(method: string, i2t: number, extra: Partial<MetricsRow> = {}): MetricsRow {
  return {
    dataset: "wiki",
    method,
    pca: false,
    similarity: "cosine",
    i2t,
    t2i: i2t / 2,
    avg: (i2t + i2t / 2) / 2,
    alias: "a",
    ...extra,
  };
}
const rk = (r1: number) => ({
  i2t_r1: r1,
  i2t_r5: 0.1,
  i2t_r10: 0.2,
  t2i_r1: r1 / 2,
  t2i_r5: 0.1,
  t2i_r10: 0.2,
  i2t_medr: 40,
  t2i_medr: 50,
});

Deno.test("stat (sample sd) on hand-computed values", () => {
  // 2, 4, 6: mean 4, sample variance (4 + 0 + 4)/2 = 4 → sd 2
  assert.deepEqual(stat([2, 4, 6]), { mean: 4, sd: 2 });
  assert.deepEqual(stat([0.5]), { mean: 0.5 });
});

Deno.test("buildCompareTable groups seeds per method, deterministic methods first", () => {
  const rows = [
    row("vsepp", 0.3, { ...rk(0.02), seed: 1 }),
    row("vsepp", 0.2, { ...rk(0.04), seed: 0 }),
    row("cca", 0.25, rk(0.01)),
    row("random", 0.118, { similarity: "random" }),
    row("cca", 0.9, { similarity: "euclidean" }), // other similarity: left out
    row("cca", 0.9, { dataset: "pascal" }), // other dataset: left out
    row("lrbs", 0.27, { similarity: "inner" }), // its only similarity: kept, named
  ];
  const t = buildCompareTable(rows, {
    spec: { dataset: "wiki", sources: { vsepp: "Faghri et al. (verified)" } },
    methodNames: { vsepp: "VSE++" },
  });
  assert.deepEqual(t.rows.map((r) => [r.label, r.runs, r.seeds]), [
    ["CCA", 1, []], // internal ids read as the paper writes them
    ["Random", 1, []],
    ["LRBS (inner)", 1, []],
    ["VSE++", 2, [0, 1]],
  ]);
  const v = t.rows[3];
  assert.ok(Math.abs(v.stats.i2t!.mean - 0.25) < 1e-12);
  assert.ok(Math.abs(v.stats.i2t!.sd! - Math.SQRT1_2 * 0.1) < 1e-12);
  assert.equal(t.rows[1].stats.i2t_r1, undefined, "random rows carry no R@K");
  const g = compareGrid(t);
  assert.deepEqual(g.body[3].slice(0, 6), [
    "VSE++",
    "2",
    "0.2500 ± 0.0707",
    "0.1250 ± 0.0354",
    "0.1875 ± 0.0530",
    "3.0 ± 1.4",
  ]);
  assert.equal(g.body[3].at(-1), "Faghri et al. (verified)");
  assert.equal(g.body[1][5], "—");
  assert.equal(g.header.length, g.body[0].length);
  assert.equal(g.groups.reduce((a, [, n]) => a + n, 0), g.header.length);
});

Deno.test("buildCompareTable: a recipe column from recipes.json (the grid's varied fields) and its note", () => {
  const recipes: RecipesFile = {
    criterion: "avg",
    similarity: "cosine",
    split: { dataset: "wiki", fraction: 0.2, seed: 0, n_train: 1738, n_val: 435 },
    recipes: {
      vsepp: {
        loss: "vsepp",
        chosen: "vsepp.b",
        values: { lr: 3e-4, margin: 0.2, batch: 256 },
        score: 0.2,
        candidates: [
          { name: "vsepp.a", values: { lr: 1e-3, margin: 0.2, batch: 256 }, score: 0.1 },
          { name: "vsepp.b", values: { lr: 3e-4, margin: 0.2, batch: 256 }, score: 0.2 },
          { name: "vsepp.c", values: { lr: 3e-4, margin: 0.1, batch: 256 }, score: 0.15 },
        ],
      },
    },
  };
  const rows = [row("vsepp", 0.3, { ...rk(0.02), seed: 0 }), row("cca", 0.25, rk(0.01))];
  const t = buildCompareTable(rows, { spec: { dataset: "wiki" }, recipes });
  const g = compareGrid(t);
  assert.equal(g.header.at(-1), "recipe");
  assert.deepEqual(g.body.map((b) => b.at(-1)), ["—", "lr 0.0003, margin 0.2"]);
  assert.equal(g.groups.reduce((a, [, n]) => a + n, 0), g.header.length);
  assert.match(
    t.notes.at(-1)!,
    /among 3 candidates on a validation split of 20% of each class's training rows \(1738 train \/ 435 validation rows, seed 0\), never the test rows, by the highest validation avg mAP/,
  );
  // without recipes: no column, no note
  const plain = compareGrid(buildCompareTable(rows, { spec: { dataset: "wiki" } }));
  assert.equal(plain.header.at(-1), "formula");
  // one candidate: every field shown
  const one = {
    ...recipes.recipes.vsepp,
    candidates: recipes.recipes.vsepp.candidates.slice(1, 2),
  };
  assert.equal(recipeText(one), "lr 0.0003, margin 0.2, batch 256");
});

Deno.test("the comparison figure: one point per method with R@K, and a valid Vega-Lite spec", async () => {
  const t = buildCompareTable(
    [
      row("a", 0.2, { ...rk(0.04), seed: 0 }),
      row("a", 0.3, { ...rk(0.02), seed: 1 }),
      row("random", 0.1),
    ],
    { spec: { dataset: "wiki" } },
  );
  const pts = comparePoints(t);
  assert.equal(pts.length, 1, "random has no R@1: no point");
  // R@1 avg of directions: seed 0 (4 + 2)/2 = 3 %, seed 1 (2 + 1)/2 = 1.5 %: mean 2.25 %
  assert.ok(Math.abs(pts[0].r1 - 2.25) < 1e-12);
  // its sd over the seeds: |3 − 1.5|/√2 = 1.06066 % (not the per-direction sds, 1.414 % and .707 %)
  assert.ok(Math.abs(pts[0].r1Sd - 1.5 / Math.SQRT2) < 1e-12, `${pts[0].r1Sd}`);
  const vega = await compileSpec(compareSpec("t", pts, { size: { width: 200, height: 150 } }));
  assert.ok(Array.isArray(vega.marks) && vega.marks.length > 0);
});
