import { deepStrictEqual as assertEquals } from "node:assert";
import { Rng } from "../../../stages/util/rng.ts";
import { epochBatches, normalizeInPlace } from "../../../stages/dse/train_data.ts";

Deno.test("batches hold equal images and texts with the same labels, covering every row once", () => {
  const y = Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0]);
  for (const pairing of ["label", "pair"] as const) {
    const b = epochBatches(y, { half: 4, pairing, rng: new Rng(1), numClasses: 3 });
    const imgs = b.flatMap((x) => [...x.img]).sort((p, q) => p - q);
    const txts = b.flatMap((x) => [...x.txt]).sort((p, q) => p - q);
    assertEquals(imgs, [...y.keys()]);
    assertEquals(txts, [...y.keys()]);
    for (const x of b) {
      assertEquals(x.img.length, x.txt.length);
      x.img.forEach((i, k) => assertEquals(y[i], y[x.txt[k]]));
      if (pairing === "pair") assertEquals([...x.img], [...x.txt]);
    }
  }
});

Deno.test("paired batches hold each image with its own text", () => {
  const y = Int32Array.from({ length: 30 }, (_, i) => i % 3);
  const bs = epochBatches(y, { half: 4, pairing: "pair", rng: new Rng(1), numClasses: 3 });
  for (const b of bs) assertEquals(Array.from(b.img), Array.from(b.txt));
});

Deno.test("normalizeInPlace: zscore with the training rows' mean and n−1 deviation; l2 per row", () => {
  // Hand-worked: train column [1, 2, 3] has mean 2 and sample deviation 1 (n − 1 = 2:
  // √((1 + 0 + 1) / 2)), so it becomes [−1, 0, 1] and a test row's 4 becomes 2; the constant
  // column [5, 5, 5] has deviation 0 and is only centred.
  const train = { data: Float32Array.from([1, 5, 2, 5, 3, 5]), shape: [3, 2] };
  const test = { data: Float32Array.from([4, 6]), shape: [1, 2] };
  normalizeInPlace(train, [test], "zscore");
  assertEquals(Array.from(train.data), [-1, 0, 0, 0, 1, 0]);
  assertEquals(Array.from(test.data), [2, 1]);
  // l2: [3, 4] → [0.6, 0.8]; a zero row stays zero.
  const rows = { data: Float32Array.from([3, 4, 0, 0]), shape: [2, 2] };
  normalizeInPlace(rows, [], "l2");
  assertEquals(Array.from(rows.data), [Math.fround(0.6), Math.fround(0.8), 0, 0]);
  const same = { data: Float32Array.from([1, 2]), shape: [1, 2] };
  normalizeInPlace(same, [], "none");
  assertEquals(Array.from(same.data), [1, 2]);
});
