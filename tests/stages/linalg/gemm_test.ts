import assert from "node:assert/strict";
import { gemmPacked, syrkPacked } from "../../../stages/linalg/gemm.ts";
import {
  BLAS_MIN_FLOPS,
  crossprod,
  gemm,
  gram,
  matmul,
  type Matrix,
  maxAbsDiff,
  transpose,
} from "../../../stages/linalg/mod.ts";
import { testBothBackends } from "../../helpers/linalg_backends.ts";
import { randomMatrix } from "../../helpers/random.ts";

/** The textbook triple loop, `op(A) op(B)`: the reference for every product here. */
function naive(a: Matrix, b: Matrix, tA: boolean, tB: boolean): Float64Array {
  const m = tA ? a.cols : a.rows, k = tA ? a.rows : a.cols, n = tB ? b.rows : b.cols;
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (tA ? a.data[p * a.cols + i] : a.data[i * a.cols + p]) *
          (tB ? b.data[j * b.cols + p] : b.data[p * b.cols + j]);
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

function worst(x: Float64Array, y: Float64Array): number {
  assert.equal(x.length, y.length);
  let w = 0;
  for (let i = 0; i < x.length; i++) w = Math.max(w, Math.abs(x[i] - y[i]));
  return w;
}

Deno.test("gemmPacked: every transpose combination and awkward shape matches the triple loop", () => {
  // 1×1; shapes that are not multiples of the 4×4 tile; k > 256 (two inner blocks); n > 256
  // (two column blocks).
  const shapes = [[1, 1, 1], [3, 5, 2], [7, 300, 9], [37, 513, 41], [6, 3, 301]];
  let seed = 1;
  for (const [m, k, n] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = tA ? randomMatrix(k, m, seed++) : randomMatrix(m, k, seed++);
        const b = tB ? randomMatrix(n, k, seed++) : randomMatrix(k, n, seed++);
        const got = gemmPacked(a, b, { transA: tA, transB: tB });
        const w = worst(got, naive(a, b, tA, tB));
        assert.ok(w < 1e-12, `${m}×${k}×${n} transA ${tA} transB ${tB}: ${w}`);
      }
    }
  }
});

Deno.test("syrkPacked: AAᵀ and AᵀA match the triple loop and are exactly symmetric", () => {
  for (const [r, c] of [[1, 1], [5, 3], [37, 600], [270, 9]]) {
    for (const tA of [false, true]) {
      const a = randomMatrix(r, c, r * 31 + c);
      const got = syrkPacked(a, { transA: tA });
      assert.ok(worst(got, naive(a, a, tA, !tA)) < 1e-12, `${r}×${c} transA ${tA}`);
      const n = tA ? c : r;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) assert.equal(got[i * n + j], got[j * n + i]);
      }
    }
  }
});

testBothBackends(
  "matmul, crossprod, gemm and gram above BLAS_MIN_FLOPS match the triple loop",
  () => {
    // 520 × 520 × 520 ≈ 1.4·10⁸ multiply-adds ≥ 2²⁷: the packed kernels (TypeScript) or BLAS.
    const n = 520;
    assert.ok(n ** 3 >= BLAS_MIN_FLOPS && (n * n * n) / 2 < BLAS_MIN_FLOPS * 2);
    const a = randomMatrix(n, n, 71), b = randomMatrix(n, n, 72);
    const ab = naive(a, b, false, false);
    assert.ok(worst(matmul(a, b).data, ab) < 1e-11, "matmul");
    assert.ok(worst(crossprod(transpose(a), b).data, ab) < 1e-11, "crossprod");
    assert.ok(
      worst(
        gemm(a, b, { transB: true, alpha: 2 }).data,
        naive(a, b, false, true).map((x) => 2 * x),
      ) < 2e-11,
      "gemm αABᵀ",
    );
    const tall = randomMatrix(2 * n, n, 73); // gram: 1040 · 520² / 2 ≥ 2²⁷
    const g = gram(tall);
    assert.ok(worst(g.data, naive(tall, tall, true, false)) < 1e-11, "gram");
    assert.equal(maxAbsDiff(g, transpose(g)), 0, "gram exactly symmetric");
  },
);
