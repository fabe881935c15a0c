import assert from "node:assert/strict";
import { LIBRARY_CANDIDATES, loadLapack, openblasCoretype } from "../../../stages/linalg/lapack.ts";

const lapack = loadLapack().lapack;
if (!lapack) console.log(`lapack_test: no LAPACK loaded (${loadLapack().tried.join("; ")})`);

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

Deno.test("LIBRARY_CANDIDATES starts with OpenBLAS on Linux", () => {
  if (Deno.build.os === "linux") assert.equal(LIBRARY_CANDIDATES[0], "libopenblas.so.0");
});

Deno.test("openblasCoretype: AVX-512 → SkylakeX, AVX2+FMA → Haswell, else OpenBLAS decides", () => {
  const flags = (s: string) => new Set(s.split(" "));
  assert.equal(
    openblasCoretype(flags("sse4_2 avx avx2 fma avx512f avx512bw avx512dq avx512vl")),
    "SkylakeX",
  );
  assert.equal(openblasCoretype(flags("sse4_2 avx avx2 fma avx512f")), "Haswell");
  assert.equal(openblasCoretype(flags("sse4_2 avx avx2 fma")), "Haswell");
  assert.equal(openblasCoretype(flags("sse4_2 avx avx2")), undefined);
  assert.equal(openblasCoretype(new Set()), undefined);
});

Deno.test({
  name: "a coretype chosen for the load is not left in the environment (child processes)",
  ignore: !lapack?.coretype,
  fn: () => assert.equal(Deno.env.get("OPENBLAS_CORETYPE"), undefined),
});

Deno.test({
  name: "dsyevd: [[2,1],[1,2]] → eigenvalues 1, 3 (ascending), vectors ±(1,−1)/√2, ±(1,1)/√2",
  ignore: !lapack,
  fn: () => {
    const a = new Float64Array([2, 1, 1, 2]), w = new Float64Array(2);
    assert.equal(lapack!.syevd(2, { a, w }), 0);
    close(w, [1, 3], 1e-14, "w");
    const h = Math.SQRT1_2;
    close([Math.abs(a[0]), Math.abs(a[1]), a[0] * a[1]], [h, h, -0.5], 1e-14, "v1");
    close([Math.abs(a[2]), Math.abs(a[3]), a[2] * a[3]], [h, h, 0.5], 1e-14, "v3");
  },
});

Deno.test({
  name: "dsyevr (top k): diag(1, 4, 2, 3) → the 2 largest, 3 then 4 (ascending), ±e₄ and ±e₂",
  ignore: !lapack,
  fn: () => {
    const a = new Float64Array(16);
    [1, 4, 2, 3].forEach((v, i) => a[i * 5] = v);
    const w = new Float64Array(4), z = new Float64Array(8);
    assert.equal(lapack!.syevrTop(4, { k: 2, a, w, z }), 0);
    close(w.subarray(0, 2), [3, 4], 1e-15, "w");
    close(z.map(Math.abs), [0, 0, 0, 1, 0, 1, 0, 0], 1e-15, "z");
  },
});

Deno.test({
  name: "dsygvd: A = [[2,1],[1,2]], B = diag(2,1) → λ = (3 ∓ √3)/2, Vᵀ B V = I",
  ignore: !lapack,
  fn: () => {
    const a = new Float64Array([2, 1, 1, 2]), b = new Float64Array([2, 0, 0, 1]);
    const w = new Float64Array(2);
    assert.equal(lapack!.sygvd(2, { a, b, w }), 0);
    close(w, [(3 - Math.sqrt(3)) / 2, (3 + Math.sqrt(3)) / 2], 1e-14, "w");
    // column-major: v_i = (a[2i], a[2i+1]); vᵢᵀ diag(2,1) vⱼ = δᵢⱼ
    const bdot = (i: number, j: number) => 2 * a[2 * i] * a[2 * j] + a[2 * i + 1] * a[2 * j + 1];
    close([bdot(0, 0), bdot(1, 1), bdot(0, 1)], [1, 1, 0], 1e-14, "B-normalised");
  },
});

Deno.test({
  name: "dsygvd: B not positive definite → info = n + the failing minor's order",
  ignore: !lapack,
  fn: () => {
    const a = new Float64Array([1, 0, 0, 1]), b = new Float64Array([1, 2, 2, 1]);
    assert.equal(lapack!.sygvd(2, { a, b, w: new Float64Array(2) }), 4);
  },
});

Deno.test({
  name: "dpotrf/dpotrs: [[4,2],[2,3]] = UᵀU with U = [[2,1],[0,√2]]; solves A x = (8, 7)",
  ignore: !lapack,
  fn: () => {
    const f = new Float64Array([4, 2, 2, 3]);
    assert.equal(lapack!.potrf(2, f), 0);
    close([f[0], f[2], f[3]], [2, 1, Math.SQRT2], 1e-15, "U (column-major upper)");
    const b = new Float64Array([8, 7, 4, 2]); // two right-hand sides, column-major
    assert.equal(lapack!.potrs(2, { factor: f, b, nrhs: 2 }), 0);
    close(b, [1.25, 1.5, 1, 0], 1e-14, "x"); // 4·1.25 + 2·1.5 = 8, 2·1.25 + 3·1.5 = 7
    assert.equal(lapack!.potrf(2, new Float64Array([1, 2, 2, 1])), 2);
  },
});

Deno.test({
  name: "dgemm and dsyrk (column-major) against hand-computed products",
  ignore: !lapack,
  fn: () => {
    // A = [[1,2,3],[4,5,6]] (2×3), column-major [1,4,2,5,3,6]; B = Aᵀ.
    const a = new Float64Array([1, 4, 2, 5, 3, 6]);
    const c = new Float64Array(4);
    lapack!.gemm({ m: 2, n: 2, k: 3 }, {
      transA: false,
      transB: true,
      a,
      lda: 2,
      b: a,
      ldb: 2,
      c,
      ldc: 2,
    });
    close(c, [14, 32, 32, 77], 0, "A Aᵀ");
    const c2 = new Float64Array(9);
    lapack!.gemm({ m: 3, n: 3, k: 2 }, {
      transA: true,
      transB: false,
      a,
      lda: 2,
      b: a,
      ldb: 2,
      c: c2,
      ldc: 3,
      alpha: 2,
    });
    close(c2, [34, 44, 54, 44, 58, 72, 54, 72, 90], 0, "2 AᵀA");
    const s = new Float64Array(9);
    lapack!.syrk({ n: 3, k: 2 }, { trans: true, a, lda: 2, c: s });
    close([s[0], s[3], s[4], s[6], s[7], s[8]], [17, 22, 29, 27, 36, 45], 0, "AᵀA upper");
  },
});

Deno.test("DSE_LINALG_LIB naming a missing library, with DSE_LINALG=lapack, fails naming it", async () => {
  const code = 'import { linalgBackend } from "./stages/linalg/mod.ts"; linalgBackend();';
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: new URL("../../../", import.meta.url).pathname,
    env: { DSE_LINALG: "lapack", DSE_LINALG_LIB: "/nonexistent/libnothing.so", NO_COLOR: "1" },
  }).output();
  assert.equal(out.success, false);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /DSE_LINALG=lapack but no LAPACK library loaded/);
  assert.match(err, /libnothing\.so/);
});
