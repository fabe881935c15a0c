import { deepStrictEqual as assertEquals, ok as assert, rejects, throws } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { LOSS_NAMES, LOSSES, lossSpec } from "../../../stages/dse/loss_registry.ts";
import { dseDSLoss, dseSLoss, oneHot } from "../../../stages/dse/losses.ts";
import { cosineScores, vseHingeLoss } from "../../../stages/dse/loss_vse.ts";
import { infoNceLoss } from "../../../stages/dse/loss_infonce.ts";
import { malaliLoss, malaliTau } from "../../../stages/dse/loss_malali.ts";
import { textSimilarity, xuGlobalLoss } from "../../../stages/dse/loss_xu.ts";
import { createModel } from "../../../stages/dse/model.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { DSE_PARAMS, type DseData, type DseParams, trainDse } from "../../../stages/dse/train.ts";

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
  assertEquals(LOSS_NAMES, ["s", "cs", "ds", "vse0", "vsepp", "infonce", "malali", "xu"]);
  for (const n of ["s", "cs", "ds"] as const) assertEquals(LOSSES[n].batching, "class-balanced");
  for (const n of ["vse0", "vsepp", "infonce", "malali", "xu"] as const) {
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

Deno.test("malali and xu: the registry entries are their modules' formulas on the loss's state", () => {
  const b = batch(3);
  const rng = new Rng(4);
  const model = createModel(rng, { loss: "malali", imgDim: 2, txtDim: 2, dim: D, numClasses: C });
  const txtTrain = {
    data: Float32Array.from({ length: 12 * 2 }, () => rng.normal()),
    shape: [12, 2],
  };
  const yTrain = Int32Array.from({ length: 12 }, (_, i) => i % C);
  const ctx = { dim: D, numClasses: C, txtTrain, yTrain, seed: 0 };
  model.extra = LOSSES.malali.init!(rng, ctx);
  assertEquals(Object.keys(model.extra), ["centers", "codewords", "margin"]);
  assert(model.extra.codewords.trainable && !model.extra.centers.trainable, "what is learned");
  const o = { lambda: 0.01, margin: 0.2, alpha: 0.5, epoch: 3, epochs: 10 };
  const out = LOSSES.malali.compute(model, b, o);
  const want = malaliLoss(b, {
    centers: model.extra.centers as unknown as tf.Tensor2D,
    codewords: model.extra.codewords as unknown as tf.Tensor2D,
    margin: tf.scalar(0.2),
  }, { lambda: 0.01, tau: malaliTau(3, 10) });
  assert(Math.abs(scalar(out.loss) - scalar(want.loss)) < 1e-6, "malali loss");
  assertEquals(Array.from(out.scoresImg.dataSync()), Array.from(tf.neg(want.distances).dataSync()));
  // afterStep: the centers move toward the batch and the margin leaves m₀.
  LOSSES.malali.afterStep!(model, b, o);
  assert(scalar(tf.sum(tf.abs(model.extra.centers))) > 0, "centers updated");
  assert(scalar(model.extra.margin) !== 0.2, "margin refined");

  const xm = createModel(rng, { loss: "xu", imgDim: 2, txtDim: 2, dim: D, numClasses: C });
  xm.extra = LOSSES.xu.init!(rng, ctx);
  assertEquals(Object.keys(xm.extra), ["scorer_w", "scorer_b"]);
  assert(!xm.extra.scorer_w.trainable, "the scorer is frozen while the embedding trains");
  const txtIn = tf.tensor2d(Array.from({ length: B * 2 }, () => rng.normal()), [B, 2]);
  throws(() => LOSSES.xu.compute(xm, b, o), /needs the batch's raw texts/);
  const xo = LOSSES.xu.compute(xm, { ...b, txtIn }, { ...o, lambda: 0.35, margin: 0.8 });
  const y = textSimilarity(txtIn, txtIn, {
    w: xm.extra.scorer_w as unknown as tf.Tensor2D,
    b: xm.extra.scorer_b as unknown as tf.Tensor1D,
  });
  const wx = xuGlobalLoss(cosineScores(b.img, b.txt), y, b.target, { margin: 0.8, lambda: 0.35 });
  assert(Math.abs(scalar(xo.loss) - scalar(wx)) < 1e-6, "xu loss");
});

// Three separable classes (as tests/stages/dse/train_test.ts's synth, smaller).
function synth(n: number, nTest: number): DseData {
  const rng = new Rng(21);
  const mi = Array.from({ length: 3 * 6 }, () => 2 * rng.normal());
  const mt = Array.from({ length: 3 * 4 }, () => 2 * rng.normal());
  const make = (m: number) => {
    const y = Int32Array.from({ length: m }, (_, i) => i % 3);
    const img = Float32Array.from(
      { length: m * 6 },
      (_, k) => mi[y[Math.floor(k / 6)] * 6 + (k % 6)] + rng.normal(),
    );
    const txt = Float32Array.from(
      { length: m * 4 },
      (_, k) => mt[y[Math.floor(k / 4)] * 4 + (k % 4)] + rng.normal(),
    );
    return { y, img: { data: img, shape: [m, 6] }, txt: { data: txt, shape: [m, 4] } };
  };
  const tr = make(n), te = make(nTest);
  return {
    imgTrain: tr.img,
    imgTest: te.img,
    txtTrain: tr.txt,
    txtTest: te.txt,
    yTrain: tr.y,
    yTest: te.y,
    numClasses: 3,
  };
}

function params(over: Partial<DseParams>): DseParams {
  const p: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(DSE_PARAMS)) p[k] = (s as { default?: unknown }).default;
  return { ...p, dim: 8, batch: 8, epochs: 4, lr: 1e-2, seed: 4, ...over } as DseParams;
}

Deno.test("malali and xu train in train-dse, checkpoint their state and resume bit-identically", async () => {
  const data = synth(40, 12);
  for (const loss of ["malali", "xu"] as const) {
    const p = params({ loss, lambda: null, margin: loss === "xu" ? 0.8 : 0.2 });
    const before = tf.memory().numTensors;
    const full = await trainDse(data, p, { scratch: await Deno.makeTempDir() });
    assertEquals(tf.memory().numTensors, before, `${loss}: training leaks no tensors`);
    const scratch = await Deno.makeTempDir();
    const ac = new AbortController();
    await rejects(
      trainDse(data, p, {
        scratch,
        signal: ac.signal,
        onEpoch: (r) => {
          if (r.epoch === 2) ac.abort(new Error("stop"));
        },
      }),
      /stop/,
    );
    const resumed = await trainDse(data, p, { scratch });
    assertEquals(resumed.resumedFrom, 2);
    for (const [k, v] of Object.entries(full.weights)) {
      assertEquals(Array.from(resumed.weights[k]), Array.from(v), `${loss}: ${k} after resume`);
    }
    const last = full.history[full.history.length - 1];
    assert(last.acc > 0.35, `${loss}: in-batch R@1 ${last.acc} (chance 1/4)`);
    if (loss === "malali") {
      for (const k of ["loss.centers", "loss.codewords", "loss.margin"]) {
        assert(k in full.weights, k);
      }
      const m = full.weights["loss.margin"][0];
      assert(m !== 0.2 && m >= 0.1 && m <= 0.5, `margin ${m}`);
    } else {
      // The scorer sees the training texts only: other test texts leave it unchanged.
      const other = {
        ...data,
        txtTest: { ...data.txtTest, data: data.txtTest.data.map((v) => v + 1) },
      };
      const o = await trainDse(other, { ...p, epochs: 1 }, { scratch: await Deno.makeTempDir() });
      assertEquals(
        Array.from(o.weights["loss.scorer_w"]),
        Array.from(full.weights["loss.scorer_w"]),
      );
    }
  }
});
