import assert from "node:assert/strict";
import { minimizeLbfgs } from "../../../stages/linalg/lbfgs.ts";

Deno.test("lbfgs: minimises the Rosenbrock function to (1, 1)", () => {
  const r = minimizeLbfgs((x, g) => {
    const [a, b] = x;
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
  }, Float64Array.from([-1.2, 1]));
  assert.ok(r.converged, r.message);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-6 && Math.abs(r.x[1] - 1) < 1e-6, `x = ${r.x}`);
  assert.ok(r.f < 1e-12);
});

Deno.test("lbfgs: solves an ill-conditioned quadratic ½xᵀAx − bᵀx exactly", () => {
  // A = diag(1, 10, ..., 1e6) rotated by a Householder reflection; the minimiser is A⁻¹b.
  const n = 7;
  const diag = Array.from({ length: n }, (_, i) => 10 ** i);
  const v = Array.from({ length: n }, (_, i) => (i + 1) / Math.sqrt(140));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // H D H with H = I − 2vvᵀ (‖v‖ = 1)
      let s = 0;
      for (let k = 0; k < n; k++) {
        const hik = (i === k ? 1 : 0) - 2 * v[i] * v[k];
        const hkj = (k === j ? 1 : 0) - 2 * v[k] * v[j];
        s += hik * diag[k] * hkj;
      }
      a[i * n + j] = s;
    }
  }
  // Choose the answer, then b = A x*.
  const xStar = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i] += a[i * n + j] * xStar[j];
  const r = minimizeLbfgs(
    (x, g) => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        let ax = 0;
        for (let j = 0; j < n; j++) ax += a[i * n + j] * x[j];
        g[i] = ax - b[i];
        f += 0.5 * x[i] * ax - b[i] * x[i];
      }
      return f;
    },
    new Float64Array(n),
    { gradTol: 1e-12, fTol: 0 },
  );
  assert.ok(r.converged, r.message);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(r.x[i] - xStar[i]) < 1e-6, `x[${i}] = ${r.x[i]}`);
});

Deno.test("lbfgs: returns at once when the start is optimal, and rejects a non-finite start", () => {
  const quad = (x: Float64Array, g: Float64Array) => {
    g[0] = 2 * x[0];
    return x[0] * x[0];
  };
  const r = minimizeLbfgs(quad, Float64Array.from([0]));
  assert.equal(r.iterations, 0);
  assert.ok(r.converged);
  assert.throws(
    () => minimizeLbfgs((_x, _g) => NaN, Float64Array.from([1])),
    /not finite at the start/,
  );
});
