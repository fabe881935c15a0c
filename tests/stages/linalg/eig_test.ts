import assert from "node:assert/strict";
import {
  cholesky,
  crossprod,
  fromRows,
  genSymEig,
  identity,
  matmul,
  maxAbsDiff,
  solveLower,
  solveLowerTransposed,
  svd,
  symEig,
  symPower,
  transpose,
  zeros,
} from "../../../stages/linalg/mod.ts";
import { testBothBackends } from "../../helpers/linalg_backends.ts";
import { randomMatrix, randomSpd, rng } from "../../helpers/random.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./eig_fixture.json", import.meta.url)),
) as {
  A: number[][];
  B: number[][];
  S: number[][];
  eigA: number[];
  geneigAB: number[];
  svdS: number[];
};

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

testBothBackends("symEig: 2×2 by hand, descending, unit vectors", () => {
  const e = symEig(fromRows([[2, 1], [1, 2]]));
  close(e.values, [3, 1], 1e-12, "values");
  const v0 = [e.vectors.data[0], e.vectors.data[2]];
  assert.ok(Math.abs(Math.abs(v0[0]) - Math.SQRT1_2) < 1e-12);
  assert.ok(Math.abs(v0[0] - v0[1]) < 1e-12, "top eigenvector is ±(1,1)/√2");
});

testBothBackends("symEig: 3×3 diagonal comes back sorted descending; k keeps the largest", () => {
  const e = symEig(fromRows([[1, 0, 0], [0, 5, 0], [0, 0, 3]]), { k: 2 });
  close(e.values, [5, 3], 1e-12, "values");
  assert.equal(e.vectors.cols, 2);
  assert.ok(Math.abs(Math.abs(e.vectors.data[1 * 2 + 0]) - 1) < 1e-12, "e2 first");
});

testBothBackends("symEig: matches numpy eigvalsh on the committed fixture; A V = V Λ", () => {
  const a = fromRows(fixture.A);
  const e = symEig(a);
  close(e.values, fixture.eigA, 1e-10, "eig(A)");
  const av = matmul(a, e.vectors);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.rows; j++) {
      assert.ok(Math.abs(av.data[i * 5 + j] - e.values[j] * e.vectors.data[i * 5 + j]) < 1e-10);
    }
  }
  assert.ok(maxAbsDiff(crossprod(e.vectors, e.vectors), identity(5)) < 1e-12, "orthonormal");
});

testBothBackends("cholesky + triangular solves on a random SPD matrix", () => {
  const b = randomSpd(12, 3);
  const l = cholesky(b);
  for (let i = 0; i < 12; i++) for (let j = i + 1; j < 12; j++) assert.equal(l.data[i * 12 + j], 0);
  assert.ok(maxAbsDiff(matmul(l, transpose(l)), b) < 1e-12, "L Lᵀ = B");
  const rhs = randomMatrix(12, 3, 9);
  assert.ok(maxAbsDiff(matmul(l, solveLower(l, rhs)), rhs) < 1e-12, "L X = R");
  assert.ok(
    maxAbsDiff(matmul(transpose(l), solveLowerTransposed(l, rhs)), rhs) < 1e-12,
    "Lᵀ X = R",
  );
});

testBothBackends("cholesky: a non-SPD matrix fails with advice", () => {
  assert.throws(
    () => cholesky(fromRows([[1, 2], [2, 1]])),
    /not positive definite.*regularisation/,
  );
});

testBothBackends("genSymEig: 2×2 by hand (A = [[2,1],[1,2]], B = diag(2,1))", () => {
  // det(A − λB) = (2−2λ)(2−λ) − 1 = 2λ² − 6λ + 3 → λ = (3 ± √3)/2
  const a = fromRows([[2, 1], [1, 2]]), b = fromRows([[2, 0], [0, 1]]);
  const e = genSymEig(a, b);
  close(e.values, [(3 + Math.sqrt(3)) / 2, (3 - Math.sqrt(3)) / 2], 1e-12, "values");
  assert.ok(maxAbsDiff(crossprod(e.vectors, matmul(b, e.vectors)), identity(2)) < 1e-12);
});

