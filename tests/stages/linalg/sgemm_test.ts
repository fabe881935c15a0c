import { ok as assert, strictEqual as assertEquals } from "node:assert";
import { loadSgemm, matmulProvider } from "../../../stages/linalg/sgemm.ts";

/** `matmulProvider()` and what really loads, in a child with the given environment. */
async function probe(env: Record<string, string>): Promise<{ predicted: string; loaded: string }> {
  const mod = new URL("../../../stages/linalg/sgemm.ts", import.meta.url).href;
  const code = `import { loadSgemm, matmulProvider } from "${mod}";
const predicted = matmulProvider();
const s = loadSgemm().sgemm;
console.log(JSON.stringify({ predicted, loaded: s ? "blas:" + s.library : "xnnpack" }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("the key's product (predicted without loading) is the one that loads", async () => {
  // Here, in this process: the prediction the cache key uses and the library that really opens.
  const s = loadSgemm().sgemm;
  assertEquals(matmulProvider(), s ? `blas:${s.library}` : "xnnpack");
  // Switched off, and pointed at a library that does not exist: both sides say xnnpack.
  const envs: Record<string, string>[] = [
    { DSE_NN_BLAS: "0" },
    { DSE_LINALG_LIB: "/nonexistent/libopenblas.so.0" },
  ];
  for (const env of envs) {
    const r = await probe(env);
    assertEquals(r.predicted, "xnnpack", JSON.stringify(env));
    assertEquals(r.loaded, "xnnpack", JSON.stringify(env));
  }
});

Deno.test({
  name: "sgemm: a hand-computed product with every transpose, and k = 0",
  ignore: !loadSgemm().sgemm,
  fn: () => {
    const { sgemm } = loadSgemm();
    // A = [[1,2,3],[4,5,6]] (2×3), B = [[7,8],[9,10],[11,12]] (3×2): A·B = [[58,64],[139,154]].
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([7, 8, 9, 10, 11, 12]);
    const aT = new Float32Array([1, 4, 2, 5, 3, 6]); // Aᵀ stored row-major (3×2)
    const bT = new Float32Array([7, 9, 11, 8, 10, 12]); // Bᵀ (2×3)
    for (
      const [x, y, tA, tB] of [[a, b, false, false], [aT, b, true, false], [a, bT, false, true], [
        aT,
        bT,
        true,
        true,
      ]] as const
    ) {
      const c = new Float32Array(4).fill(NaN);
      sgemm!.matmul({ m: 2, n: 2, k: 3 }, { a: x, b: y, c, transA: tA, transB: tB });
      assertEquals([...c].join(","), "58,64,139,154", `transA ${tA}, transB ${tB}`);
    }
    const c = new Float32Array(4).fill(NaN);
    sgemm!.matmul({ m: 2, n: 2, k: 0 }, { a, b, c, transA: false, transB: false });
    assertEquals([...c].join(","), "0,0,0,0");
  },
});
