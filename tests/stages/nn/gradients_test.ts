import { ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { GRADIENT_KERNELS, registerGradients } from "../../../stages/nn/gradients.ts";
import { Rng } from "../../../stages/util/rng.ts";

await tf.setBackend("cpu");
registerGradients();
const rng = new Rng(7);

function randT(shape: number[], opts: { lo?: number; hi?: number } = {}): tf.Tensor {
  const lo = opts.lo ?? -1, hi = opts.hi ?? 1;
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => lo + (hi - lo) * rng.next()), shape);
}

/**
 * Checks tf.grads of L = Σ f(inputs) ⊙ R (R random) against central differences, per input.
 * float32 arithmetic, so eps = 1e-2 on smooth functions and a 2% tolerance.
 */
function checkGrad(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]) {
  const out = f(...inputs);
  const r = randT(out.shape);
  const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r));
  const grads = tf.grads(loss)(inputs);
  const eps = 1e-2;
  inputs.forEach((x, k) => {
    const g = grads[k].dataSync();
    const base = x.dataSync() as Float32Array;
    let scale = 1e-3;
    const num = new Float32Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const p = base.slice(), m = base.slice();
      p[i] += eps;
      m[i] -= eps;
      const xs = (v: Float32Array) => inputs.map((t, j) => (j === k ? tf.tensor(v, x.shape) : t));
      num[i] = (loss(...xs(p)).dataSync()[0] - loss(...xs(m)).dataSync()[0]) / (2 * eps);
      scale = Math.max(scale, Math.abs(num[i]));
    }
    for (let i = 0; i < base.length; i++) {
      assert(
        Math.abs(g[i] - num[i]) <= 0.02 * scale,
        `${name} input ${k} [${i}]: autodiff ${g[i]} vs finite differences ${num[i]}`,
      );
    }
  });
}

Deno.test("element-wise gradients with broadcasting match finite differences", () => {
  checkGrad("add", (a, b) => tf.add(a, b), [randT([3, 4]), randT([4])]);
  checkGrad("sub", (a, b) => tf.sub(a, b), [randT([3, 4]), randT([3, 1])]);
  checkGrad("mul", (a, b) => tf.mul(a, b), [randT([2, 3, 4]), randT([3, 4])]);
  checkGrad("div", (a, b) => tf.div(a, b), [randT([3, 4]), randT([1, 4], { lo: 0.5, hi: 2 })]);
  checkGrad("sqdiff", (a, b) => tf.squaredDifference(a, b), [randT([3, 4]), randT([4])]);
  checkGrad("maximum", (a, b) => tf.maximum(a, b), [randT([3, 4]), randT([3, 4])]);
  checkGrad("minimum", (a, b) => tf.minimum(a, b), [randT([3, 4]), randT([3, 4])]);
  checkGrad("addN", (a, b, c) => tf.addN([a, b, c]), [randT([2, 3]), randT([2, 3]), randT([2, 3])]);
});

Deno.test("unary gradients match finite differences", () => {
  const pos = () => randT([3, 4], { lo: 0.5, hi: 2 });
  checkGrad("neg", (a) => tf.neg(a), [randT([3, 4])]);
  checkGrad("square", (a) => tf.square(a), [randT([3, 4])]);
  checkGrad("exp", (a) => tf.exp(a), [randT([3, 4])]);
  checkGrad("log", (a) => tf.log(a), [pos()]);
  checkGrad("sqrt", (a) => tf.sqrt(a), [pos()]);
  checkGrad("rsqrt", (a) => tf.rsqrt(a), [pos()]);
  checkGrad("relu", (a) => tf.relu(a), [randT([3, 4])]);
  checkGrad("leakyRelu", (a) => tf.leakyRelu(a, 0.2), [randT([3, 4])]);
  checkGrad("softmax", (a) => tf.softmax(a), [randT([3, 4])]);
  checkGrad("logSoftmax", (a) => tf.logSoftmax(a), [randT([3, 4])]);
  checkGrad("clone", (a) => tf.clone(a), [randT([2, 2])]);
});

Deno.test("reduction and shape gradients match finite differences", () => {
  checkGrad("sum", (a) => tf.sum(a, 1), [randT([3, 4])]);
  checkGrad("sumKeep", (a) => tf.sum(a, 0, true), [randT([3, 4])]);
  checkGrad("mean", (a) => tf.mean(a, [0, 2]), [randT([2, 3, 4])]);
  checkGrad("max", (a) => tf.max(a, 1), [randT([3, 4])]);
  checkGrad("moments", (a) => {
    const m = tf.moments(a, 0);
    return tf.add(m.mean, m.variance);
  }, [randT([5, 3])]);
  checkGrad("reshape", (a) => tf.reshape(a, [4, 3]), [randT([3, 4])]);
  checkGrad("expandDims", (a) => tf.expandDims(a, 1), [randT([3, 4])]);
  checkGrad("transpose", (a) => tf.transpose(a, [2, 0, 1]), [randT([2, 3, 4])]);
  checkGrad("tile", (a) => tf.tile(a, [2, 1, 3]), [randT([2, 3, 2])]);
  checkGrad("broadcastTo", (a) => tf.broadcastTo(a, [3, 2, 4]), [randT([2, 1])]);
  checkGrad("pad", (a) => tf.pad(a, [[1, 0], [2, 1]]), [randT([2, 3])]);
  checkGrad("slice", (a) => tf.slice(a, [1, 0], [2, 2]), [randT([3, 4])]);
  checkGrad("concat", (a, b) => tf.concat([a, b], 1), [randT([2, 3]), randT([2, 2])]);
  checkGrad("gather", (a) => tf.gather(a, tf.tensor1d([2, 0, 2], "int32")), [randT([3, 2])]);
});

Deno.test("matMul gradients match finite differences for all transpose flags and batches", () => {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
    const a = ta ? randT([4, 3]) : randT([3, 4]);
    const b = tb ? randT([2, 4]) : randT([4, 2]);
    checkGrad(`matMul ${ta} ${tb}`, (x, y) => tf.matMul(x, y, ta, tb), [a, b]);
  }
  checkGrad("batched matMul", (x, y) => tf.matMul(x, y), [randT([2, 3, 4]), randT([2, 4, 2])]);
});

Deno.test("conv and pooling gradients match finite differences", () => {
  checkGrad(
    "conv2d",
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same"),
    [randT([1, 5, 5, 2]), randT([3, 3, 2, 3])],
  );
  checkGrad(
    "conv2d valid",
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "valid"),
    [randT([2, 4, 4, 1]), randT([2, 2, 1, 2])],
  );
  checkGrad(
    "depthwiseConv2d",
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same"),
    [randT([1, 4, 4, 2]), randT([3, 3, 2, 2])],
  );
  checkGrad("maxPool", (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid"), [randT([1, 4, 4, 2])]);
  checkGrad("avgPool", (x) => tf.avgPool(x as tf.Tensor4D, 2, 1, "valid"), [randT([1, 3, 3, 2])]);
});

Deno.test("every kernel in GRADIENT_KERNELS has a registered gradient", () => {
  for (const k of GRADIENT_KERNELS) assert(tf.getGradient(k), `no gradient for ${k}`);
});
