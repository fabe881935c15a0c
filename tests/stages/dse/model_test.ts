import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  applyHead,
  BN_EPSILON,
  createHead,
  createModel,
  decayedNames,
  namedVariables,
  updateRunningStats,
} from "../../../stages/dse/model.ts";
import { Rng } from "../../../stages/util/rng.ts";

await tf.setBackend("cpu");

Deno.test("BN normalises with batch statistics in training and running ones in evaluation", () => {
  const head = createHead(new Rng(1), 3, 4);
  const x = tf.tensor2d([[1, 2, 3], [0, -1, 2], [4, 0, 1], [2, 2, 2]]);
  // γ = 1, β = 0 at init; LeakyReLU keeps positives, so the positive part of z-hat shows.
  const { y, stats } = applyHead(head, x, { training: true });
  const z = tf.matMul(x, head.kernel);
  const m = tf.moments(z, 0);
  const zhat = tf.div(tf.sub(z, m.mean), tf.sqrt(tf.add(m.variance, BN_EPSILON)));
  const want = tf.where(tf.greater(zhat, 0), zhat, tf.mul(zhat, 0.2));
  const diff = tf.max(tf.abs(tf.sub(y, want))).dataSync()[0];
  assert(diff < 1e-5, `training output differs by ${diff}`);
  assert(stats && stats.n === 4);

  // Running stats: momentum 0.99, unbiased variance.
  updateRunningStats(head, stats!);
  const mean = Array.from(head.movingMean.dataSync());
  const bm = Array.from(m.mean.dataSync());
  mean.forEach((v, i) => assert(Math.abs(v - 0.01 * bm[i]) < 1e-6));
  const varr = Array.from(head.movingVar.dataSync());
  const bv = Array.from(m.variance.dataSync());
  varr.forEach((v, i) => assert(Math.abs(v - (0.99 + 0.01 * bv[i] * 4 / 3)) < 1e-5));

  // Evaluation uses the running statistics: set them and compare by hand.
  head.movingMean.assign(tf.zeros([4]));
  head.movingVar.assign(tf.fill([4], 4 - BN_EPSILON));
  const ev = applyHead(head, x, { training: false });
  assert(ev.stats === undefined);
  const half = tf.div(z, 2);
  const wantEval = tf.where(tf.greater(half, 0), half, tf.mul(half, 0.2));
  assert(tf.max(tf.abs(tf.sub(ev.y, wantEval))).dataSync()[0] < 1e-5);
});

Deno.test("variables have stable names; decay covers kernels and W only", () => {
  const cs = createModel(new Rng(0), { loss: "cs", imgDim: 5, txtDim: 3, dim: 6, numClasses: 2 });
  assertEquals(Object.keys(namedVariables(cs)).sort(), [
    "head.b",
    "head.centers",
    "head.w",
    "img.beta",
    "img.gamma",
    "img.kernel",
    "img.moving_mean",
    "img.moving_var",
    "txt.beta",
    "txt.gamma",
    "txt.kernel",
    "txt.moving_mean",
    "txt.moving_var",
  ]);
  assertEquals(decayedNames(cs), ["img.kernel", "txt.kernel", "head.w"]);
  assertEquals(cs.img.kernel.shape, [5, 6]);
  assertEquals(cs.txt.kernel.shape, [3, 6]);
});

Deno.test("the fused training head gives the composite form's output, statistics and gradients", async () => {
  const { registerGradients } = await import("../../../stages/nn/gradients.ts");
  registerGradients();
  const rng = new Rng(3);
  const head = createHead(rng, 6, 5);
  // γ and β away from their initial 1 and 0, so their gradients are not special cases.
  head.gamma.assign(tf.tensor1d([0.5, 1.5, -1, 2, 0.25]));
  head.beta.assign(tf.tensor1d([0.1, -0.3, 0.2, 0, 0.5]));
  const x = tf.tensor2d(Float32Array.from({ length: 8 * 6 }, () => 2 * rng.next() - 1), [8, 6]);
  const weights = tf.tensor2d(Float32Array.from({ length: 8 * 5 }, () => rng.next()), [8, 5]);
  for (const inputGrad of [true, false]) {
    const run = (composite: boolean) => {
      let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
      const loss = (xs: tf.Tensor) => {
        const out = applyHead(head, xs as tf.Tensor2D, { training: true, composite, inputGrad });
        stats = out.stats;
        return tf.sum(tf.mul(out.y, weights)) as tf.Scalar; // a loss that weighs every output
      };
      const vars = [head.kernel, head.gamma, head.beta];
      const { grads } = tf.variableGrads(() => loss(x), vars);
      let dx: tf.Tensor | Error;
      try {
        dx = tf.grad(loss)(x);
      } catch (e) {
        dx = e as Error;
      }
      return { grads: vars.map((v) => grads[v.name]), dx, stats: stats! };
    };
    const fused = run(false), composite = run(true);
    const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
      const p = a.dataSync(), q = b.dataSync();
      for (let i = 0; i < p.length; i++) {
        assert(
          Math.abs(p[i] - q[i]) <= 1e-4 * Math.max(1, Math.abs(q[i])),
          `${what}[${i}] (inputGrad ${inputGrad}): fused ${p[i]} vs composite ${q[i]}`,
        );
      }
    };
    ["kernel", "gamma", "beta"].forEach((k, i) => close(fused.grads[i], composite.grads[i], k));
    close(fused.stats.mean, composite.stats.mean, "mean");
    close(fused.stats.variance, composite.stats.variance, "variance");
    if (inputGrad) close(fused.dx as tf.Tensor, composite.dx as tf.Tensor, "dx");
    else {
      // Without inputGrad x is a constant of the fused node: tfjs finds no path to it.
      assert(fused.dx instanceof Error && /Cannot compute gradient/.test(fused.dx.message));
    }
  }
});
