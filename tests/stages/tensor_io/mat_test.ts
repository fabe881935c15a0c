import assert from "node:assert/strict";
import { readMat, sniffMat } from "../../../stages/tensor_io/mat.ts";
import { matToMatrix, matVariable } from "../../../stages/tensor_io/mat_v5.ts";

const FIX = new URL("../../fixtures/mat/", import.meta.url).pathname;

Deno.test("readMat: v5 files are sniffed and decoded", async () => {
  const bytes = await Deno.readFile(`${FIX}numeric_compressed.mat`);
  assert.equal(sniffMat(bytes), "mat");
  const vars = await readMat(`${FIX}numeric_compressed.mat`);
  assert.deepEqual(matToMatrix(matVariable(vars, "col")).data, new Float64Array([1.5, 2.5, 3.5]));
});

Deno.test("readMat: v7.3 header and HDF5 signature are recognised", () => {
  const v73 = new Uint8Array(1024);
  v73.set(new TextEncoder().encode("MATLAB 7.3 MAT-file"));
  assert.equal(sniffMat(v73), "mat73");
  const plainH5 = new Uint8Array(1024);
  plainH5.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);
  assert.equal(sniffMat(plainH5), "mat73");
});

Deno.test("readMat: forcing format 'mat73' on a v5 file fails clearly", async () => {
  await assert.rejects(
    readMat(`${FIX}numeric_plain.mat`, { format: "mat73" }),
    /no HDF5 signature.*format 'mat'/,
  );
});
