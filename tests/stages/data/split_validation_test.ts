import assert from "node:assert/strict";
import {
  splitValidationKind,
  stratifiedValidationRows,
} from "../../../stages/data/split_validation.ts";
import { readFeatureSetArrays, writeFeatureSet } from "../../../stages/formats/feature_set.ts";
import { fromRows } from "../../../stages/linalg/mod.ts";
import { runKind } from "../../helpers/stage_context.ts";

/**
 * A toy Feature set whose every row is identifiable: train row i has image features [i, 10 i]
 * and text [1000 + i]; test row j has image [-1 - j, -2 - j] and text [-1000 - j]. Class sizes
 * 10, 5, 3, 1 (class 3 has a lone row). Test labels cover every class.
 */
async function toySet(): Promise<{ dir: string; yTrain: number[] }> {
  const dir = await Deno.makeTempDir();
  const yTrain = [0, 1, 0, 2, 0, 1, 0, 0, 2, 1, 0, 0, 3, 1, 0, 2, 0, 1, 0];
  const nTest = 6;
  await writeFeatureSet((n) => `${dir}/${n}`, {
    img: {
      train: fromRows(yTrain.map((_, i) => [i, 10 * i])),
      test: fromRows(Array.from({ length: nTest }, (_, j) => [-1 - j, -2 - j])),
    },
    txt: {
      train: fromRows(yTrain.map((_, i) => [1000 + i])),
      test: fromRows(Array.from({ length: nTest }, (_, j) => [-1000 - j])),
    },
    yTrain,
    yTest: [0, 1, 2, 3, 0, 1],
    meta: { dataset: "toy", classes: ["a", "b", "c", "d"] },
  });
  return { dir, yTrain };
}

Deno.test("split-validation: stratified by class, at least one row kept for training per class", () => {
  const y = [0, 1, 0, 2, 0, 1, 0, 0, 2, 1, 0, 0, 3, 1, 0, 2, 0, 1, 0];
  const val = Array.from(stratifiedValidationRows(y, { fraction: 0.2, seed: 0 }));
  const per = (c: number) => val.filter((i) => y[i] === c).length;
  // round(0.2 · n_c): class 0 has 10 rows → 2; class 1 has 5 → 1; class 2 has 3 → round(0.6) = 1;
  // class 3 has 1 → 0 (a lone row stays in training). Hand-computed.
  assert.deepStrictEqual([per(0), per(1), per(2), per(3)], [2, 1, 1, 0]);
  assert.deepStrictEqual(val, [...val].sort((a, b) => a - b), "ascending row order");
  assert.strictEqual(new Set(val).size, val.length, "no row twice");
  // fraction 0.5 on a class of 2 gives 1, never both rows
  assert.deepStrictEqual(
    Array.from(stratifiedValidationRows([4, 4], { fraction: 0.9, seed: 3 })).length,
    1,
  );
  assert.throws(
    () => stratifiedValidationRows(y, { fraction: 1, seed: 0 }),
    /fraction must be in \(0, 1\)/,
  );
  assert.throws(
    () => stratifiedValidationRows([0, -1], { fraction: 0.2, seed: 0 }),
    /label -1 at train row 1/,
  );
});

Deno.test("split-validation: deterministic for a seed, another seed picks other rows", () => {
  const y = Array.from({ length: 200 }, (_, i) => i % 4);
  const a = stratifiedValidationRows(y, { fraction: 0.2, seed: 7 });
  const b = stratifiedValidationRows(y, { fraction: 0.2, seed: 7 });
  const c = stratifiedValidationRows(y, { fraction: 0.2, seed: 8 });
  assert.deepStrictEqual(Array.from(a), Array.from(b));
  assert.notDeepStrictEqual(Array.from(a), Array.from(c));
  assert.strictEqual(a.length, 40); // 4 classes × round(0.2 · 50)
});

Deno.test("split-validation kind: train − val and val partition the training rows; no test row enters", async () => {
  const { dir, yTrain } = await toySet();
  const run = await runKind(splitValidationKind, {
    params: { fraction: 0.2, seed: 0 },
    inputs: { features: dir },
  });
  const out = await readFeatureSetArrays(run.dir);
  // Every output row is a training row of the input, identified by its text value 1000 + i.
  const ids = (a: { data: ArrayLike<number | bigint> }) =>
    Array.from(a.data, (v) => Number(v) - 1000);
  const fit = ids(out.txt.train), val = ids(out.txt.test);
  for (const i of [...fit, ...val]) {
    assert.ok(
      Number.isInteger(i) && i >= 0 && i < yTrain.length,
      `row ${i + 1000} is not a training row`,
    );
  }
  assert.deepStrictEqual(
    [...fit, ...val].sort((a, b) => a - b),
    yTrain.map((_, i) => i),
    "a partition",
  );
  // no input test row in either part, in either view
  for (
    const v of [
      ...out.img.train.data,
      ...out.img.test.data,
      ...out.txt.train.data,
      ...out.txt.test.data,
    ]
  ) {
    assert.ok(Number(v) >= 0, `a test row's value ${v} leaked into the split`);
  }
  // rows stay pairs, labels follow their rows
  assert.deepStrictEqual(Array.from(out.img.test.data).filter((_, k) => k % 2 === 0), val);
  assert.deepStrictEqual(Array.from(out.yTest), val.map((i) => yTrain[i]));
  assert.deepStrictEqual(Array.from(out.yTrain), fit.map((i) => yTrain[i]));
  assert.deepStrictEqual(
    val,
    Array.from(stratifiedValidationRows(yTrain, { fraction: 0.2, seed: 0 })),
  );
  assert.strictEqual(out.meta.n_test, val.length);
  assert.deepStrictEqual((out.meta.validation as { n_val: number }).n_val, val.length);
  assert.deepStrictEqual(out.meta.classes, ["a", "b", "c", "d"]);
});

Deno.test("split-validation kind: a missing input and a bad fraction are located errors", async () => {
  await assert.rejects(runKind(splitValidationKind, {}), /needs an input `features`/);
  const problems = splitValidationKind.validate!({ fraction: 0, seed: 0 });
  assert.deepStrictEqual(problems, [{
    param: "fraction",
    message: "must be in (0, 1), e.g. 0.2 (got 0)",
  }]);
});
