import assert from "node:assert/strict";
import { readEmbedding, writeEmbedding } from "../../../stages/formats/embedding.ts";
import { fromRows } from "../../../stages/linalg/mod.ts";
import { readNpy } from "../../../stages/tensor_io/npy.ts";

const info = { dataset: "toy", method: "m", pca: false, score: "cosine" as const, hyper: {} };

Deno.test("embedding: float64 and float32 embeddings round-trip through the one writer and reader", async () => {
  const dir = await Deno.makeTempDir();
  await writeEmbedding((n) => `${dir}/${n}`, {
    img: fromRows([[1, 2], [3, 4]]),
    txt: { data: new Float32Array([0.5, 1, 1.5, 2]), shape: [2, 2] },
    y: [1, 0],
    info: { ...info, notes: ["n"] },
  });
  assert.ok((await readNpy(`${dir}/txt.npy`)).data instanceof Float32Array);
  const e = await readEmbedding(dir);
  assert.deepStrictEqual(Array.from(e.img.data), [1, 2, 3, 4]);
  assert.deepStrictEqual(Array.from(e.txt.data), [0.5, 1, 1.5, 2]);
  assert.deepStrictEqual(Array.from(e.y), [1, 0]);
  assert.deepStrictEqual(e.info, { ...info, notes: ["n"] });
});

Deno.test("embedding: the writer refuses widths or rows that disagree", async () => {
  const dir = await Deno.makeTempDir();
  const out = (n: string) => `${dir}/${n}`;
  await assert.rejects(
    writeEmbedding(out, { img: fromRows([[1, 2]]), txt: fromRows([[1]]), y: [0], info }),
    /image width 2 != text width 1/,
  );
  await assert.rejects(
    writeEmbedding(out, { img: fromRows([[1]]), txt: fromRows([[1]]), y: [0, 1], info }),
    /test-set size/,
  );
});
