import assert from "node:assert/strict";
import { featureInput, prepareViews, writeEmbedding } from "../../../stages/baselines/common.ts";
import { readFeatureSet, writeFeatureSet } from "../../../stages/formats/feature_set.ts";
import { fromRows, toRows } from "../../../stages/linalg/mod.ts";
import { readLabels, readMatrix, writeMatrix } from "../../../stages/tensor_io/npy.ts";

const fs0 = {
  img: { train: fromRows([[1, 2], [3, 4], [5, 9]]), test: fromRows([[0, 0]]) },
  txt: { train: fromRows([[1], [0], [2]]), test: fromRows([[7]]) },
  yTrain: Int32Array.from([0, 1, 1]),
  yTest: Int32Array.from([1]),
  meta: { dataset: "tiny", classes: ["a", "b"] },
};

async function dirOf(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fs-" });
  await writeFeatureSet((n) => `${dir}/${n}`, fs0);
  return dir;
}

Deno.test("Feature set round trip through writeFeatureSet/readFeatureSet", async () => {
  const fs = await readFeatureSet(await dirOf());
  assert.deepEqual(toRows(fs.img.train), toRows(fs0.img.train));
  assert.deepEqual(Array.from(fs.yTrain), [0, 1, 1]);
  assert.equal(fs.meta.dataset, "tiny");
});

Deno.test("readFeatureSet: a missing file or unpaired rows give a clear error", async () => {
  const empty = await Deno.makeTempDir();
  await assert.rejects(() => readFeatureSet(empty), /is not a Feature set/);
  const dir = await dirOf();
  await writeMatrix(`${dir}/txt_train.npy`, fromRows([[1], [2]]));
  await assert.rejects(() => readFeatureSet(dir), /train rows differ.*pairs/);
});

Deno.test("featureInput: alias `features`, else the only input, else an error", () => {
  assert.equal(featureInput({ name: "s", inputs: { features: "/a", other: "/b" } }), "/a");
  assert.equal(featureInput({ name: "s", inputs: { x: "/c" } }), "/c");
  assert.throws(
    () => featureInput({ name: "s", inputs: { x: "/c", y: "/d" } }),
    /named "features"/,
  );
});

Deno.test("prepareViews: normalisation then PCA on the chosen views", () => {
  const v = prepareViews(fs0, {
    normalize: "center",
    pca: "standard",
    pcaViews: "image",
    pcaEnergy: 0.95,
    pcaK: 1,
  });
  assert.equal(v.img.train.cols, 1);
  assert.equal(v.txt.train.cols, 1);
  assert.deepEqual(v.pcaK, { img: 1 });
  assert.deepEqual(toRows(v.txt.test), [[6]]); // centred by the train mean 1
});

Deno.test("writeEmbedding: the architecture's Embedding files; width mismatch is refused", async () => {
  const dir = await Deno.makeTempDir();
  const ctx = { out: (n: string) => `${dir}/${n}` };
  await writeEmbedding(ctx, {
    img: fromRows([[1, 2]]),
    txt: fromRows([[3, 4]]),
    y: [1],
    dataset: "tiny",
    method: "cca",
    pca: false,
    score: "cosine",
    hyper: { k: 2 },
    notes: ["n"],
  });
  assert.deepEqual(toRows(await readMatrix(`${dir}/img.npy`)), [[1, 2]]);
  assert.deepEqual(Array.from(await readLabels(`${dir}/y.npy`)), [1]);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/embedding.json`));
  assert.deepEqual(json, {
    dataset: "tiny",
    method: "cca",
    pca: false,
    score: "cosine",
    hyper: { k: 2 },
    notes: ["n"],
  });
  await assert.rejects(
    () =>
      writeEmbedding(ctx, {
        img: fromRows([[1, 2]]),
        txt: fromRows([[3]]),
        y: [1],
        dataset: "t",
        method: "m",
        pca: false,
        score: "cosine",
        hyper: {},
        notes: [],
      }),
    /width/,
  );
});
