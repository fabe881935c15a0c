import assert from "node:assert/strict";
import {
  householderQ,
  symEigTs,
  tridiagonalize,
  tridiagonalQl,
} from "../../../stages/linalg/sym_eig.ts";
import { rng } from "../../helpers/random.ts";

/** A random symmetric n × n (entries uniform in [−1, 1)), row-major. */
function randomSym(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = 2 * r() - 1;
  }
  return a;
}

/**
 * `Q diag(λ) Qᵀ` for a random orthogonal Q (a product of three Householder reflections of random
 * vectors): a matrix whose eigenvalues are `lambda` exactly, up to the rounding of forming it.
 */
function withSpectrum(lambda: readonly number[], seed: number): Float64Array {
  const n = lambda.length;
  const r = rng(seed);
  let q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let h = 0; h < 3; h++) {
    const u = Array.from({ length: n }, () => r() - 0.5);
    const uu = u.reduce((s, x) => s + x * x, 0);
    const next = new Float64Array(n * n); // (I − 2uuᵀ/uᵀu) Q
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i] * q[i * n + j];
      for (let i = 0; i < n; i++) next[i * n + j] = q[i * n + j] - (2 * u[i] * dot) / uu;
    }
    q = next;
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * lambda[k] * q[j * n + k];
      a[i * n + j] = s;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i];
  return a;
}

/** max |A V − V Λ| and max |VᵀV − I| for the decomposition of `a`. */
function errors(a: Float64Array, n: number): { res: number; orth: number; values: number[] } {
  const { values, vectors: v } = symEigTs(a.slice(), n);
  let res = 0, orth = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * v[j * n + c];
      res = Math.max(res, Math.abs(s - values[c] * v[i * n + c]));
    }
    for (let c2 = c; c2 < n; c2++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i * n + c] * v[i * n + c2];
      orth = Math.max(orth, Math.abs(s - (c === c2 ? 1 : 0)));
    }
  }
  return { res, orth, values: Array.from(values).sort((x, y) => y - x) };
}

function maxAbs(a: Float64Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

Deno.test("tridiagonalize + householderQ: Qᵀ A Q is the tridiagonal (d, e), Q orthogonal", () => {
  for (const n of [1, 2, 3, 4, 5, 6, 9, 37]) {
    const a = randomSym(n, n);
    const work = a.slice();
    const { d, e, tau } = tridiagonalize(work, n);
    const q = householderQ(work, n, tau);
    let worst = 0, orth = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let t = 0, qq = 0; // (Qᵀ A Q)[i][j], (QᵀQ)[i][j]
        for (let k = 0; k < n; k++) {
          let aq = 0;
          for (let l = 0; l < n; l++) aq += a[k * n + l] * q[l * n + j];
          t += q[k * n + i] * aq;
          qq += q[k * n + i] * q[k * n + j];
        }
        const want = i === j ? d[i] : j === i + 1 ? e[i] : i === j + 1 ? e[j] : 0;
        worst = Math.max(worst, Math.abs(t - want));
        orth = Math.max(orth, Math.abs(qq - (i === j ? 1 : 0)));
      }
    }
    assert.ok(worst < 1e-13 * n, `n = ${n}: |QᵀAQ − T| = ${worst}`);
    assert.ok(orth < 1e-14 * n, `n = ${n}: |QᵀQ − I| = ${orth}`);
  }
});

Deno.test("symEigTs: 1×1 and 2×2 by hand", () => {
  const one = symEigTs(new Float64Array([-3.5]), 1);
  assert.deepEqual([...one.values], [-3.5]);
  assert.deepEqual([...one.vectors], [1]);
  // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1)/√2 and (1, −1)/√2.
  const two = symEigTs(new Float64Array([2, 1, 1, 2]), 2);
  const order = two.values[0] > two.values[1] ? [0, 1] : [1, 0];
  assert.ok(
    Math.abs(two.values[order[0]] - 3) < 1e-15 && Math.abs(two.values[order[1]] - 1) < 1e-15,
  );
  const v = two.vectors, c = order[0];
  assert.ok(Math.abs(Math.abs(v[c]) - Math.SQRT1_2) < 1e-15 && Math.abs(v[c] - v[2 + c]) < 1e-15);
});

