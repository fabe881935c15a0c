import { ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { cosineScores } from "../../../stages/dse/loss_vse.ts";
import {
  textSimilarity,
  trainTextScorer,
  XU_LAMBDA,
  XU_MARGIN,
  xuGlobalLoss,
} from "../../../stages/dse/loss_xu.ts";
import { oneHot } from "../../../stages/dse/losses.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { assertClose, fd } from "../../helpers/numeric.ts";

await tf.setBackend("cpu");
registerGradients();

const near = (got: number, want: number, tol: number, what: string) =>
  assert(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want}`);

// Two pairs of different classes, S = [[.9, .1], [.3, .5]], labels Y = [[1, .5], [.2, 1]],
// m = .8, λ = .35, by hand:
// positives = the diagonal, w₊ = 2 − Y = (1, 1): μ₊ = (.9 + .5)/2 = .7, σ²₊ = (.2² + .2²)/2 = .04.
// negatives (0,1) and (1,0), w₋ = 1 + Y = (1.5, 1.2): μ₋ = (1.5·.1 + 1.2·.3)/2.7 = .51/2.7 =
//   .188889; σ²₋ = (1.5·(−.088889)² + 1.2·(.111111)²)/2.7 = (.011852 + .014815)/2.7 = .009877.
// gap term: .35·max(0, .8 − (.7 − .188889)) = .35·.288889 = .101111.
// L = .04 + .009877 + .101111 = .150988 (numpy: .1509877).
Deno.test("xu: the weighted global loss of a 2-pair batch computed by hand", () => {
  const v = xuGlobalLoss(
    tf.tensor2d([[0.9, 0.1], [0.3, 0.5]]),
    tf.tensor2d([[1, 0.5], [0.2, 1]]),
    tf.tensor2d([[1, 0], [0, 1]]),
    { margin: XU_MARGIN, lambda: XU_LAMBDA },
  ).dataSync()[0];
  near(v, 0.1509877, 1e-6, "L");
  // Same-class rows make the off-diagonal cells positives too: with one class there are no
  // negatives (μ₋ = 0 by the ε guard), w₊ = (1, 1.5, 1.8, 1): μ₊ = (.9 + .15 + .54 + .5)/5.3.
  const one = xuGlobalLoss(
    tf.tensor2d([[0.9, 0.1], [0.3, 0.5]]),
    tf.tensor2d([[1, 0.5], [0.2, 1]]),
    tf.tensor2d([[1], [1]]),
    { margin: 0.8, lambda: 0 },
  ).dataSync()[0];
  const mu = 2.09 / 5.3;
  const want = (0.9 - mu) ** 2 / 5.3 + 1.5 * (0.1 - mu) ** 2 / 5.3 + 1.8 * (0.3 - mu) ** 2 / 5.3 +
    (0.5 - mu) ** 2 / 5.3;
  near(one, want, 1e-6, "one class");
});

Deno.test("xu: the text similarity is (1 + cos(h, h'))/2 with h = LReLU(xW + b, 0.2)", () => {
  // W = I, b = 0: h(x) = LReLU(x). x = (1, 0), x' = (0, 1): orthogonal → .5; x with itself → 1;
  // x'' = (−1, 1): h = (−.2, 1), cos with (1, 0) = −.2/√1.04 = −.196116 → s = .401942.
  const s = textSimilarity(
    tf.tensor2d([[1, 0], [0, 1]]),
    tf.tensor2d([[1, 0], [0, 1], [-1, 1]]),
    { w: tf.eye(2) as tf.Tensor2D, b: tf.zeros([2]) as tf.Tensor1D },
  );
  assertClose(s.dataSync(), [1, 0.5, 0.401942, 0.5, 1, 0.990290], 1e-5, "s");
});

function ref(img: number[], txt: number[], Y: number[], y: number[], n: number, d: number) {
  const unit = (v: number[], i: number) => {
    const r = v.slice(i * d, i * d + d);
    const s = Math.sqrt(r.reduce((a, b) => a + b * b, 0) + 1e-12);
    return r.map((x) => x / s);
  };
  let sp = 0, sn = 0, mp = 0, mn = 0;
  const S: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = unit(img, i), b = unit(txt, j);
      S.push(a.reduce((s, x, k) => s + x * b[k], 0));
    }
  }
  const wp = S.map((_, c) => y[Math.floor(c / n)] === y[c % n] ? 2 - Y[c] : 0);
  const wn = S.map((_, c) => y[Math.floor(c / n)] !== y[c % n] ? 1 + Y[c] : 0);
  S.forEach((s, c) => {
    sp += wp[c];
    sn += wn[c];
    mp += wp[c] * s;
    mn += wn[c] * s;
  });
  mp /= sp;
  mn /= sn;
  const vp = S.reduce((a, s, c) => a + wp[c] * (s - mp) ** 2, 0) / sp;
  const vn = S.reduce((a, s, c) => a + wn[c] * (s - mn) ** 2, 0) / sn;
  return vp + vn + 0.35 * Math.max(0, 0.8 - (mp - mn));
}

Deno.test("xu: gradients (through the cosine) match float64 finite differences", () => {
  const n = 5, d = 3;
  const rng = new Rng(3);
  const img = Array.from({ length: n * d }, () => rng.normal());
  const txt = Array.from({ length: n * d }, () => rng.normal());
  const Y = Array.from({ length: n * n }, () => rng.next());
  const y = [0, 1, 0, 2, 1];
  const target = oneHot(tf.tensor1d(y, "int32"), 3);
  const f = (a: tf.Tensor, b: tf.Tensor) =>
    xuGlobalLoss(
      cosineScores(a as tf.Tensor2D, b as tf.Tensor2D),
      tf.tensor2d(Y, [n, n]),
      target,
      { margin: 0.8, lambda: 0.35 },
    );
  const ti = tf.tensor2d(img, [n, d]), tt = tf.tensor2d(txt, [n, d]);
  const want = ref(img, txt, Y, y, n, d);
  near(f(ti, tt).dataSync()[0], want, 1e-5, "value");
  const [gi, gt] = tf.grads(f)([ti, tt]);
  assertClose(gi.dataSync(), fd((v) => ref(v, txt, Y, y, n, d), img), 1e-3, "dimg");
  assertClose(gt.dataSync(), fd((v) => ref(img, v, Y, y, n, d), txt), 1e-3, "dtxt");
});

Deno.test("xu: the scorer learns from training texts: same-class pairs score higher", () => {
  // Three classes whose texts cluster around different directions of a 4-d space (+ noise).
  const rng = new Rng(9);
  const n = 90, q = 4;
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  const data = new Float32Array(n * q);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < q; k++) data[i * q + k] = (k === y[i] ? 1 : 0) + 0.4 * rng.normal();
  }
  const s = trainTextScorer({ data, shape: [n, q] }, y, { seed: 1, steps: 150 });
  const again = trainTextScorer({ data, shape: [n, q] }, y, { seed: 1, steps: 150 });
  assert(Array.from(s.w).every((v, i) => v === again.w[i]), "deterministic for a seed");
  const x = tf.tensor2d(data, [n, q]);
  const sim = textSimilarity(x, x, {
    w: tf.tensor2d(s.w, s.shape),
    b: tf.tensor1d(s.b),
  }).arraySync();
  let same = 0, ns = 0, diff = 0, nd = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      if (y[i] === y[j]) (same += sim[i][j], ns++);
      else (diff += sim[i][j], nd++);
    }
  }
  assert(same / ns - diff / nd > 0.3, `same ${same / ns} vs different ${diff / nd}`);
  assert(s.loss < 0.5, `last BCE ${s.loss}`);
});
