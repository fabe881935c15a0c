import assert from "node:assert/strict";
import {
  directionCurves,
  parseCurves,
  readCurves,
  writeCurves,
} from "../../../stages/formats/curves.ts";
import { evaluateDirection } from "../../../stages/retrieval/curves.ts";

Deno.test("curves: written curves read back; the per-query APs are not stored", async () => {
  // 2 queries × 2 gallery items, the relevant item first for both: AP = 1 (hand computation).
  const d = evaluateDirection(new Float64Array([2, 1, 1, 2]), {
    query: [0, 1],
    gallery: [0, 1],
    scope: [1, 2],
  });
  const stored = directionCurves(d);
  assert.strictEqual(stored.map, 1);
  assert.ok(!("ap" in stored));
  const path = `${await Deno.makeTempDir()}/curves.json`;
  await writeCurves(path, {
    dataset: "toy",
    method: "m",
    pca: false,
    curves: { cosine: { i2t: stored, t2i: stored } },
  });
  const [c] = await readCurves(path);
  assert.deepStrictEqual(c.curves.cosine.i2t, JSON.parse(JSON.stringify(stored)));
  assert.deepStrictEqual(Object.keys(JSON.parse(await Deno.readTextFile(path))), [
    "dataset",
    "method",
    "pca",
    "curves",
  ]);
});

Deno.test("curves: a set without dataset/method or with non-object curves is refused", () => {
  assert.throws(() => parseCurves({ method: "m", curves: {} }, "x.json"), /x\.json entry 0: needs/);
  assert.throws(
    () => parseCurves({ dataset: "d", method: "m", curves: { cosine: 3 } }, "x.json"),
    /curves\.cosine must be an object/,
  );
  assert.strictEqual(parseCurves([{ dataset: "d", method: "m", curves: {} }], "x").length, 1);
});
