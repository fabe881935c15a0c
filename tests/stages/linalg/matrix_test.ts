import assert from "node:assert/strict";
import { Matrix as MlMatrix } from "ml-matrix";
import {
  add,
  addIdentity,
  blockMatrix,
  columnMeans,
  columnStds,
  crossprod,
  fromMl,
  fromRows,
  gram,
  identity,
  matmul,
  scale,
  scaleColumns,
  sliceCols,
  sliceRows,
  sub,
  symmetrize,
  toMl,
  toRows,
  trace,
  transpose,
} from "../../../stages/linalg/mod.ts";

const a = fromRows([[1, 2, 3], [4, 5, 6]]);

Deno.test("matmul, transpose, crossprod and gram agree with hand results", () => {
  assert.deepEqual(toRows(transpose(a)), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(toRows(matmul(a, transpose(a))), [[14, 32], [32, 77]]);
  assert.deepEqual(toRows(crossprod(a, a)), [[17, 22, 27], [22, 29, 36], [27, 36, 45]]);
  assert.deepEqual(toRows(gram(a)), toRows(crossprod(a, a)));
  assert.throws(() => matmul(a, a), /inner dimensions/);
});

Deno.test("elementwise helpers, trace, identity, symmetrize", () => {
  const s = fromRows([[1, 2], [4, 3]]);
  assert.deepEqual(toRows(add(s, s)), [[2, 4], [8, 6]]);
  assert.deepEqual(toRows(sub(s, s)), [[0, 0], [0, 0]]);
  assert.deepEqual(toRows(scale(s, 2)), [[2, 4], [8, 6]]);
  assert.deepEqual(toRows(addIdentity(s, 1)), [[2, 2], [4, 4]]);
  assert.deepEqual(toRows(symmetrize(s)), [[1, 3], [3, 3]]);
  assert.equal(trace(s), 4);
  assert.deepEqual(toRows(identity(2, { scale: 3 })), [[3, 0], [0, 3]]);
});

Deno.test("column statistics (population std by default) and scaling with NaN → 0", () => {
  const m = fromRows([[1, 5], [3, 5]]);
  assert.deepEqual(Array.from(columnMeans(m)), [2, 5]);
  assert.deepEqual(Array.from(columnStds(m)), [1, 0]);
  assert.deepEqual(Array.from(columnStds(m, { ddof: 1 })), [Math.SQRT2, 0]);
  const z = scaleColumns(m, { shift: columnMeans(m), div: columnStds(m) });
  assert.deepEqual(toRows(z), [[-1, 0], [1, 0]]); // 0/0 → 0
});

Deno.test("slices and block matrices", () => {
  assert.deepEqual(toRows(sliceCols(a, [1, 3])), [[2, 3], [5, 6]]);
  assert.deepEqual(toRows(sliceRows(a, [1, 2])), [[4, 5, 6]]);
  const b = blockMatrix([[identity(1), fromRows([[7, 8]])], [null, identity(2, { scale: 2 })]]);
  assert.deepEqual(toRows(b), [[1, 7, 8], [0, 2, 0], [0, 0, 2]]);
  assert.throws(
    () => blockMatrix([[identity(1), identity(2)], [null, identity(2)]]),
    /block \(0,1\)/,
  );
});

Deno.test("ml-matrix round trip", () => {
  const ml = toMl(a);
  assert.ok(ml instanceof MlMatrix);
  assert.equal(ml.get(1, 2), 6);
  assert.deepEqual(toRows(fromMl(ml)), toRows(a));
});

Deno.test("projectCentred: (x − meanX)·wx and (y − meanY)·wy, widths checked", async () => {
  const { projectCentred } = await import("../../../stages/linalg/matrix.ts");
  const m = (rows: number, cols: number, v: number[]) => ({
    rows,
    cols,
    data: Float64Array.from(v),
  });
  const model = {
    name: "toy",
    wx: m(2, 1, [1, 2]),
    wy: m(1, 1, [3]),
    meanX: [1, 1],
    meanY: [2],
  };
  const out = projectCentred({ x: m(1, 2, [2, 3]), y: m(2, 1, [2, 5]) }, model);
  assert.deepEqual(Array.from(out.x!.data), [(2 - 1) * 1 + (3 - 1) * 2]);
  assert.deepEqual(Array.from(out.y!.data), [0, 9]);
  assert.throws(() => projectCentred({ x: m(1, 3, [1, 2, 3]) }, model), /toy: x has 3 columns/);
});
