import assert from "node:assert/strict";
import { pcaKind } from "../../../stages/baselines/pca.ts";
import { readFeatureSet, writeFeatureSet } from "../../../stages/formats/feature_set.ts";
import { fromRows, toRows } from "../../../stages/linalg/mod.ts";
import { runKind } from "../../helpers/stage_context.ts";
import { noteSkip, WIKI, wikiFeatureSet } from "./wiki_fixture.ts";

noteSkip("pca_test");

async function tinyFeatureSet(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fs-" });
  await writeFeatureSet((n) => `${dir}/${n}`, {
    img: {
      train: fromRows([[4, 2, 3], [-2, 2, 3], [1, 3, 3], [1, 1, 3]]),
      test: fromRows([[1, 2, 3], [3, 2, 3]]),
    },
    txt: { train: fromRows([[1], [2], [3], [4]]), test: fromRows([[0], [5]]) },
    yTrain: Int32Array.from([0, 1, 0, 1]),
    yTest: Int32Array.from([0, 1]),
    meta: { dataset: "tiny" },
  });
  return dir;
}

Deno.test("pca kind: k components on the image view, test mapped with the train mean", async () => {
  const r = await runKind(pcaKind, {
    params: { k: 1 },
    inputs: { features: await tinyFeatureSet() },
  });
  const fs = await readFeatureSet(r.dir);
  assert.equal(fs.img.train.cols, 1);
  const s = Math.sign(fs.img.train.data[0]); // first train row lies at +3 along x
  assert.deepEqual(toRows(fs.img.test).map((v) => v[0] * s), [0, 2]);
  assert.deepEqual(toRows(fs.txt.test), [[0], [5]], "text untouched");
  assert.deepEqual(Array.from(fs.yTest), [0, 1]);
  const meta = fs.meta as unknown as { pca: { img: { from: number; k: number; energy: number } } };
  assert.equal(meta.pca.img.from, 3);
  assert.ok(Math.abs(meta.pca.img.energy - 0.9) < 1e-12);
});

Deno.test("pca kind: energy on both views; bad params fail with advice", async () => {
  const input = await tinyFeatureSet();
  const r = await runKind(pcaKind, {
    params: { energy: 0.95, views: "both" },
    inputs: { features: input },
  });
  const fs = await readFeatureSet(r.dir);
  assert.equal(fs.img.train.cols, 2);
  assert.equal(fs.txt.train.cols, 1);
  await assert.rejects(
    () => runKind(pcaKind, { params: { k: 0, energy: 0 }, inputs: { features: input } }),
    /set k > 0 or energy/,
  );
});

Deno.test({
  name: "pca kind on the Wikipedia SIFT-128 features: 95% energy (standard PCA)",
  ignore: !WIKI,
  fn: async () => {
    const r = await runKind(pcaKind, { params: {}, inputs: { features: await wikiFeatureSet() } });
    const fs = await readFeatureSet(r.dir);
    const info = (fs.meta as unknown as { pca: { img: { k: number; energy: number } } }).pca.img;
    assert.ok(info.energy >= 0.95 && info.k < 128, JSON.stringify(info));
    assert.equal(fs.img.test.cols, info.k);
    assert.equal(fs.txt.train.cols, 10);
    console.log(`wiki image PCA at 95% energy keeps ${info.k} of 128 components`);
  },
});
