import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { LOSS_NAMES, LOSSES, lossSpec } from "../../../stages/dse/loss_registry.ts";
import { dseDSLoss, dseSLoss, oneHot } from "../../../stages/dse/losses.ts";
import { cosineScores, vseHingeLoss } from "../../../stages/dse/loss_vse.ts";
import { infoNceLoss } from "../../../stages/dse/loss_infonce.ts";
import { createModel } from "../../../stages/dse/model.ts";
import { Rng } from "../../../stages/util/rng.ts";

await tf.setBackend("cpu");
registerGradients();

const B = 4, D = 5, C = 3;

function batch(seed: number) {
  const rng = new Rng(seed);
  const r = () => tf.tensor2d(Array.from({ length: B * D }, () => rng.normal()), [B, D]);
  return { img: r(), txt: r(), target: oneHot(tf.tensor1d([0, 2, 1, 2], "int32"), C) };
}

const scalar = (t: tf.Tensor) => t.dataSync()[0];

Deno.test("the registry: DSE losses are class-balanced, the rest paired; unknown names fail", () => {
  assertEquals(LOSS_NAMES, ["s", "cs", "ds", "vse0", "vsepp", "infonce"]);
  for (const n of ["s", "cs", "ds"] as const) assertEquals(LOSSES[n].batching, "class-balanced");
  for (const n of ["vse0", "vsepp", "infonce"] as const) {
    assertEquals(LOSSES[n].batching, "paired");
    assertEquals(LOSSES[n].predicts, "partner");
  }
  throws(() => lossSpec("triplet"), /unknown loss "triplet"; use one of s, cs, ds/);
});

Deno.test("each registered loss is its module's formula on the model's head", () => {
  const b = batch(1);
  const rng = new Rng(2);
  const opts = { imgDim: 2, txtDim: 2, dim: D, numClasses: C };
  const o = { lambda: 0.1, margin: 0.2 };
  // DSE: ½ (image loss + text loss), scores = class logits.
  const s = createModel(rng, { loss: "s", ...opts });
  const head = { w: s.w as unknown as tf.Tensor2D, b: s.b as unknown as tf.Tensor1D };
  const outS = LOSSES.s.compute(s, b, o);
  const wantS = 0.5 * (scalar(dseSLoss(b.img, b.target, head)) +
    scalar(dseSLoss(b.txt, b.target, head)));
  assert(Math.abs(scalar(outS.loss) - wantS) < 1e-6);
  assertEquals(outS.scoresImg.shape, [B, C]);
  const ds = createModel(rng, { loss: "ds", ...opts });
  const c = ds.centers as unknown as tf.Tensor2D;
  const wantDS = 0.5 * (scalar(dseDSLoss(b.img, b.target, c, o)) +
    scalar(dseDSLoss(b.txt, b.target, c, o)));
  assert(Math.abs(scalar(LOSSES.ds.compute(ds, b, o).loss) - wantDS) < 1e-6);
  // Pair losses: scores = the batch's cosine matrix (and its transpose).
  const S = cosineScores(b.img, b.txt);
  for (const [name, max] of [["vse0", false], ["vsepp", true]] as const) {
    const m = createModel(rng, { loss: name, ...opts });
    const out = LOSSES[name].compute(m, b, o);
    const want = scalar(vseHingeLoss(S, { margin: 0.2, maxViolation: max }));
    assert(Math.abs(scalar(out.loss) - want) < 1e-6, name);
    assertEquals(out.scoresImg.shape, [B, B]);
    assertEquals(Array.from(out.scoresTxt.dataSync()), Array.from(tf.transpose(S).dataSync()));
  }
  const nce = createModel(rng, { loss: "infonce", temperature: 0.5, ...opts });
  assert(Math.abs(scalar(nce.logScale!) - Math.log(2)) < 1e-6, "t starts at log(1/τ₀)");
  const want = scalar(infoNceLoss(S, tf.scalar(Math.log(2))));
  assert(Math.abs(scalar(LOSSES.infonce.compute(nce, b, o).loss) - want) < 1e-6);
});