Deno.test("symEigTs: random symmetric matrices, residual and orthogonality at rounding level", () => {
  // 130 > 16 sweeps per batch, odd sizes exercise the 4-row remainder of the rotation kernel.
  for (const n of [3, 7, 33, 130]) {
    const a = randomSym(n, 100 + n);
    const { res, orth } = errors(a, n);
    assert.ok(res < 1e-14 * n * maxAbs(a) * 10, `n = ${n}: |AV − VΛ| = ${res}`);
    assert.ok(orth < 1e-14 * n * 10, `n = ${n}: |VᵀV − I| = ${orth}`);
  }
});

Deno.test("symEigTs: known spectra, including repeated and clustered eigenvalues", () => {
  const spectra = [
    [5, 4, 3, 2, 1, 0, -1, -2],
    [2, 2, 2, 2, 2, -1, -1, 0.5, 7, 7], // degenerate eigenspaces
    [1, 1 + 1e-12, 1 + 2e-12, 1 - 1e-12, 3, 3 + 1e-13, -4, 1e-300], // clusters, a tiny one
    Array.from({ length: 40 }, (_, i) => Math.pow(10, -i / 4)), // graded, 1 … 1e-10
  ];
  spectra.forEach((lambda, t) => {
    const n = lambda.length;
    const a = withSpectrum(lambda, 7 + t);
    const { res, orth, values } = errors(a, n);
    const want = [...lambda].sort((x, y) => y - x);
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(values[i] - want[i]) < 1e-13 * n * want[0], `spectrum ${t}, λ${i}`);
    }
    assert.ok(res < 1e-13 * n * want[0], `spectrum ${t}: |AV − VΛ| = ${res}`);
    assert.ok(orth < 1e-13 * n, `spectrum ${t}: |VᵀV − I| = ${orth}`);
  });
});

Deno.test("symEigTs: the zero matrix, the identity and Wilkinson's W21+ (a close pair)", () => {
  const z = errors(new Float64Array(16), 4);
  assert.deepEqual(z.values, [0, 0, 0, 0]);
  assert.equal(z.orth, 0);
  const id = new Float64Array(25);
  for (let i = 0; i < 5; i++) id[i * 5 + i] = 1;
  assert.deepEqual(errors(id, 5).values, [1, 1, 1, 1, 1]);
  // W21+: diagonal |i − 10|, ones beside it. Its top pair agrees to 14 digits (Wilkinson, The
  // Algebraic Eigenvalue Problem, 1965); the numbers are numpy's eigvalsh (LAPACK).
  const n = 21, w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    w[i * n + i] = Math.abs(i - 10);
    if (i + 1 < n) w[i * n + i + 1] = w[(i + 1) * n + i] = 1;
  }
  const e = errors(w, n);
  assert.ok(Math.abs(e.values[0] - 10.746194182903393) < 1e-13, `λ1 = ${e.values[0]}`);
  assert.ok(Math.abs(e.values[1] - 10.746194182903322) < 1e-13, `λ2 = ${e.values[1]}`);
  assert.ok(Math.abs(e.values[20] - -1.1254415221199854) < 1e-13, `λ21 = ${e.values[20]}`);
  assert.ok(e.res < 1e-13 && e.orth < 1e-13, `W21+: res ${e.res}, orth ${e.orth}`);
});

Deno.test("tridiagonalQl: T's eigenvectors from the identity; eigenvalues of a known tridiagonal", () => {
  // The n × n tridiagonal with 2 on the diagonal and −1 beside it has eigenvalues
  // 2 − 2 cos(kπ/(n+1)), k = 1…n (the discrete Laplacian, by hand).
  const n = 50;
  const d = new Float64Array(n).fill(2), e = new Float64Array(n).fill(-1);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  tridiagonalQl(d, e, v);
  const got = Array.from(d).sort((x, y) => x - y);
  for (let k = 1; k <= n; k++) {
    assert.ok(Math.abs(got[k - 1] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1)))) < 1e-13);
  }
  // Column c of v is T's eigenvector: T v = λ v.
  let res = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      const tv = 2 * v[i * n + c] - (i > 0 ? v[(i - 1) * n + c] : 0) -
        (i + 1 < n ? v[(i + 1) * n + c] : 0);
      res = Math.max(res, Math.abs(tv - d[c] * v[i * n + c]));
    }
  }
  assert.ok(res < 1e-13, `|TV − VΛ| = ${res}`);
});
