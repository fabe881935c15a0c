import assert from "node:assert/strict";
import { rotationKernel, useWasmSimd } from "../../../stages/linalg/wasm_simd.ts";
import { gemmPacked, syrkPacked } from "../../../stages/linalg/gemm.ts";
import { randomMatrix } from "../../helpers/random.ts";
import { householderQ, tridiagonalize, tridiagonalQl } from "../../../stages/linalg/sym_eig.ts";
import { rng } from "../../helpers/random.ts";

Deno.test("rotationKernel: the assembled module validates and loads on this runtime", () => {
  assert.ok(rotationKernel(new WebAssembly.Memory({ initial: 1 })), "wasm SIMD kernel");
  const prev = useWasmSimd(false);
  try {
    assert.equal(rotationKernel(new WebAssembly.Memory({ initial: 1 })), undefined);
  } finally {
    useWasmSimd(prev);
  }
});

Deno.test("rotationKernel: one rotation on a row pair, by hand", () => {
  // n = 2, one sweep l = 0, m = 1 with (c, s) = (0.6, 0.8): column 1 ← s·x + c·h, column 0 ←
  // c·x − s·h, for x = column 0 and h = column 1 of both rows (pairs padded to four).
  const n = 2, pairs = 4, mem = new WebAssembly.Memory({ initial: 1 });
  const kernel = rotationKernel(mem)!;
  const w = new Float64Array(mem.buffer, 0, pairs * 2 * n);
  w.set([1, 3, 2, 4]); // rows (1, 2) and (3, 4), interleaved: column 0 = (1, 3), column 1 = (2, 4)
  const ls = new Int32Array(mem.buffer, 1024, 1), ms = new Int32Array(mem.buffer, 1032, 1);
  const cs = new Float64Array(mem.buffer, 2048, n), ss = new Float64Array(mem.buffer, 4096, n);
  ls[0] = 0, ms[0] = 1, cs[0] = 0.6, ss[0] = 0.8;
  kernel(0, n, pairs, 1, 1024, 1032, 2048, 4096);
  const want = [0.6 * 1 - 0.8 * 2, 0.6 * 3 - 0.8 * 4, 0.8 * 1 + 0.6 * 2, 0.8 * 3 + 0.6 * 4];
  assert.deepEqual([...w.subarray(0, 4)], want);
  assert.deepEqual([...w.subarray(4)], new Array(w.length - 4).fill(0), "padding pairs stay 0");
});

Deno.test("householderQ and tridiagonalQl: the SIMD kernels give bit-identical results to the scalar ones", () => {
  for (const n of [8, 9, 61, 200]) {
    const r = rng(n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r() - 0.5;
    const { d, e, tau } = tridiagonalize(a, n);
    const q = householderQ(a, n, tau);
    const prevQ = useWasmSimd(false);
    try {
      assert.deepEqual(householderQ(a, n, tau), q, `n = ${n}: Q, scalar vs SIMD rows`);
    } finally {
      useWasmSimd(prevQ);
    }
    const runs = [true, false].map((on) => {
      const prev = useWasmSimd(on);
      try {
        const dd = d.slice(), ee = e.slice(), qq = q.slice();
        tridiagonalQl(dd, ee, qq);
        return { dd, qq };
      } finally {
        useWasmSimd(prev);
      }
    });
    assert.deepEqual(runs[0].dd, runs[1].dd, `n = ${n}: eigenvalues`);
    assert.deepEqual(runs[0].qq, runs[1].qq, `n = ${n}: eigenvectors`);
  }
});

Deno.test("gemm tile: the SIMD kernel gives bit-identical products to the scalar one", () => {
  const a = randomMatrix(37, 300, 1), b = randomMatrix(300, 41, 2);
  const runs = [true, false].map((on) => {
    const prev = useWasmSimd(on);
    try {
      return {
        ab: gemmPacked(a, b, { transA: false, transB: false }),
        aat: syrkPacked(a, { transA: false }),
      };
    } finally {
      useWasmSimd(prev);
    }
  });
  assert.deepEqual(runs[0].ab, runs[1].ab);
  assert.deepEqual(runs[0].aat, runs[1].aat);
  // and a hand-sized case: [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
  const c = gemmPacked({ rows: 2, cols: 2, data: new Float64Array([1, 2, 3, 4]) }, {
    rows: 2,
    cols: 2,
    data: new Float64Array([5, 6, 7, 8]),
  }, { transA: false, transB: false });
  assert.deepEqual([...c], [19, 22, 43, 50]);
});

Deno.test("tridiagonalize: the SIMD fused row agrees with the scalar one to rounding", () => {
  const n = 70, r = rng(3);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r() - 0.5;
  const runs = [true, false].map((on) => {
    const prev = useWasmSimd(on);
    try {
      const w = a.slice();
      return { ...tridiagonalize(w, n), w };
    } finally {
      useWasmSimd(prev);
    }
  });
  for (const key of ["d", "e", "tau", "w"] as const) {
    let worst = 0;
    for (let i = 0; i < runs[0][key].length; i++) {
      worst = Math.max(worst, Math.abs(runs[0][key][i] - runs[1][key][i]));
    }
    assert.ok(worst < 1e-12, `${key}: ${worst}`);
  }
  assert.notDeepEqual(runs[0].w, a, "the reflectors were written back into the input");
});