testBothBackends("genSymEig: numpy/scipy eigh(A, B) fixture; residual and B-normalisation", () => {
  const a = fromRows(fixture.A), b = fromRows(fixture.B);
  const e = genSymEig(a, b);
  close(e.values, fixture.geneigAB, 1e-9, "eigh(A,B)");
  const av = matmul(a, e.vectors), bv = matmul(b, e.vectors);
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      assert.ok(Math.abs(av.data[i * 5 + j] - e.values[j] * bv.data[i * 5 + j]) < 1e-9);
    }
  }
  assert.ok(maxAbsDiff(crossprod(e.vectors, bv), identity(5)) < 1e-10, "Vᵀ B V = I");
});

testBothBackends("genSymEig: random 40×40 SPD pair with reg, residuals against B + reg·I", () => {
  const n = 40, reg = 0.3;
  const g = randomMatrix(n, n, 11);
  const a = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) a.data[i * n + j] = g.data[i * n + j] + g.data[j * n + i];
  }
  const b = randomSpd(n, 12);
  const e = genSymEig(a, b, { reg, k: 7 });
  assert.equal(e.vectors.cols, 7);
  const breg = matmul(b, identity(n));
  for (let i = 0; i < n; i++) breg.data[i * n + i] += reg;
  const av = matmul(a, e.vectors), bv = matmul(breg, e.vectors);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 7; j++) {
      worst = Math.max(worst, Math.abs(av.data[i * 7 + j] - e.values[j] * bv.data[i * 7 + j]));
    }
  }
  assert.ok(worst < 1e-9, `residual ${worst}`);
  assert.ok(maxAbsDiff(crossprod(e.vectors, bv), identity(7)) < 1e-9);
  for (let j = 1; j < 7; j++) assert.ok(e.values[j - 1] >= e.values[j], "descending");
  // The largest generalized eigenvalue is the max Rayleigh quotient: no random vector beats it.
  const r = rng(5);
  for (let t = 0; t < 20; t++) {
    const x = zeros(n, 1);
    for (let i = 0; i < n; i++) x.data[i] = r() - 0.5;
    const q = crossprod(x, matmul(a, x)).data[0] / crossprod(x, matmul(breg, x)).data[0];
    assert.ok(q <= e.values[0] + 1e-9);
  }
});

testBothBackends("genSymEig: singular B without reg throws, with reg succeeds", () => {
  const a = identity(2), b = fromRows([[1, 1], [1, 1]]);
  assert.throws(() => genSymEig(a, b), /not positive definite/);
  const e = genSymEig(a, b, { reg: 1 });
  // B + I has eigenvalues 3 and 1 → A v = λ (B+I) v gives λ = 1 and 1/3.
  close(e.values, [1, 1 / 3], 1e-12, "values");
});

testBothBackends(
  "symPower: inverse square root of an SPD matrix; singular input is rejected",
  () => {
    const b = randomSpd(6, 21);
    const k = symPower(b, { power: -0.5 });
    assert.ok(maxAbsDiff(matmul(matmul(k, b), k), identity(6)) < 1e-10, "K B K = I");
    assert.throws(() => symPower(fromRows([[1, 1], [1, 1]]), { power: -0.5 }), /singular/);
  },
);

testBothBackends("svd: singular values match numpy; U S Vᵀ reconstructs", () => {
  const s = fromRows(fixture.S);
  const d = svd(s);
  close(d.s, fixture.svdS, 1e-10, "svd(S)");
  const us = matmul(d.u, fromRows(Array.from(d.s, (v, i) => d.s.map((_, j) => i === j ? v : 0))));
  assert.ok(maxAbsDiff(matmul(us, transpose(d.v)), s) < 1e-10, "reconstruction");
  const t = svd(transpose(s));
  close(t.s, fixture.svdS, 1e-10, "svd(Sᵀ)");
});

testBothBackends("symEig rejects non-square and non-finite input with a clear message", () => {
  assert.throws(() => symEig(zeros(2, 3)), /square/);
  assert.throws(() => symEig(fromRows([[1, NaN], [NaN, 1]])), /non-finite/);
});
