import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import {
  columnToRowMajor,
  decodeMatV5,
  type MatData,
  matField,
  matPath,
  matToMatrix,
  type MatVariable,
  matVariable,
  readMatV5,
} from "../../../stages/tensor_io/mat_v5.ts";
import { wikipediaDir } from "../../helpers/shared_data.ts";
import { concatBytes, encodeMat, matElement } from "../../helpers/mat_writer.ts";

function nums(d: MatData | undefined): (number | bigint)[] {
  assert.ok(d, "values");
  return Array.from(d as ArrayLike<number | bigint>);
}

const FIX = new URL("../../fixtures/mat/", import.meta.url).pathname;

const WIKI = wikipediaDir();
if (!WIKI) console.log("mat_v5_test: Wikipedia features not found (set DSE_DATA_MIRROR); skipping");

/** Expected values: the same formulas as tests/fixtures/mat/make_fixtures.py. */
function checkNumeric(path: string) {
  return async () => {
    const vars = await readMatV5(path);
    const get = (n: string) => matVariable(vars, n, { source: path });

    const d = get("d");
    assert.equal(d.class, "double");
    assert.deepEqual(d.shape, [3, 4]);
    assert.ok(d.data instanceof Float64Array);
    assert.deepEqual(nums(d.data), Array.from({ length: 12 }, (_, i) => i * 0.5 - 1.25));

    const s = get("s");
    assert.equal(s.class, "single");
    assert.ok(s.data instanceof Float32Array);
    assert.deepEqual(s.shape, [2, 3]);
    assert.deepEqual(nums(s.data), [0, 0.25, 0.5, 0.75, 1, 1.25]);

    const ints: [string, string, unknown, number[], number[]][] = [
      ["i8", "int8", Int8Array, [2, 3], [-128, -1, 0, 1, 2, 127]],
      ["u8", "uint8", Uint8Array, [1, 3], [0, 1, 255]],
      ["i16", "int16", Int16Array, [3, 1], [-32768, 0, 32767]],
      ["u16", "uint16", Uint16Array, [2, 2], [0, 65535, 7, 8]],
      ["i32", "int32", Int32Array, [1, 3], [-2147483648, 2147483647, 5]],
      ["u32", "uint32", Uint32Array, [1, 2], [4294967295, 0]],
      ["lg", "logical", Uint8Array, [2, 3], [1, 0, 1, 0, 0, 1]],
    ];
    for (const [name, cls, ctor, shape, values] of ints) {
      const v = get(name);
      assert.equal(v.class, cls, name);
      assert.ok(v.data instanceof (ctor as typeof Int8Array), `${name} typed array`);
      assert.deepEqual(v.shape, shape, name);
      assert.deepEqual(nums(v.data), values, name);
    }
    const i64 = get("i64");
    assert.ok(i64.data instanceof BigInt64Array);
    assert.deepEqual(nums(i64.data), [-(2n ** 53n), 2n ** 53n, -3n]);
    const u64 = get("u64");
    assert.ok(u64.data instanceof BigUint64Array);
    assert.deepEqual(nums(u64.data), [2n ** 53n, 9n]);
    assert.deepEqual(Array.from(matToMatrix(i64).data), [-(2 ** 53), 2 ** 53, -3]);

    assert.deepEqual(get("txt").text, ["héllo wörld"]);
    assert.equal(get("txt").class, "char");
    assert.deepEqual(get("rows").text, ["abc", "xyz"]);
    assert.deepEqual(get("rows").shape, [2, 3]);

    const cube = get("cube");
    assert.deepEqual(cube.shape, [2, 3, 4]);
    assert.deepEqual(nums(cube.data), Array.from({ length: 24 }, (_, i) => i));
    assert.throws(() => matToMatrix(cube), /expected a 2-D matrix/);

    assert.deepEqual(matToMatrix(get("col")), {
      rows: 3,
      cols: 1,
      data: new Float64Array([1.5, 2.5, 3.5]),
    });
    assert.deepEqual(matToMatrix(get("empty")), { rows: 0, cols: 3, data: new Float64Array(0) });
    assert.deepEqual(matToMatrix(get("scalar")).data, new Float64Array([42]));
    const dm = matToMatrix(d);
    assert.equal(dm.rows, 3);
    assert.equal(dm.cols, 4);
    assert.equal(dm.data[1 * 4 + 2], 6 * 0.5 - 1.25); // row 1, col 2 of arange(12).reshape(3,4)
  };
}

