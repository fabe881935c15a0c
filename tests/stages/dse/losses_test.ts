import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import {
  centerLoss,
  centerUpdate,
  dseCSLoss,
  dseDSLoss,
  dseSLoss,
  oneHot,
} from "../../../stages/dse/losses.ts";
import { createModel, headParameterCount } from "../../../stages/dse/model.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { assertClose, fd } from "../../helpers/numeric.ts";

await tf.setBackend("cpu");
registerGradients();

const N = 5, D = 4, C = 3;
const Y = [0, 2, 1, 2, 0];

function rand(rng: Rng, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => scale * rng.normal());
}

// Float64 references, written independently of the tfjs code.
function logSoftmaxRow(z: number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}
function refS(x: number[], w: number[], b: number[]): number {
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const z = Array.from({ length: C }, (_, j) => {
      let s = b[j];
      for (let k = 0; k < D; k++) s += x[i * D + k] * w[k * C + j];
      return s;
    });
    loss -= logSoftmaxRow(z)[Y[i]];
  }
  return loss / N;
}
function refCenter(x: number[], c: number[]): number {
  let s = 0;
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < D; k++) s += 0.5 * (x[i * D + k] - c[Y[i] * D + k]) ** 2;
  }
  return s / N;
}
function refDS(x: number[], c: number[], lambda: number): number {
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const d2 = Array.from({ length: C }, (_, j) => {
      let s = 0;
      for (let k = 0; k < D; k++) s += (x[i * D + k] - c[j * D + k]) ** 2;
      return s;
    });
    loss += -logSoftmaxRow(d2.map((v) => -v))[Y[i]] + lambda * d2[Y[i]];
  }
  return loss / N;
}

const target = () => oneHot(tf.tensor1d(Y, "int32"), C);

Deno.test("DSE-S loss and its gradients match float64 finite differences", () => {
  const rng = new Rng(1);
  const x = rand(rng, N * D), w = rand(rng, D * C), b = rand(rng, C, 0.5);
  const tx = tf.tensor2d(x, [N, D]), tw = tf.tensor2d(w, [D, C]), tb = tf.tensor1d(b);
  const t = target();
  const value = dseSLoss(tx, t, { w: tw, b: tb }).dataSync()[0];
  assert(Math.abs(value - refS(x, w, b)) < 1e-5, `loss ${value} vs ${refS(x, w, b)}`);
  const [gx, gw, gb] = tf.grads((a, bw, bb) =>
    dseSLoss(a as tf.Tensor2D, t, { w: bw as tf.Tensor2D, b: bb as tf.Tensor1D })
  )([tx, tw, tb]);
  assertClose(gx.dataSync(), fd((v) => refS(v, w, b), x), 1e-4, "dx");
  assertClose(gw.dataSync(), fd((v) => refS(x, v, b), w), 1e-4, "dW");
  assertClose(gb.dataSync(), fd((v) => refS(x, w, v), b), 1e-4, "db");
});

Deno.test("DSE-CS loss: gradient in x matches finite differences; centers get none", () => {
  const rng = new Rng(2);
  const x = rand(rng, N * D), w = rand(rng, D * C), b = rand(rng, C), c = rand(rng, C * D);
  const lambda = 0.3;
  const ref = (v: number[]) => refS(v, w, b) + lambda * refCenter(v, c);
  const t = target();
  const head = { w: tf.tensor2d(w, [D, C]), b: tf.tensor1d(b), centers: tf.tensor2d(c, [C, D]) };
  const tx = tf.tensor2d(x, [N, D]);
  const value = dseCSLoss(tx, t, head, { lambda }).dataSync()[0];
  assert(Math.abs(value - ref(x)) < 1e-5);
  const cl = centerLoss(tx, t, head.centers).dataSync()[0];
  assert(Math.abs(cl - refCenter(x, c)) < 1e-5, "center loss is the batch mean of ½‖x−c_y‖²");
  const gx = tf.grad((a) => dseCSLoss(a as tf.Tensor2D, t, head, { lambda }))(tx);
  assertClose(gx.dataSync(), fd(ref, x), 1e-4, "dx");
});

Deno.test("DSE-DS loss and its gradients (x and centers) match finite differences", () => {
  const rng = new Rng(3);
  const x = rand(rng, N * D, 0.5), c = rand(rng, C * D, 0.5);
  for (const lambda of [0, 0.1, 1]) {
    const t = target();
    const tx = tf.tensor2d(x, [N, D]), tc = tf.tensor2d(c, [C, D]);
    const value = dseDSLoss(tx, t, tc, { lambda }).dataSync()[0];
    assert(Math.abs(value - refDS(x, c, lambda)) < 1e-5, `λ=${lambda}: ${value}`);
    const [gx, gc] = tf.grads((a, cc) =>
      dseDSLoss(a as tf.Tensor2D, t, cc as tf.Tensor2D, { lambda })
    )([tx, tc]);
    assertClose(gx.dataSync(), fd((v) => refDS(v, c, lambda), x), 1e-4, `dx λ=${lambda}`);
    assertClose(gc.dataSync(), fd((v) => refDS(x, v, lambda), c), 1e-4, `dc λ=${lambda}`);
  }
});

Deno.test("center update matches a batch computed by hand", () => {
  // d = 2, 3 classes. Batch: class 0 has rows (1,1) and (3,−1); class 1 has (0,4); class 2 absent.
  const x = tf.tensor2d([[1, 1], [0, 4], [3, -1]]);
  const t = oneHot(tf.tensor1d([0, 1, 0], "int32"), 3);
  const c = tf.tensor2d([[0, 0], [1, 1], [5, 5]]);
  // Δc0 = ((0−1)+(0−3), (0−1)+(0+1)) / 2 = (−2, 0);  c0 ← c0 − 0.5Δ = (1, 0)
  // Δc1 = (1−0, 1−4) / 1 = (1, −3);                  c1 ← (1,1) − 0.5(1,−3) = (0.5, 2.5)
  // class 2 absent: unchanged (5, 5)
  const next = centerUpdate(x, t, c, { alpha: 0.5 });
  assertEquals(Array.from(next.dataSync()), [1, 0, 0.5, 2.5, 5, 5]);
  // α = 1 puts a present class's center on its batch mean.
  const full = centerUpdate(x, t, c, { alpha: 1 });
  assertEquals(Array.from(full.dataSync()), [2, 0, 0, 4, 5, 5]);
});

Deno.test("the DSE-DS head has exactly c·d parameters; S and CS have d·c + c", () => {
  const rng = new Rng(0);
  const dim = 7, numClasses = 5;
  const opts = { imgDim: 3, txtDim: 2, dim, numClasses };
  const ds = createModel(rng, { loss: "ds", ...opts });
  assertEquals(headParameterCount(ds), numClasses * dim);
  assertEquals(ds.w, undefined);
  assertEquals(ds.b, undefined);
  assert(ds.centers?.trainable);
  const cs = createModel(rng, { loss: "cs", ...opts });
  assertEquals(headParameterCount(cs), dim * numClasses + numClasses);
  assert(cs.centers && !cs.centers.trainable, "CS centers are not trained by backprop");
  const s = createModel(rng, { loss: "s", ...opts });
  assertEquals(s.centers, undefined);
});
