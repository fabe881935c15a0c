import { ok as assert, strictEqual as assertEquals } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../stages/nn/backend.ts";
import {
  adamUpdate,
  registerFastKernels,
  withBlasMatmul,
} from "../../../stages/nn/fast_kernels.ts";
import { loadSgemm } from "../../../stages/linalg/sgemm.ts";
import { adamStep, adamStepSize } from "../../../stages/dse/adam.ts";
import { Rng } from "../../../stages/util/rng.ts";

function random(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => 2 * rng.next() - 1), shape);
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  assertEquals(x.length, y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  }
  return worst;
}

const blas = loadSgemm().sgemm;

Deno.test({
  name: "wasm BatchMatMul on BLAS agrees with XNNPACK for every transpose, rank 2 and 3",
  ignore: !blas,
  fn: async () => {
    await selectBackend("wasm", { log: () => {} });
    registerFastKernels();
    const cases: [number[], number[], boolean, boolean][] = [
      [[16, 128], [128, 2048], false, false],
      [[16, 128], [16, 2048], true, false], // xᵀ dz: the kernel's gradient
      [[16, 10], [2048, 10], false, true], // dl Wᵀ
      [[7, 5], [3, 7], true, true],
      [[1, 1], [1, 1], false, false],
      [[3, 4, 5], [3, 5, 6], false, false],
      [[2, 5, 4], [2, 6, 5], true, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = random(sa, 1), b = random(sb, 2);
      const outside = tf.matMul(a, b, ta, tb); // outside the scope: XNNPACK
      const inside = await withBlasMatmul((provider) => {
        assert(provider.startsWith("blas:"), provider);
        return Promise.resolve(tf.matMul(a, b, ta, tb));
      });
      assertEquals(inside.shape.join("x"), outside.shape.join("x"));
      const d = maxRelDiff(inside, outside);
      assert(d < 1e-5, `${sa}·${sb} (tA ${ta}, tB ${tb}): max relative difference ${d}`);
      tf.dispose([a, b, outside, inside]);
    }
  },
});

Deno.test({
  name: "wasm BatchMatMul on BLAS is the hand-computed product (a 2×3 · 3×2 case)",
  ignore: !blas,
  fn: async () => {
    await selectBackend("wasm", { log: () => {} });
    // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor2d([[7, 8], [9, 10], [11, 12]]);
    const c = await withBlasMatmul(() => Promise.resolve(tf.matMul(a, b)));
    assertEquals([...c.dataSync()].join(","), "58,64,139,154");
    const ct = await withBlasMatmul(() => Promise.resolve(tf.matMul(b, a, true, true)));
    assertEquals([...ct.dataSync()].join(","), "58,139,64,154"); // (a·b)ᵀ
    tf.dispose([a, b, c, ct]);
  },
});

Deno.test("wasm Identity shares memory, and the clone outlives its source", async () => {
  await selectBackend("wasm", { log: () => {} });
  registerFastKernels();
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  assert(y.dataId === x.dataId, "the clone has its own copy of the data");
  x.dispose();
  assertEquals([...y.dataSync()].join(","), "1,2,3");
  y.dispose();
});

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`multi-tensor Adam on ${backend} is bit-identical to the per-op form over 3 steps`, async () => {
    await selectBackend(backend, { log: () => {} });
    registerFastKernels();
    const shapes = [[128, 64], [64], [64, 10], [1]];
    let fused = shapes.map((s, i) => ({ x: random(s, i), m: tf.zeros(s), v: tf.zeros(s) }));
    let plain = fused.map((s) => ({ x: tf.clone(s.x), m: tf.clone(s.m), v: tf.clone(s.v) }));
    for (let t = 1; t <= 3; t++) {
      const grads = shapes.map((s, i) => random(s, 100 * t + i));
      const stepSize = adamStepSize(1e-3, t);
      const f = adamStep(fused, grads, { stepSize });
      const p = adamStep(plain, grads, { stepSize, fused: false });
      for (let i = 0; i < shapes.length; i++) {
        for (const k of ["x", "m", "v"] as const) {
          const a = f[i][k].dataSync(), b = p[i][k].dataSync();
          for (let j = 0; j < a.length; j++) {
            assert(
              Object.is(a[j], b[j]),
              `step ${t}, tensor ${i}, ${k}[${j}]: fused ${a[j]} vs per-op ${b[j]}`,
            );
          }
        }
      }
      tf.dispose([...grads, ...fused.flatMap((s) => [s.x, s.m, s.v])]);
      tf.dispose(plain.flatMap((s) => [s.x, s.m, s.v]));
      fused = f;
      plain = p;
    }
    tf.dispose([...fused, ...plain].flatMap((s) => [s.x, s.m, s.v]));
  });
}

Deno.test("adamUpdate rounds like float32 kernels: a case where double arithmetic differs", () => {
  // On random operands, computing m in double and rounding once sometimes gives another float32
  // than rounding after each operation (what the tfjs kernels do); the fused kernel must give the
  // per-operation result everywhere.
  const attrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, stepSize: 1e-3, count: 1 };
  const rng = new Rng(7);
  const n = 4096;
  const x = new Float32Array(n), m = new Float32Array(n), v = new Float32Array(n);
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.next();
    m[i] = rng.next() - 0.5;
    v[i] = rng.next();
    g[i] = rng.next() - 0.5;
  }
  const out = { x: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n), attrs };
  adamUpdate({ x, m, v, g }, out);
  const f = Math.fround;
  let differs = 0;
  for (let i = 0; i < n; i++) {
    const perOp = f(f(f(0.9) * m[i]) + f(f(1 - 0.9) * g[i]));
    assert(Object.is(out.m[i], perOp), `m[${i}]: ${out.m[i]} vs per-op ${perOp}`);
    if (f(0.9 * m[i] + 0.1 * g[i]) !== perOp) differs++;
  }
  // The check above is only meaningful if double arithmetic would have differed somewhere.
  assert(differs > 0, "no operand where double and per-op float32 rounding differ");
});
