import assert from "node:assert/strict";
import {
  parseCandidates,
  selectRecipeKind,
  selectRecipes,
} from "../../../stages/eval/select_recipe.ts";
import { splitValidationKind } from "../../../stages/data/split_validation.ts";
import { type MetricRow, metricRow, writeMetrics } from "../../../stages/formats/metrics.ts";
import { readRecipes } from "../../../stages/formats/recipes.ts";
import { writeFeatureSet } from "../../../stages/formats/feature_set.ts";
import { fromRows } from "../../../stages/linalg/mod.ts";
import { runKind } from "../../helpers/stage_context.ts";

const GRID = [
  { name: "a.1", method: "a", loss: "cs", lr: 1e-3, lambda: 0.01 },
  { name: "a.2", method: "a", loss: "cs", lr: 3e-4, lambda: 0.01 },
  { name: "a.3", method: "a", loss: "cs", lr: 1e-3, lambda: 0.1 },
  { name: "b.1", method: "b", loss: "vse0", margin: 0.2, batch: 256 },
  { name: "b.2", method: "b", loss: "vse0", margin: 0.1, batch: 256 },
];

function row(name: string, i2t: number, t2i: number, similarity = "cosine"): MetricRow {
  return metricRow(
    { dataset: "toy", method: name, pca: false, similarity, stage: `eval-${name}` },
    { i2t, t2i },
  );
}

Deno.test("select-recipe: per method the argmax of the criterion, candidates recorded in grid order", () => {
  const rows = [
    row("b.2", 0.3, 0.5), // avg 0.4
    row("a.1", 0.2, 0.2), // 0.2
    row("a.3", 0.5, 0.1), // 0.3: the best a by avg, not by t2i
    row("a.2", 0.1, 0.3), // 0.2
    row("b.1", 0.35, 0.35), // 0.35
    row("a.1", 0.9, 0.9, "euclidean"), // another similarity: ignored
  ];
  const r = selectRecipes(parseCandidates(GRID), rows, { criterion: "avg", similarity: "cosine" });
  assert.deepEqual(Object.keys(r), ["a", "b"]);
  assert.equal(r.a.chosen, "a.3");
  assert.deepEqual(r.a.values, { lr: 1e-3, lambda: 0.1 });
  assert.equal(r.a.loss, "cs");
  assert.ok(Math.abs(r.a.score - 0.3) < 1e-12);
  assert.deepEqual(r.a.candidates.map((c) => c.name), ["a.1", "a.2", "a.3"]);
  assert.equal(r.b.chosen, "b.2");
  assert.deepEqual(r.b.values, { margin: 0.1, batch: 256 });
  // another criterion, another choice: by t2i, a.2 (0.3) beats a.3 (0.1)
  const t = selectRecipes(parseCandidates(GRID), rows, { criterion: "t2i", similarity: "cosine" });
  assert.equal(t.a.chosen, "a.2");
});

Deno.test("select-recipe: a tie goes to the candidate listed first, whatever the row order", () => {
  const tied = [row("a.2", 0.2, 0.2), row("a.3", 0.2, 0.2), row("a.1", 0.1, 0.1)];
  const b = [row("b.1", 0.1, 0.1), row("b.2", 0.1, 0.1)];
  for (const rows of [[...tied, ...b], [...b, ...tied].reverse()]) {
    const r = selectRecipes(parseCandidates(GRID), rows, {
      criterion: "avg",
      similarity: "cosine",
    });
    assert.equal(r.a.chosen, "a.2");
    assert.equal(r.b.chosen, "b.1");
  }
});

