import { ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import {
  adaptiveHingeLoss,
  euclideanDistances,
  MALALI_MARGIN0,
  malaliLoss,
  malaliTau,
  median,
  nextMargin,
} from "../../../stages/dse/loss_malali.ts";
import { oneHot } from "../../../stages/dse/losses.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { assertClose, fd } from "../../helpers/numeric.ts";

await tf.setBackend("cpu");
registerGradients();

const near = (got: number, want: number, tol: number, what: string) =>
  assert(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want}`);

// A 2-pair batch by hand (every embedding already has norm 1), classes [0, 1], centers 0,
// codewords W = I, τ = 1, m = 0.2, λ_c = 0.1, λ_q = 0.1; every term a sum over the rows:
// img = I, txt = [[.6, .8], [.8, .6]]: cos = [[.6, .8], [.8, .6]], D = √(2 − 2cos) =
//   [[√.8, √.4], [√.4, √.8]] = [[.894427, .632456], [.632456, .894427]].
// hinge: every row and column has [.2 + √.8 − √.4]₊ = .461972; 2 rows + 2 columns = 1.847887.
// center: ½‖x − 0‖² = ½ for every unit row → C(img) = C(txt) = 2·½ = 1 → ½(1 + 1) = 1, × λ_c = .1.
// quant, x = (1, 0): ‖x − w‖² = (0, 2) → softmax(0, −2) = (.880797, .119203) = q;
//   ‖x − q‖² = 2·.119203² = .028419 (the same for (0, 1)) → Q(img) = .056837.
//   x = (.6, .8): ‖x − w‖² = (.8, .4) → softmax(−.8, −.4) = (.401312, .598688) = q;
//   ‖x − q‖² = .198688² + .201312² = .080003 (the same for (.8, .6)) → Q(txt) = .160007.
//   ½(.056837 + .160007) = .108422, × λ_q = .010842.
// L = 1.847887 + .1 + .010842 = 1.958729 (numpy gives 1.9587288).
Deno.test("malali: the loss of a 2-pair batch computed by hand", () => {
  const out = malaliLoss(
    {
      img: tf.tensor2d([[1, 0], [0, 1]]),
      txt: tf.tensor2d([[0.6, 0.8], [0.8, 0.6]]),
      target: tf.tensor2d([[1, 0], [0, 1]]),
    },
    { centers: tf.zeros([2, 2]), codewords: tf.eye(2) as tf.Tensor2D, margin: tf.scalar(0.2) },
    { lambda: 0.1, tau: 1, quantWeight: 0.1 },
  );
  near(out.loss.dataSync()[0], 1.9587288, 1e-5, "L");
  assertClose(out.distances.dataSync(), [0.894427, 0.632456, 0.632456, 0.894427], 1e-5, "D");
  // Only the hinge: a margin of 0 leaves .2 less per row and per column.
  near(adaptiveHingeLoss(out.distances, 0).dataSync()[0], 1.847887 - 0.8, 1e-5, "m = 0");
});

Deno.test("malali: τ anneals 1 → 0.01 over the epoch cap; the median; m₀ = 0.2", () => {
  near(malaliTau(0, 21), 1, 1e-12, "first epoch");
  near(malaliTau(10, 21), 0.1, 1e-12, "halfway");
  near(malaliTau(20, 21), 0.01, 1e-12, "last epoch");
  near(malaliTau(30, 21), 0.01, 1e-12, "beyond the cap");
  near(median([3, 1, 2]), 2, 0, "odd");
  near(median([4, 1, 3, 2]), 2.5, 0, "even");
  near(MALALI_MARGIN0, 0.2, 0, "m₀");
});

Deno.test("malali: the margin follows the batch's median gap, clipped to [0.1, 0.5]", () => {
  // D = [[.5, 1.1], [.9, .4]]: row gaps 1.1 − .5 = .6, .9 − .4 = .5; column gaps .9 − .5 = .4,
  // 1.1 − .4 = .7 → median(.4, .5, .6, .7) = .55; .9·.2 + .1·.55 = .235.
  const d = tf.tensor2d([[0.5, 1.1], [0.9, 0.4]]);
  near(nextMargin(0.2, d), 0.235, 1e-6, "one step");
  near(nextMargin(0.5, tf.tensor2d([[0, 2], [2, 0]])), 0.5, 1e-9, "upper clip");
  near(nextMargin(0.1, tf.tensor2d([[2, 0], [0, 2]])), 0.1, 1e-9, "lower clip");
});

// Float64 reference of the whole loss from raw embeddings (for the finite differences).
function ref(
  img: number[],
  txt: number[],
  cw: number[],
  o: { n: number; d: number; k: number; y: number[]; centers: number[]; m: number; tau: number },
): number {
  const { n, d, k } = o;
  const rows = (v: number[], r: number) =>
    Array.from({ length: r }, (_, i) => v.slice(i * d, i * d + d));
  const unit = (v: number[]) => {
    const s = Math.sqrt(v.reduce((a, b) => a + b * b, 0) + 1e-12);
    return v.map((x) => x / s);
  };
  const e = rows(img, n).map(unit), t = rows(txt, n).map(unit), w = rows(cw, k);
  const dist = (a: number[], b: number[]) =>
    Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0) + 1e-12);
  const D = e.map((a) => t.map((b) => dist(a, b)));
  let hr = 0, hc = 0;
  for (let i = 0; i < n; i++) {
    const negR = Math.min(...D[i].filter((_, j) => j !== i));
    const negC = Math.min(...D.map((r) => r[i]).filter((_, j) => j !== i));
    hr += Math.max(0, o.m + D[i][i] - negR);
    hc += Math.max(0, o.m + D[i][i] - negC);
  }
  const c = rows(o.centers, Math.max(...o.y) + 1);
  const center = (x: number[][]) =>
    x.reduce((s, r, i) => s + 0.5 * r.reduce((a, v, j) => a + (v - c[o.y[i]][j]) ** 2, 0), 0);
  const quant = (x: number[][]) =>
    x.reduce((s, r) => {
      const z = w.map((wk) => -r.reduce((a, v, j) => a + (v - wk[j]) ** 2, 0) / o.tau);
      const mx = Math.max(...z);
      const p = z.map((v) => Math.exp(v - mx));
      const sp = p.reduce((a, b) => a + b, 0);
      const q = r.map((_, j) => w.reduce((a, wk, kk) => a + p[kk] / sp * wk[j], 0));
      return s + r.reduce((a, v, j) => a + (v - q[j]) ** 2, 0);
    }, 0);
  return hr + hc + 0.01 * 0.5 * (center(e) + center(t)) + 0.1 * 0.5 * (quant(e) + quant(t));
}

Deno.test("malali: gradients in both embeddings and the codewords match float64 finite differences", () => {
  const n = 5, d = 3, k = 3, c = 2;
  const rng = new Rng(5);
  const r = (len: number) => Array.from({ length: len }, () => rng.normal());
  const img = r(n * d), txt = r(n * d), cw = r(k * d).map((v) => 0.5 * v), centers = r(c * d);
  const y = [0, 1, 1, 0, 1];
  const o = { n, d, k, y, centers, m: 0.3, tau: 0.5 };
  const target = oneHot(tf.tensor1d(y, "int32"), c);
  const f = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor) =>
    malaliLoss({ img: a as tf.Tensor2D, txt: b as tf.Tensor2D, target }, {
      centers: tf.tensor2d(centers, [c, d]),
      codewords: w as tf.Tensor2D,
      margin: tf.scalar(o.m),
    }, { lambda: 0.01, tau: o.tau }).loss;
  const ti = tf.tensor2d(img, [n, d]), tt = tf.tensor2d(txt, [n, d]), tw = tf.tensor2d(cw, [k, d]);
  const want = ref(img, txt, cw, o);
  assert(want > 0.1, "active hinges");
  near(f(ti, tt, tw).dataSync()[0], want, 1e-5, "value");
  const [gi, gt, gw] = tf.grads(f)([ti, tt, tw]);
  assertClose(gi.dataSync(), fd((v) => ref(v, txt, cw, o), img), 1e-3, "dimg");
  assertClose(gt.dataSync(), fd((v) => ref(img, v, cw, o), txt), 1e-3, "dtxt");
  assertClose(gw.dataSync(), fd((v) => ref(img, txt, v, o), cw), 1e-3, "dcodewords");
  // euclideanDistances is the plain ‖a − b‖₂.
  assertClose(
    euclideanDistances(tf.tensor2d([[0, 0], [3, 4]]), tf.tensor2d([[3, 4]])).dataSync(),
    [5, 0],
    1e-5,
    "dist",
  );
});