Deno.test(
  "mat v5: uncompressed fixture, every numeric class, char, N-D",
  checkNumeric(`${FIX}numeric_plain.mat`),
);
Deno.test("mat v5: miCOMPRESSED fixture", checkNumeric(`${FIX}numeric_compressed.mat`));

Deno.test("mat v5: unsupported classes are named, supported neighbours still load", async () => {
  const path = `${FIX}unsupported.mat`;
  const vars = await readMatV5(path);
  assert.deepEqual(nums(matVariable(vars, "ok").data), [1, 2]);
  assert.throws(() => matVariable(vars, "sp"), /'sp' is a sparse array.*full\(x\)/);
  assert.throws(() => matToMatrix(vars.get("cx")!), /'cx' is a complex double array/);
  // cells and structs open; what they hold is read like a top-level variable
  assert.equal(matVariable(vars, "cel").cells?.length, 2);
  assert.deepEqual(matVariable(vars, "st").fields, ["a", "b"]);
  assert.throws(
    () => matToMatrix(matVariable(vars, "st")),
    /'st' is a struct array, not numeric: it has the fields a, b; name one by path, e.g. 'st.a'/,
  );
  assert.throws(
    () => matVariable(vars, "nope"),
    /no variable 'nope'; it holds: ok, sp, cel, st, cx/,
  );
});

/** Expected values: `hwang_like_vars()` in tests/fixtures/mat/make_fixtures.py. */
function checkStructs(path: string) {
  return async () => {
    const vars = await readMatV5(path);
    const d1 = matVariable(vars, "D1");
    assert.equal(d1.class, "struct");
    assert.deepEqual(d1.shape, [1, 3]);
    assert.deepEqual(d1.fields, ["filename", "objectcount", "taglist"]);
    assert.equal(d1.records?.length, 3);
    for (let i = 0; i < 3; i++) {
      const rec: Map<string, MatVariable> = d1.records![i];
      assert.deepEqual(matField(rec, "filename").text, [
        `${String(i * 7 + 5).padStart(6, "0")}.jpg`,
      ]);
      const oc = matField(rec, "objectcount");
      assert.deepEqual(oc.shape, [1, 20]);
      assert.deepEqual(nums(oc.data), Array.from({ length: 20 }, (_, c) => (c === i ? i + 1 : 0)));
      assert.deepEqual(nums(matField(rec, "taglist").data), [i + 1, 399, i + 1]);
    }
    const d2 = matVariable(vars, "D2");
    assert.deepEqual(matField(d2.records![0], "taglist").shape, [1, 0]);
    assert.deepEqual(nums(matField(d2.records![0], "objectcount").data).filter((x) => x !== 0), [
      1,
      2,
    ]);
    assert.deepEqual(nums(matField(d2.records![1], "taglist").data), [7]);
    assert.throws(
      () => matField(d2.records![1], "gist", { source: "test.mat D2(2)" }),
      /test.mat D2\(2\): no field 'gist'; it has: filename, objectcount, taglist/,
    );

    // a 2×2 cell in MATLAB's linear (column-major) order: {1,1} {2,1} {1,2} {2,2}
    const cel = matVariable(vars, "cel");
    assert.deepEqual(cel.shape, [2, 2]);
    const [a, b, c, d] = cel.cells!;
    assert.deepEqual(a.text, ["a"]);
    assert.deepEqual(nums(b.data), [1, 2]);
    assert.equal(c.class, "struct");
    assert.deepEqual(nums(matField(c.records![0], "inner").data), [3]);
    assert.deepEqual(matField(c.records![0], "name").text, ["deep"]);
    assert.equal(d.class, "double");
    assert.deepEqual(d.shape, [0, 0]);
  };
}

Deno.test(
  "mat v5: struct and cell arrays (Hwang's Pascal .mat form)",
  checkStructs(`${FIX}structs_plain.mat`),
);
Deno.test(
  "mat v5: struct and cell arrays, compressed",
  checkStructs(`${FIX}structs_compressed.mat`),
);

