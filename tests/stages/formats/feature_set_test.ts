import assert from "node:assert/strict";
import {
  FEATURE_SET_OUTPUTS,
  readFeatureSet,
  readFeatureSetArrays,
  writeFeatureSet,
} from "../../../stages/formats/feature_set.ts";
import { fromRows } from "../../../stages/linalg/mod.ts";

const meta = { dataset: "toy", classes: ["a", "b"] };

Deno.test("feature set: matrices and float32 tensors round-trip through the one writer and reader", async () => {
  const dir = await Deno.makeTempDir();
  const img = new Float32Array(2 * 2 * 2 * 3).map((_, i) => i / 4);
  await writeFeatureSet((n) => `${dir}/${n}`, {
    img: { train: { data: img, shape: [2, 2, 2, 3] }, test: { data: img, shape: [2, 2, 2, 3] } },
    txt: { train: fromRows([[1, 2], [3, 4]]), test: fromRows([[5, 6], [7, 8]]) },
    yTrain: [0, 1],
    yTest: [1, 0],
    meta,
  });
  for (const f of FEATURE_SET_OUTPUTS) await Deno.stat(`${dir}/${f}`);
  const a = await readFeatureSetArrays(dir);
  assert.deepStrictEqual(a.img.train.shape, [2, 2, 2, 3]);
  assert.ok(a.img.train.data instanceof Float32Array);
  assert.deepStrictEqual(Array.from(a.img.test.data), Array.from(img));
  assert.deepStrictEqual(Array.from(a.yTest), [1, 0]);
  assert.deepStrictEqual(a.meta, meta);
  // rank-4 image rows are not matrices
  await assert.rejects(readFeatureSet(dir), /expected a 2-D array/);
  const b = await Deno.makeTempDir();
  await writeFeatureSet((n) => `${b}/${n}`, {
    img: { train: fromRows([[1], [2]]), test: fromRows([[3]]) },
    txt: { train: fromRows([[1, 2], [3, 4]]), test: fromRows([[5, 6]]) },
    yTrain: [0, 1],
    yTest: [1],
    meta,
  });
  const m = await readFeatureSet(b);
  assert.deepStrictEqual(Array.from(m.txt.test.data), [5, 6]);
  assert.strictEqual(m.img.train.rows, 2);
});

Deno.test("feature set: a missing file or unpaired rows are clear errors", async () => {
  const dir = await Deno.makeTempDir();
  await writeFeatureSet((n) => `${dir}/${n}`, {
    img: { train: fromRows([[1], [2]]), test: fromRows([[3]]) },
    txt: { train: fromRows([[1], [2], [3]]), test: fromRows([[5]]) },
    yTrain: [0, 1],
    yTest: [1],
    meta,
  });
  await assert.rejects(readFeatureSetArrays(dir), /train rows differ \(img 2, txt 3, y 2\)/);
  await Deno.remove(`${dir}/dataset.json`);
  await assert.rejects(readFeatureSetArrays(dir), /is not a Feature set: it lacks dataset\.json/);
});
