import { ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { CLIP_MAX_SCALE, infoNceLoss } from "../../../stages/dse/loss_infonce.ts";
import { cosineScores } from "../../../stages/dse/loss_vse.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { assertClose, fd } from "../../helpers/numeric.ts";

await tf.setBackend("cpu");
registerGradients();

Deno.test("InfoNCE matches a 2×2 batch computed by hand", () => {
  // S = I, scale e^t = 2: logits [[2, 0], [0, 2]]; each row's CE = log(1 + e^−2), both directions.
  const v = infoNceLoss(tf.tensor2d([[1, 0], [0, 1]]), tf.scalar(Math.log(2))).dataSync()[0];
  assert(Math.abs(v - Math.log(1 + Math.exp(-2))) < 1e-6, `${v}`);
  // Asymmetric S: rows [[1, .5], [0, 0]], scale 1. I→T: log(1+e^−.5) + log 2; T→I (columns
  // [[1, 0], [.5, 0]]): log(1+e^−1) + log(1+e^.5). Loss = ½ · (sum of the four) / 2.
  const w = infoNceLoss(tf.tensor2d([[1, 0.5], [0, 0]]), tf.scalar(0)).dataSync()[0];
  const want = 0.5 *
    ((Math.log(1 + Math.exp(-0.5)) + Math.log(2)) / 2 +
      (Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(0.5))) / 2);
  assert(Math.abs(w - want) < 1e-6, `${w} vs ${want}`);
});

Deno.test("InfoNCE caps the logit scale at 100, and then t gets no gradient", () => {
  const s = tf.tensor2d([[0.01, 0], [0, 0.01]]);
  const t = tf.scalar(Math.log(1000));
  const v = infoNceLoss(s, t).dataSync()[0];
  // scale 100: logits [[1, 0], [0, 1]] → log(1 + e^−1)
  assert(CLIP_MAX_SCALE === 100);
  assert(Math.abs(v - Math.log(1 + Math.exp(-1))) < 1e-5, `${v}`);
  const g = tf.grad((x) => infoNceLoss(s, x as tf.Scalar))(t).dataSync()[0];
  assert(g === 0, `capped scale: dL/dt = ${g}`);
});

function ref(img: number[], txt: number[], t: number, n: number, d: number): number {
  const norm = (v: number[], i: number) =>
    Math.sqrt(Array.from({ length: d }, (_, k) => v[i * d + k] ** 2).reduce((a, b) => a + b));
  const z = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += img[i * d + k] * txt[j * d + k];
      return Math.min(Math.exp(t), 100) * dot / (norm(img, i) * norm(txt, j));
    }));
  const lse = (v: number[]) => {
    const m = Math.max(...v);
    return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  let a = 0, b = 0;
  for (let i = 0; i < n; i++) {
    a += lse(z[i]) - z[i][i];
    b += lse(z.map((r) => r[i])) - z[i][i];
  }
  return 0.5 * (a / n + b / n);
}

Deno.test("InfoNCE gradients in both embeddings and in t match float64 finite differences", () => {
  const n = 4, d = 3, t = Math.log(1 / 0.3);
  const rng = new Rng(11);
  const img = Array.from({ length: n * d }, () => rng.normal());
  const txt = Array.from({ length: n * d }, () => rng.normal());
  const f = (a: tf.Tensor, b: tf.Tensor, s: tf.Tensor) =>
    infoNceLoss(cosineScores(a as tf.Tensor2D, b as tf.Tensor2D), s as tf.Scalar);
  const ti = tf.tensor2d(img, [n, d]), tt = tf.tensor2d(txt, [n, d]), ts = tf.scalar(t);
  const value = f(ti, tt, ts).dataSync()[0];
  assert(Math.abs(value - ref(img, txt, t, n, d)) < 1e-5, `${value}`);
  const [gi, gt, gs] = tf.grads(f)([ti, tt, ts]);
  assertClose(gi.dataSync(), fd((v) => ref(v, txt, t, n, d), img), 1e-3, "dimg");
  assertClose(gt.dataSync(), fd((v) => ref(img, v, t, n, d), txt), 1e-3, "dtxt");
  assertClose(gs.dataSync(), fd((v) => ref(img, txt, v[0], n, d), [t]), 1e-3, "dt");
});