Deno.test("select-recipe: missing, duplicate and foreign rows, and bad grids, are named errors", () => {
  const c = parseCandidates(GRID);
  const ok = GRID.map((g) => row(g.name, 0.1, 0.1));
  const opts = { criterion: "avg", similarity: "cosine" };
  assert.throws(
    () => selectRecipes(c, ok.slice(1), opts),
    /candidate 'a\.1' has no cosine validation row/,
  );
  assert.throws(
    () => selectRecipes(c, [...ok, row("a.1", 0.2, 0.2)], opts),
    /'a\.1' has two cosine rows/,
  );
  assert.throws(
    () => selectRecipes(c, [...ok, row("zz", 0.2, 0.2)], opts),
    /row of 'zz' .* no candidate/,
  );
  assert.throws(() => selectRecipes(c, ok, { ...opts, criterion: "i2t_medr" }), /not one of avg/);
  assert.throws(
    () => selectRecipes(c, ok, { ...opts, criterion: "i2t_r1" }),
    /'a\.1' .* has no 'i2t_r1'/,
  );
  assert.throws(() => parseCandidates([]), /non-empty list/);
  assert.throws(
    () => parseCandidates([GRID[0], GRID[0]]),
    /candidates\[1\]: name 'a\.1' appears twice/,
  );
  assert.throws(
    () => parseCandidates([{ ...GRID[0], dim: 64 }]),
    /candidates\[0\] \(a\.1\): unknown recipe field 'dim'/,
  );
  assert.throws(
    () => parseCandidates([{ ...GRID[0], batch: 2.5 }]),
    /'batch' must be an integer ≥ 1, got 2\.5/,
  );
  assert.throws(
    () => parseCandidates([{ ...GRID[0], lr: "fast" }]),
    /'lr' must be a finite number ≥ 0/,
  );
  assert.throws(
    () => parseCandidates([{ ...GRID[0], method: undefined }]),
    /candidates\[0\]: 'method' must be a non-empty string/,
  );
  assert.throws(
    () => parseCandidates([GRID[0], { ...GRID[1], loss: "ds" }]),
    /method 'a' has candidates of two losses \(cs, ds\)/,
  );
  assert.deepEqual(
    selectRecipeKind.validate!({
      candidates: [{ name: "x" }],
      criterion: "avg",
      similarity: "cosine",
    }),
    [
      {
        param: "candidates",
        message: "candidates[0]: 'method' must be a non-empty string, got undefined",
      },
    ],
  );
});

Deno.test("select-recipe kind: recipes.json records the choice, the scores and the validation split", async () => {
  const data = await Deno.makeTempDir();
  const y = Array.from({ length: 20 }, (_, i) => i % 2);
  await writeFeatureSet((n) => `${data}/${n}`, {
    img: { train: fromRows(y.map((_, i) => [i])), test: fromRows([[-1]]) },
    txt: { train: fromRows(y.map((_, i) => [i])), test: fromRows([[-1]]) },
    yTrain: y,
    yTest: [0],
    meta: { dataset: "toy" },
  });
  const split = await runKind(splitValidationKind, {
    params: { fraction: 0.2, seed: 1 },
    inputs: { features: data },
  });
  const inputs: Record<string, string> = { split: split.dir };
  for (const [k, g] of GRID.entries()) {
    const dir = await Deno.makeTempDir();
    await writeMetrics(`${dir}/metrics.json`, [row(g.name, 0.1 * k, 0.1)]);
    inputs[`val:eval-${g.name}`] = dir;
  }
  const run = await runKind(selectRecipeKind, { params: { candidates: GRID }, inputs });
  const file = await readRecipes(run.dir);
  assert.equal(file.criterion, "avg");
  assert.deepEqual(file.split, {
    dataset: "toy",
    of: "train",
    fraction: 0.2,
    seed: 1,
    stratified: "by class",
    n_train: 16,
    n_val: 4,
  });
  assert.equal(file.recipes.a.chosen, "a.3");
  assert.equal(file.recipes.b.chosen, "b.2");
  assert.deepEqual(file.recipes.b.candidates.map((c) => Number(c.score.toFixed(6))), [0.2, 0.25]);
  // a split that is not a validation split is refused
  await assert.rejects(
    runKind(selectRecipeKind, { params: { candidates: GRID }, inputs: { ...inputs, split: data } }),
    /not a validation split/,
  );
});
