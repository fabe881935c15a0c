import assert from "node:assert/strict";
import { fitPca, normalizeSplit, pcaSplit } from "../../../stages/baselines/preprocess.ts";
import { fromRows, toRows } from "../../../stages/linalg/mod.ts";

const train = fromRows([[1, 10, 7], [3, 10, 7], [5, 13, 7]]);
const test = fromRows([[2, 4, 1], [4, 6, 1]]);

function near(a: number[][], b: number[][], tol = 1e-12): void {
  assert.equal(a.length, b.length);
  a.forEach((r, i) =>
    r.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) <= tol, `[${i}][${j}] ${v} vs ${b[i][j]}`))
  );
}

Deno.test("normalize zscore: train mean / population std, applied to test; constant column → 0", () => {
  const r = normalizeSplit({ train, test }, { mode: "zscore" });
  const s0 = Math.sqrt(8 / 3), s1 = Math.sqrt(2); // population stds of [1,3,5] and [10,10,13]
  near(toRows(r.train), [[-2 / s0, -1 / s1, 0], [0, -1 / s1, 0], [2 / s0, 2 / s1, 0]]);
  near(toRows(r.test), [[-1 / s0, -7 / s1, 0], [1 / s0, -5 / s1, 0]]);
});

Deno.test("normalize center: subtract the train mean from both splits", () => {
  const r = normalizeSplit({ train, test }, { mode: "center" });
  near(toRows(r.test), [[-1, -7, -6], [1, -5, -6]]);
});

Deno.test("normalize split-l2 (§6 quirk): each split by its OWN mean and column L2 norm, NaN → 0", () => {
  const r = normalizeSplit({ train, test }, { mode: "split-l2" });
  // train col 0: [-2,0,2]/√8; col 1: [-1,-1,2]/√6; col 2 constant → 0/0 → 0
  near(toRows(r.train), [
    [-2 / Math.sqrt(8), -1 / Math.sqrt(6), 0],
    [0, -1 / Math.sqrt(6), 0],
    [2 / Math.sqrt(8), 2 / Math.sqrt(6), 0],
  ]);
  // test is centred by the TEST mean [3, 5, 1]: col 0 [-1, 1]/√2, col 1 [-1, 1]/√2
  const h = Math.SQRT1_2;
  near(toRows(r.test), [[-h, -h, 0], [h, h, 0]]);
  assert.deepEqual(normalizeSplit({ train, test }, { mode: "none" }).train, train);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => normalizeSplit({ train, test }, { mode: "bogus" as any }),
    /unknown mode "bogus"/,
  );
});

// Variances along the axes: 9 (x), 1 (y), 0 (z), centred at (1, 2, 3).
const pts = fromRows([[4, 2, 3], [-2, 2, 3], [1, 3, 3], [1, 1, 3]]);

Deno.test("fitPca: axes by decreasing variance; energy picks the smallest k reaching it", () => {
  const m = fitPca(pts, { energy: 0.85 });
  assert.equal(m.k, 1); // variance ratios 18/20 = 0.9 and 2/20 = 0.1
  near([Array.from(m.mean)], [[1, 2, 3]]);
  assert.ok(Math.abs(Math.abs(m.axes.data[0]) - 1) < 1e-12, "first axis is x");
  assert.equal(fitPca(pts, { energy: 0.95 }).k, 2);
  assert.equal(fitPca(pts, { k: 2 }).k, 2);
  assert.ok(Math.abs(fitPca(pts, { k: 1 }).energy - 0.9) < 1e-12);
  assert.throws(() => fitPca(pts, {}), /give k > 0/);
  assert.throws(() => fitPca(pts, { k: 4 }), /≤ the dimension 3/);
});

Deno.test("pcaSplit standard maps test with the TRAIN mean; pcain does not re-centre test", () => {
  const t = fromRows([[1, 2, 3], [3, 2, 3]]);
  const std = pcaSplit({ train: pts, test: t }, { mode: "standard", k: 1 });
  const sign = Math.sign(std.model!.axes.data[0]);
  near(toRows(std.test), [[0], [2 * sign]]);
  const q = pcaSplit({ train: pts, test: t }, { mode: "pcain", k: 1 });
  // test · axes without subtracting anything: x-coordinates 1 and 3
  near(toRows(q.test), [[sign], [3 * sign]]);
  // train scores are centred in both variants
  near(toRows(q.train), toRows(std.train));
  assert.equal(q.train.data.reduce((a, b) => a + b, 0), 0);
  assert.deepEqual(pcaSplit({ train: pts, test: t }, { mode: "none" }).test, t);
});

Deno.test("fitPca on wide data (d > n): the Gram path gives the covariance path's eigenvalues and axes", () => {
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  // 12 samples in 40 dimensions, with a few strong directions.
  const rows = Array.from(
    { length: 12 },
    (_, i) => Array.from({ length: 40 }, (_, j) => rand() + (j % 5 === 0 ? (i % 3) * 2 : 0)),
  );
  const x = fromRows(rows);
  const cov = fitPca(x, { k: 8, method: "covariance" });
  const viaGram = fitPca(x, { k: 8, method: "gram" });
  const auto = fitPca(x, { k: 8 });
  assert.equal(viaGram.values.length, 40);
  for (let i = 0; i < 40; i++) {
    assert.ok(Math.abs(cov.values[i] - viaGram.values[i]) < 1e-10, `λ${i}`);
  }
  assert.ok(viaGram.values.slice(11).every((v) => v === 0)); // rank ≤ n − 1 = 11
  // Same axes up to sign; auto takes the Gram path here.
  for (const m of [viaGram, auto]) {
    for (let j = 0; j < 8; j++) {
      let dot = 0;
      for (let i = 0; i < 40; i++) dot += cov.axes.data[i * 8 + j] * m.axes.data[i * 8 + j];
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-8, `axis ${j}: |cos| = ${Math.abs(dot)}`);
    }
  }
  // Energy 1 stops at the rank, and k beyond n − 1 falls back to the covariance path.
  assert.equal(fitPca(x, { energy: 1, method: "gram" }).k <= 12, true);
  assert.equal(fitPca(x, { k: 20 }).axes.cols, 20);
});