/** A hand-built MAT v5 file: one miMATRIX, double values stored as miUINT8 (as MATLAB does). */
function handBuilt(compress: boolean): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode("MATLAB 5.0 MAT-file, hand built"), 0);
  header.set([0x00, 0x01, 0x49, 0x4d], 124); // version 0x0100, "IM"
  const el = matElement;
  const u32 = (xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
  const i32 = (xs: number[]) => new Uint8Array(new Int32Array(xs).buffer);
  const smallName = new Uint8Array(8); // small data element: size 1, type miINT8, "x"
  new DataView(smallName.buffer).setUint32(0, (1 << 16) | 1, true);
  smallName[4] = "x".charCodeAt(0);
  const parts = [
    el(6, u32([6, 0])), // array flags: mxDOUBLE_CLASS
    el(5, i32([2, 3])), // dims 2x3
    smallName,
    el(2, new Uint8Array([1, 2, 3, 4, 5, 6])), // column-major values as miUINT8
  ];
  let matrix = el(14, concatBytes(parts));
  if (compress) {
    const z = deflateSync(matrix);
    matrix = new Uint8Array(8 + z.length);
    new DataView(matrix.buffer).setUint32(0, 15, true);
    new DataView(matrix.buffer).setUint32(4, z.length, true);
    matrix.set(z, 8);
  }
  return concatBytes([header, matrix]);
}

Deno.test("mat v5: an empty miMATRIX inside a cell (as MATLAB writes {[]}) reads as 0×0", () => {
  const header = encodeMat({}); // the 128-byte header alone
  const u32 = (xs: number[]) => new Uint8Array(new Uint32Array(xs).buffer);
  const i32 = (xs: number[]) => new Uint8Array(new Int32Array(xs).buffer);
  const double = concatBytes([
    matElement(6, u32([6, 0])),
    matElement(5, i32([1, 1])),
    matElement(1, new Uint8Array(0)),
    matElement(9, new Uint8Array(new Float64Array([2.5]).buffer)),
  ]);
  const cell = concatBytes([
    matElement(6, u32([1, 0])), // mxCELL_CLASS
    matElement(5, i32([1, 2])),
    matElement(1, new TextEncoder().encode("c")),
    matElement(14, new Uint8Array(0)),
    matElement(14, double),
  ]);
  const c = matVariable(decodeMatV5(concatBytes([header, matElement(14, cell)])), "c");
  assert.deepEqual(c.cells?.map((x) => [x.class, x.shape]), [["double", [0, 0]], ["double", [
    1,
    1,
  ]]]);
  assert.deepEqual(nums(c.cells?.[1].data), [2.5]);
  // a cell that claims more elements than it holds is reported, not read past its end
  const short = concatBytes([
    matElement(6, u32([1, 0])),
    matElement(5, i32([1, 3])),
    matElement(1, new TextEncoder().encode("c")),
    matElement(14, double),
  ]);
  assert.throws(
    () => decodeMatV5(concatBytes([header, matElement(14, short)])),
    /variable 'c': truncated data element/,
  );
});

Deno.test("mat v5: storage type differs from class, small data element name", () => {
  for (const compress of [false, true]) {
    const x = matVariable(decodeMatV5(handBuilt(compress)), "x");
    assert.equal(x.class, "double");
    assert.ok(x.data instanceof Float64Array);
    // column-major [1 3 5; 2 4 6] → row-major
    assert.deepEqual(nums(x.data), [1, 3, 5, 2, 4, 6]);
  }
});

Deno.test("mat v5: non-MAT and v7.3 inputs are refused with a hint", () => {
  assert.throws(() => decodeMatV5(new Uint8Array(10)), /too short/);
  const v4ish = new Uint8Array(200);
  assert.throws(() => decodeMatV5(v4ish, { source: "a.mat" }), /a.mat: not a MAT v5 file/);
  const v73 = new Uint8Array(600).fill(0x20);
  v73.set(new TextEncoder().encode("MATLAB 7.3 MAT-file"), 0);
  assert.throws(() => decodeMatV5(v73), /MAT v7.3 \(HDF5\).*mat73/);
  const truncated = handBuilt(false).subarray(0, 150);
  assert.throws(() => decodeMatV5(truncated), /runs past the end/);
});

