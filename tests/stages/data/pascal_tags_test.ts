import assert from "node:assert/strict";
import { readHwangTagFile, singleClassOf, vocIdOf } from "../../../stages/data/pascal_tags.ts";
import { encodeMat, matRow, matStruct, matText } from "../../helpers/mat_writer.ts";

const FIX = new URL("../../fixtures/mat/", import.meta.url).pathname;

Deno.test("readHwangTagFile: D1 then D2 of a scipy-written file, 0-based tag ids", async () => {
  // hwang_like_vars() in tests/fixtures/mat/make_fixtures.py
  for (const f of ["structs_plain.mat", "structs_compressed.mat"]) {
    const recs = await readHwangTagFile(`${FIX}${f}`);
    assert.deepEqual(recs.map((r) => r.id), ["000005", "000012", "000019", "000042", "000043"]);
    assert.deepEqual(recs.map((r) => r.tagIds), [[0, 398, 0], [1, 398, 1], [2, 398, 2], [], [6]]);
    assert.deepEqual(recs.map((r) => singleClassOf(r.objectcount)), [0, 1, 2, -1, -1]);
    assert.equal(recs[3].objectcount[14], 2);
  }
});

Deno.test("readHwangTagFile: clear errors for a wrong variable, field or index", async () => {
  const path = `${FIX}structs_plain.mat`;
  await assert.rejects(
    readHwangTagFile(path, { variables: ["D3"] }),
    /no variable 'D3'; it holds: D1, D2, cel/,
  );
  await assert.rejects(
    readHwangTagFile(path, { variables: ["cel"] }),
    /variable 'cel' is a cell array, expected a struct array/,
  );
  await assert.rejects(
    readHwangTagFile(path, { vocabularySize: 20 }),
    /D1\(1\)\.taglist holds 399, not a word index in 1\.\.20; check the vocabulary size/,
  );
  const dir = await Deno.makeTempDir();
  const rec = (id: string, oc: number[]) => ({
    filename: matText(id),
    objectcount: matRow(oc),
    taglist: matRow([1]),
  });
  const one = new Array(20).fill(0);
  one[3] = 1;
  await Deno.writeFile(
    `${dir}/short.mat`,
    encodeMat({ D1: matStruct(["filename", "objectcount", "taglist"], [rec("a.jpg", [1, 0])]) }),
  );
  await assert.rejects(
    readHwangTagFile(`${dir}/short.mat`, { variables: ["D1"] }),
    /D1\(1\)\.objectcount has 2 values, expected 20 VOC classes/,
  );
  await Deno.writeFile(
    `${dir}/twice.mat`,
    encodeMat({
      D1: matStruct(["filename", "objectcount", "taglist"], [rec("x/000007.jpg", one)]),
      D2: matStruct(["filename", "objectcount", "taglist"], [rec("000007", one)]),
    }),
  );
  await assert.rejects(readHwangTagFile(`${dir}/twice.mat`), /image 000007 appears twice/);
  await Deno.writeFile(
    `${dir}/nofield.mat`,
    encodeMat({
      D1: matStruct(["filename", "taglist"], [{ filename: matText("a"), taglist: matRow([]) }]),
    }),
  );
  await assert.rejects(
    readHwangTagFile(`${dir}/nofield.mat`, { variables: ["D1"] }),
    /D1\(1\): no field 'objectcount'; it has: filename, taglist/,
  );
});

Deno.test("vocIdOf and singleClassOf", () => {
  assert.equal(vocIdOf("000005.jpg"), "000005");
  assert.equal(vocIdOf("VOC2007\\JPEGImages\\000123.JPG"), "000123");
  assert.equal(vocIdOf(" 000042 "), "000042");
  assert.equal(singleClassOf([0, 0, 3, 0]), 2);
  assert.equal(singleClassOf([1, 0, 3, 0]), -1);
  assert.equal(singleClassOf([0, 0, 0, 0]), -1);
});
