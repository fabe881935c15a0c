import assert from "node:assert/strict";
import {
  fitPca2,
  jacobiEigen,
  projectPca2,
  stackRows,
  unitRows,
} from "../../../stages/report/pca2.ts";
import type { Matrix } from "../../../stages/linalg/matrix.ts";

Deno.test("jacobiEigen: known 3×3 symmetric matrix", () => {
  // Eigenvalues of [[2,1,0],[1,2,0],[0,0,5]] are 1, 3, 5.
  const { values, vectors } = jacobiEigen(new Float64Array([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
  assert.deepEqual(values.map((v) => Math.round(v * 1e9) / 1e9).sort(), [1, 3, 5]);
  const i3 = values.findIndex((v) => Math.abs(v - 3) < 1e-9);
  const v3 = [vectors[i3], vectors[3 + i3], vectors[6 + i3]].map(Math.abs);
  assert.ok(Math.abs(v3[0] - Math.SQRT1_2) < 1e-9 && Math.abs(v3[1] - Math.SQRT1_2) < 1e-9);
  assert.ok(v3[2] < 1e-9);
});

Deno.test("fitPca2 recovers two planted axes and their variances", () => {
  // x = mean + a·u + b·v with a ∈ {±3}, b ∈ {±1}: var 9 along u, 1 along v, 0 elsewhere.
  const d = 6;
  const u = [1, 1, 0, 0, 0, 0].map((x) => x / Math.SQRT2);
  const v = [0, 0, 1, -1, 1, -1].map((x) => x / 2);
  const mean = [5, -2, 1, 0, 3, 7];
  const rows: number[] = [];
  for (const a of [3, -3]) {
    for (const b of [1, -1]) for (let j = 0; j < d; j++) rows.push(mean[j] + a * u[j] + b * v[j]);
  }
  const m: Matrix = { rows: 4, cols: d, data: Float64Array.from(rows) };
  const pca = fitPca2(m);
  assert.ok(Math.abs(pca.variance[0] - 9) < 1e-9, `var0 ${pca.variance[0]}`);
  assert.ok(Math.abs(pca.variance[1] - 1) < 1e-9, `var1 ${pca.variance[1]}`);
  assert.ok(Math.abs(pca.explained - 1) < 1e-9);
  const dot = (r: number, w: number[]) => w.reduce((s, x, j) => s + x * pca.axes[r * d + j], 0);
  assert.ok(Math.abs(Math.abs(dot(0, u)) - 1) < 1e-9);
  assert.ok(Math.abs(Math.abs(dot(1, v)) - 1) < 1e-9);
  const p = projectPca2(pca, m);
  // Projections are ±3 and ±1 (signs fixed by the axis convention), centred at 0.
  const xs = [0, 1, 2, 3].map((i) => Math.abs(p[2 * i]));
  const ys = [0, 1, 2, 3].map((i) => Math.abs(p[2 * i + 1]));
  for (const x of xs) assert.ok(Math.abs(x - 3) < 1e-9);
  for (const y of ys) assert.ok(Math.abs(y - 1) < 1e-9);
  const centre = projectPca2(pca, { rows: 1, cols: d, data: Float64Array.from(mean) });
  assert.ok(Math.abs(centre[0]) < 1e-9 && Math.abs(centre[1]) < 1e-9);
  assert.throws(() => projectPca2(pca, { rows: 1, cols: 3, data: new Float64Array(3) }), /columns/);
});

Deno.test("unitRows and stackRows", () => {
  const m: Matrix = { rows: 2, cols: 2, data: Float64Array.from([3, 4, 0, 0]) };
  assert.deepEqual([...unitRows(m).data].map((x) => Math.round(x * 1e12) / 1e12), [0.6, 0.8, 0, 0]);
  const s = stackRows([m, { rows: 1, cols: 2, data: Float64Array.from([1, 2]) }]);
  assert.equal(s.rows, 3);
  assert.deepEqual([...s.data], [3, 4, 0, 0, 1, 2]);
  assert.throws(() => stackRows([m, { rows: 1, cols: 3, data: new Float64Array(3) }]), /widths/);
});