Deno.test("mat v5: columnToRowMajor on 3-D matches index arithmetic", () => {
  const shape = [2, 3, 4];
  const f = new Float64Array(24);
  // Fortran linear index of (i,j,k) = i + 2j + 6k; store the C index there
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      for (let k = 0; k < 4; k++) f[i + 2 * j + 6 * k] = i * 12 + j * 4 + k;
    }
  }
  assert.deepEqual(Array.from(columnToRowMajor(f, shape)), Array.from({ length: 24 }, (_, i) => i));
});

Deno.test({
  name: "mat v5: the real Wikipedia raw_features.mat",
  ignore: !WIKI,
  fn: async () => {
    const vars = await readMatV5(`${WIKI}/raw_features.mat`);
    const expect: Record<string, [number, number, number, number, number, number]> = {
      // rows, cols, [0,0], [-1,-1], [5,7], total sum: values from scipy.io.loadmat
      I_tr: [2173, 128, 0.03732303902506828, 0.0038610037881881, 0, 2173.0000064616906],
      I_te: [693, 128, 0.25, 0, 0.007507507689297199, 693.000001747394],
      T_tr: [2173, 10, 0.07257183745716099, 0.028366624415402688, 0.058810608448175594, 2173],
      T_te: [693, 10, 0.054705003734129926, 0.0488226059654631, 0.37213584288052376, 693],
    };
    for (const [name, [r, c, first, last, at57, sum]] of Object.entries(expect)) {
      const v = matVariable(vars, name);
      assert.equal(v.class, "double");
      const m = matToMatrix(v);
      assert.equal(m.rows, r, name);
      assert.equal(m.cols, c, name);
      assert.equal(m.data[0], first, name);
      assert.equal(m.data[r * c - 1], last, name);
      assert.equal(m.data[5 * c + 7], at57, name);
      let total = 0;
      for (let i = 0; i < r; i++) {
        let row = 0;
        for (let j = 0; j < c; j++) row += m.data[i * c + j];
        assert.ok(Math.abs(row - 1) < 1e-7, `${name} row ${i} sums to ${row}`);
        total += row;
      }
      assert.ok(Math.abs(total - sum) < 1e-9, `${name} total ${total}`);
    }
  },
});

Deno.test("mat v5: values by path: nested struct fields, struct array elements, cells; cells of vectors stack", async () => {
  const rel = await readMatV5(`${FIX}release_v5.mat`);
  const img = matToMatrix(matPath(rel, "data.img.tr"));
  assert.deepEqual([img.rows, img.cols], [6, 30]);
  assert.deepEqual(matToMatrix(matPath(rel, "data/lab/te")).cols, 3);
  assert.deepEqual(matToMatrix(matVariable(rel, "vecs")), {
    rows: 3,
    cols: 4,
    data: new Float64Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
  });
  assert.throws(() => matPath(rel, "data.img.nope"), /'data.img': no field 'nope'; it has: tr, te/);
  const hw = await readMatV5(`${FIX}structs_plain.mat`);
  assert.deepEqual(matPath(hw, "D1(2).filename").text, ["000012.jpg"]);
  assert.deepEqual(nums(matPath(hw, "D1(3).taglist").data), [3, 399, 3]);
  assert.throws(
    () => matPath(hw, "D1.filename"),
    /'D1' is a 1×3 struct array; name one element, e.g. 'D1\(1\).filename'/,
  );
  assert.throws(() => matPath(hw, "D1(4).filename"), /'D1' has 3 elements; no '\(4\)'/);
  assert.deepEqual(nums(matPath(hw, "cel{2}").data), [1, 2]);
  assert.deepEqual(nums(matPath(hw, "cel{3}.inner").data), [3]);
  // a cell of mixed content is not a matrix: the message says when it would be
  assert.throws(
    () => matToMatrix(matVariable(hw, "cel")),
    /'cel' is a cell array, not numeric: a cell array is read as a matrix only when every cell is a numeric vector of the same length/,
  );
});
