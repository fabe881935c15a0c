import { ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import {
  cosineScores,
  l2Normalize,
  VSE_MARGIN,
  vseHingeLoss,
} from "../../../stages/dse/loss_vse.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { assertClose, fd } from "../../helpers/numeric.ts";

await tf.setBackend("cpu");
registerGradients();

// A 3×3 score matrix, computed by hand (α = 0.2):
// cost_c (rows, caption negatives): row0 j1 0.3, j2 0.25; row1 j2 0.1; row2 j1 0.1 (others ≤ 0)
// cost_i (columns, image negatives): col2 i0 0.35, i1 0.6 (others ≤ 0)
// VSE0 = 0.75 + 0.95 = 1.7; VSE++ = (0.3 + 0.1 + 0.1) + (0 + 0 + 0.6) = 1.1.
const S = [[0.5, 0.6, 0.55], [0.2, 0.9, 0.8], [0.0, 0.3, 0.4]];

Deno.test("VSE0 and VSE++ match a 3×3 batch computed by hand", () => {
  const s = tf.tensor2d(S);
  const sum = vseHingeLoss(s, { margin: 0.2, maxViolation: false }).dataSync()[0];
  const max = vseHingeLoss(s, { margin: 0.2, maxViolation: true }).dataSync()[0];
  assert(Math.abs(sum - 1.7) < 1e-6, `VSE0 ${sum}, want 1.7`);
  assert(Math.abs(max - 1.1) < 1e-6, `VSE++ ${max}, want 1.1`);
  assert(VSE_MARGIN === 0.2, "vsepp's default margin");
});

Deno.test("the diagonal is masked: a batch whose positives win by the margin costs 0", () => {
  const s = tf.tensor2d([[1, 0.7], [0.1, 0.95]]);
  for (const maxViolation of [false, true]) {
    assert(vseHingeLoss(s, { margin: 0.2, maxViolation }).dataSync()[0] === 0);
  }
});

Deno.test("cosineScores L2-normalises both sides", () => {
  const img = tf.tensor2d([[3, 4], [0, 2]]);
  const txt = tf.tensor2d([[6, 8], [5, 0]]);
  assertClose(cosineScores(img, txt).dataSync(), [1, 0.6, 0.8, 0], 1e-6, "S");
  assertClose(l2Normalize(img).dataSync(), [0.6, 0.8, 0, 1], 1e-6, "norm");
});

// Float64 reference of the whole path: raw embeddings → cosine → hinge.
function refLoss(img: number[], txt: number[], n: number, d: number, maxViolation: boolean) {
  const norm = (v: number[], i: number) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += v[i * d + k] ** 2;
    return Math.sqrt(s);
  };
  const s: number[][] = [];
  for (let i = 0; i < n; i++) {
    s.push([]);
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += img[i * d + k] * txt[j * d + k];
      s[i].push(dot / (norm(img, i) * norm(txt, j)));
    }
  }
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const c: number[] = [], ci: number[] = [];
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      c.push(Math.max(0, 0.2 - s[i][i] + s[i][j])); // image i's caption negatives
      ci.push(Math.max(0, 0.2 - s[i][i] + s[j][i])); // caption i's image negatives
    }
    const agg = (v: number[]) => maxViolation ? Math.max(...v) : v.reduce((a, b) => a + b, 0);
    loss += agg(c) + agg(ci);
  }
  return loss;
}

Deno.test("VSE0 and VSE++ gradients (through the L2 norm) match float64 finite differences", () => {
  const n = 5, d = 3;
  const rng = new Rng(7);
  const img = Array.from({ length: n * d }, () => rng.normal());
  const txt = Array.from({ length: n * d }, () => rng.normal());
  for (const maxViolation of [false, true]) {
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      vseHingeLoss(cosineScores(a as tf.Tensor2D, b as tf.Tensor2D), {
        margin: 0.2,
        maxViolation,
      });
    const ti = tf.tensor2d(img, [n, d]), tt = tf.tensor2d(txt, [n, d]);
    const value = f(ti, tt).dataSync()[0];
    const want = refLoss(img, txt, n, d, maxViolation);
    assert(want > 0.5, "the batch has active hinges");
    assert(Math.abs(value - want) < 1e-5, `loss ${value} vs ${want}`);
    const [gi, gt] = tf.grads(f)([ti, tt]);
    assertClose(gi.dataSync(), fd((v) => refLoss(v, txt, n, d, maxViolation), img), 1e-3, "dimg");
    assertClose(gt.dataSync(), fd((v) => refLoss(img, v, n, d, maxViolation), txt), 1e-3, "dtxt");
  }
});
