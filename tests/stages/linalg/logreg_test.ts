import assert from "node:assert/strict";
import {
  binaryObjective,
  fitLogreg,
  type LogregProblem,
  multinomialObjective,
  predictProba,
} from "../../../stages/linalg/logreg.ts";
import type { Matrix } from "../../../stages/linalg/matrix.ts";

/** Deterministic uniform [0, 1) generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** n points per class around well separated centres (class a at 6·e_a), plus noise. */
function blobs(n: number, k: number, p: number, spread: number, seed: number) {
  const r = rng(seed);
  const x: Matrix = { rows: n * k, cols: p, data: new Float64Array(n * k * p) };
  const y = new Int32Array(n * k);
  for (let a = 0; a < k; a++) {
    for (let i = 0; i < n; i++) {
      const row = a * n + i;
      y[row] = a;
      for (let j = 0; j < p; j++) {
        x.data[row * p + j] = (j === a ? 6 : 0) + spread * gauss(r);
      }
    }
  }
  return { x, y };
}

function augment(x: Matrix): Matrix {
  const d = x.cols + 1;
  const data = new Float64Array(x.rows * d);
  for (let i = 0; i < x.rows; i++) {
    data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), i * d);
    data[i * d + x.cols] = 1;
  }
  return { rows: x.rows, cols: d, data };
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

Deno.test("logreg: multinomial and binary gradients match central finite differences", () => {
  const { x, y } = blobs(8, 3, 4, 2, 1);
  const r = rng(7);
  for (const freeRow of [-1, 4]) {
    const problem: LogregProblem = { x: augment(x), labels: y, classes: 3, c: 2.5, freeRow };
    const d = 5 * 3;
    const w = Float64Array.from({ length: d }, () => gauss(r) * 0.3);
    const g = new Float64Array(d);
    multinomialObjective(problem, w, { grad: g });
    const h = 1e-6, gTmp = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      const wp = w.slice(), wm = w.slice();
      wp[i] += h;
      wm[i] -= h;
      const fd = (multinomialObjective(problem, wp, { grad: gTmp }) -
        multinomialObjective(problem, wm, { grad: gTmp })) /
        (2 * h);
      assert.ok(Math.abs(fd - g[i]) < 1e-5 * Math.max(1, Math.abs(fd)), `multinomial ${i}`);
    }
    const wb = Float64Array.from({ length: 5 }, () => gauss(r) * 0.3);
    const gb = new Float64Array(5), gbTmp = new Float64Array(5);
    binaryObjective(problem, wb, { cls: 1, grad: gb });
    for (let i = 0; i < 5; i++) {
      const wp = wb.slice(), wm = wb.slice();
      wp[i] += h;
      wm[i] -= h;
      const fd = (binaryObjective(problem, wp, { cls: 1, grad: gbTmp }) -
        binaryObjective(problem, wm, { cls: 1, grad: gbTmp })) /
        (2 * h);
      assert.ok(Math.abs(fd - gb[i]) < 1e-5 * Math.max(1, Math.abs(fd)), `binary ${i}`);
    }
  }
});

Deno.test("logreg: multinomial optimum satisfies the KKT condition and Σ_c w_c = 0", () => {
  const { x, y } = blobs(30, 4, 5, 3, 2);
  for (const regularizeBias of [true, false]) {
    const model = fitLogreg(x, y, { c: 10, regularizeBias });
    assert.ok(model.solver[0].converged, model.solver[0].message);
    const problem: LogregProblem = {
      x: augment(x),
      labels: y,
      classes: 4,
      c: 10,
      freeRow: regularizeBias ? -1 : 5,
    };
    const g0 = new Float64Array(6 * 4), g = new Float64Array(6 * 4);
    multinomialObjective(problem, new Float64Array(6 * 4), { grad: g0 });
    multinomialObjective(problem, model.weights.data, { grad: g });
    assert.ok(maxAbs(g) <= 1e-7 * maxAbs(g0), `KKT residual ${maxAbs(g)}`);
    // Stationarity: W + C Xᵀ(P − Y) = 0 and rows of (P − Y) sum to 0, so each regularised row of
    // W sums to 0 over classes.
    for (let j = 0; j < (regularizeBias ? 6 : 5); j++) {
      let s = 0;
      for (let a = 0; a < 4; a++) s += model.weights.data[j * 4 + a];
      assert.ok(Math.abs(s) < 1e-6, `row ${j} sums to ${s}`);
    }
  }
});

