import assert from "node:assert/strict";
import h5wasm from "h5wasm/node";
import { readMatV73 } from "../../../stages/tensor_io/mat_v73.ts";
import { readMat, sniffMat } from "../../../stages/tensor_io/mat.ts";
import { matPath, matToMatrix, matVariable } from "../../../stages/tensor_io/mat_v5.ts";

/** Column-major values of a row-major r×c matrix: what MATLAB writes as an HDF5 c×r dataset. */
function colMajor(rowMajor: number[], r: number, c: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out.push(rowMajor[i * c + j]);
  return out;
}

/** Write a MAT v7.3 file the way MATLAB lays it out: user block, transposed datasets, classes. */
async function writeMatlabLike(dir: string): Promise<string> {
  await h5wasm.ready;
  const h5 = `${dir}/plain.h5`;
  const f = new h5wasm.File(h5, "w");
  const add = (name: string, data: h5wasmData, hshape: number[], cls: string) => {
    const ds = f.create_dataset({ name, data, shape: hshape });
    ds.create_attribute("MATLAB_class", cls);
    return ds;
  };
  // A = [1 2 3; 4 5 6] (2x3) is stored as a 3x2 dataset of its column-major values
  add("A", new Float64Array(colMajor([1, 2, 3, 4, 5, 6], 2, 3)), [3, 2], "double");
  add("S", new Float32Array([0.5, -2]), [2, 1], "single"); // 1x2 single row vector
  add("I", new Int32Array(colMajor([-7, 8, 9, 2147483647], 2, 2)), [2, 2], "int32");
  add("L", new Uint8Array([1, 0, 1]), [1, 3], "logical"); // 3x1 logical column
  // 'hi' / 'yo' as a 2x2 char: column-major codes h y i o
  const ch = add("C", new Uint16Array([104, 121, 105, 111]), [2, 2], "char");
  ch.create_attribute("MATLAB_int_decode", 2);
  const e = add("E", new BigUint64Array([3n, 0n]), [2], "double"); // zeros(0,3)
  e.create_attribute("MATLAB_empty", 1);
  add("CELL", new Uint8Array([0]), [1, 1], "cell");
  // ST.inner.X = [1 2; 3 4], ST.y = [5 6 7]': a scalar struct with a nested struct
  const g = f.create_group("ST");
  g.create_attribute("MATLAB_class", "struct");
  const inner = g.create_group("inner");
  inner.create_attribute("MATLAB_class", "struct");
  inner.create_dataset({ name: "X", data: new Float64Array([1, 3, 2, 4]), shape: [2, 2] })
    .create_attribute("MATLAB_class", "double");
  g.create_dataset({ name: "y", data: new Float64Array([5, 6, 7]), shape: [1, 3] })
    .create_attribute("MATLAB_class", "double");
  f.create_group("#refs#");
  f.close();
  // prepend MATLAB's 512-byte text user block
  const body = await Deno.readFile(h5);
  const out = new Uint8Array(512 + body.length);
  out.fill(0x20, 0, 512);
  out.set(
    new TextEncoder().encode(
      "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .",
    ),
    0,
  );
  out.set(body, 512);
  const path = `${dir}/matlab73.mat`;
  await Deno.writeFile(path, out);
  return path;
}
type h5wasmData =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | BigUint64Array;

Deno.test("mat v7.3: MATLAB layout (user block, transposed, classes) reads back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mat73-" });
  try {
    const path = await writeMatlabLike(dir);
    assert.equal(sniffMat(await Deno.readFile(path)), "mat73");
    const vars = await readMatV73(path);
    assert.ok(!vars.has("#refs#"));
    assert.deepEqual(matToMatrix(matVariable(vars, "A")), {
      rows: 2,
      cols: 3,
      data: new Float64Array([1, 2, 3, 4, 5, 6]),
    });
    const s = matVariable(vars, "S");
    assert.equal(s.class, "single");
    assert.ok(s.data instanceof Float32Array);
    assert.deepEqual(s.shape, [1, 2]);
    const i = matVariable(vars, "I");
    assert.ok(i.data instanceof Int32Array);
    assert.deepEqual(Array.from(i.data), [-7, 8, 9, 2147483647]);
    const l = matVariable(vars, "L");
    assert.equal(l.class, "logical");
    assert.deepEqual(l.shape, [3, 1]);
    assert.deepEqual(matVariable(vars, "C").text, ["hi", "yo"]);
    const e = matToMatrix(matVariable(vars, "E"));
    assert.equal(e.rows, 0);
    assert.equal(e.cols, 3);
    assert.throws(() => matVariable(vars, "CELL"), /'CELL' is a MATLAB cell array.*not support/);
    // a scalar struct's fields by path, nested; the struct itself is not a matrix
    assert.deepEqual(matVariable(vars, "ST").fields, ["inner", "y"]);
    assert.deepEqual(matToMatrix(matPath(vars, "ST.inner.X")), {
      rows: 2,
      cols: 2,
      data: new Float64Array([1, 2, 3, 4]),
    });
    assert.deepEqual(matToMatrix(matPath(vars, "ST/y")).rows, 3);
    assert.throws(
      () => matToMatrix(matVariable(vars, "ST")),
      /'ST' is a struct array, not numeric: it has the fields inner, y; name one by path/,
    );
    assert.throws(() => matPath(vars, "ST.nope"), /'ST': no field 'nope'; it has: inner, y/);
    assert.throws(() => matPath(vars, "ST.y.z"), /'ST.y' is a 3×1 double array, not a struct/);
    // the dispatcher picks v7.3 from the header
    const viaReadMat = await readMat(path);
    assert.deepEqual(Array.from(matVariable(viaReadMat, "A").data as Float64Array), [
      1,
      2,
      3,
      4,
      5,
      6,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mat v7.3: a non-HDF5 file gives a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mat73-" });
  try {
    await Deno.writeFile(`${dir}/x.mat`, new TextEncoder().encode("not hdf5 at all"));
    await assert.rejects(readMatV73(`${dir}/x.mat`), /x.mat: not a readable HDF5/);
    await assert.rejects(readMatV73(`${dir}/missing.mat`), /missing.mat: file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mat v7.3 reader: a plain HDF5 file (h5py layout, no MATLAB_class) keeps C order, by path", async () => {
  await h5wasm.ready;
  const dir = await Deno.makeTempDir({ prefix: "h5plain-" });
  try {
    const path = `${dir}/release.h5`;
    const f = new h5wasm.File(path, "w");
    const g = f.create_group("feats");
    g.create_dataset({ name: "train", data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    f.create_dataset({ name: "labels", data: new Int32Array([2, 0]), shape: [2] });
    f.create_dataset({ name: "names", data: ["a", "b"] });
    f.close();
    const vars = await readMat(path);
    assert.deepEqual(matToMatrix(matPath(vars, "feats/train")), {
      rows: 2,
      cols: 3,
      data: new Float64Array([1, 2, 3, 4, 5, 6]),
    });
    assert.equal(matPath(vars, "feats.train").class, "single");
    assert.deepEqual(matToMatrix(matVariable(vars, "labels")), {
      rows: 2,
      cols: 1,
      data: new Float64Array([2, 0]),
    });
    assert.throws(
      () => matVariable(vars, "names"),
      /'names' is an HDF5 dataset of type .* without MATLAB_class/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