Deno.test("logreg: a separable toy problem is classified perfectly with confident posteriors", () => {
  const { x, y } = blobs(25, 3, 3, 0.5, 3);
  for (const multiclass of ["multinomial", "ovr"] as const) {
    const model = fitLogreg(x, y, { c: 30, multiclass });
    const p = predictProba(model, x);
    for (let i = 0; i < x.rows; i++) {
      let sum = 0, best = 0;
      for (let a = 0; a < 3; a++) {
        sum += p.data[i * 3 + a];
        if (p.data[i * 3 + a] > p.data[i * 3 + best]) best = a;
      }
      assert.ok(Math.abs(sum - 1) < 1e-12, "posteriors sum to 1");
      assert.equal(best, y[i], `${multiclass}: row ${i}`);
      assert.ok(p.data[i * 3 + y[i]] > 0.9, `${multiclass}: confident on row ${i}`);
    }
  }
});

Deno.test("logreg: two-class multinomial with C equals binary LR with 2C (w₁ − w₂ = v)", () => {
  // With two classes the softmax optimum has w₁ = −w₂ = v/2, and ½(‖v/2‖² + ‖v/2‖²) + C Σ CE is
  // ½(½‖v‖² + 2C Σ log(1 + e^{−l vᵀx})): binary LR with 2C. This checks one solver path against
  // the other.
  const { x, y } = blobs(40, 2, 3, 3, 4);
  const multi = fitLogreg(x, y, { c: 0.7, gradTol: 1e-11 });
  const ovr = fitLogreg(x, y, { c: 1.4, multiclass: "ovr", gradTol: 1e-11 });
  for (let j = 0; j < 4; j++) {
    const v = multi.weights.data[j * 2] - multi.weights.data[j * 2 + 1];
    const b = ovr.weights.data[j * 2]; // class 0 vs rest
    assert.ok(Math.abs(v - b) < 1e-6 * Math.max(1, Math.abs(b)), `feature ${j}: ${v} vs ${b}`);
  }
});

Deno.test("logreg: without a bias the model is odd: negating x swaps two-class posteriors", () => {
  const { x, y } = blobs(10, 2, 2, 1, 5);
  const model = fitLogreg(x, y, { bias: false });
  assert.equal(model.weights.rows, 2);
  // Without a bias the decision function is odd: p(−x) swaps the two classes.
  const neg: Matrix = { rows: x.rows, cols: 2, data: x.data.map((v) => -v) };
  const p = predictProba(model, x), q = predictProba(model, neg);
  for (let i = 0; i < x.rows; i++) {
    assert.ok(Math.abs(p.data[i * 2] - q.data[i * 2 + 1]) < 1e-12);
  }
});

Deno.test("logreg: bad input is rejected with a clear message", () => {
  const x: Matrix = { rows: 3, cols: 1, data: Float64Array.from([1, 2, 3]) };
  assert.throws(() => fitLogreg(x, [0, 1]), /3 feature rows but 2 labels/);
  assert.throws(() => fitLogreg(x, [0, 1, -1], { classes: 2 }), /label -1 at row 2/);
  assert.throws(() => fitLogreg(x, [0, 0, 0]), /at least 2 classes/);
  assert.throws(
    () => fitLogreg({ rows: 3, cols: 1, data: Float64Array.from([1, NaN, 3]) }, [0, 1, 0]),
    /row 1, column 0 is NaN/,
  );
  const model = fitLogreg(x, [0, 1, 1]);
  assert.throws(
    () => predictProba(model, { rows: 1, cols: 2, data: new Float64Array(2) }),
    /1 features/,
  );
});
