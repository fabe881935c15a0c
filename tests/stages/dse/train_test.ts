import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { runKind } from "../../helpers/stage_context.ts";
import { readNpy, writeLabels, writeNpy } from "../../../stages/tensor_io/npy.ts";
import { meanAveragePrecision } from "../../../stages/retrieval/map.ts";
import { selectBackend } from "../../../stages/nn/backend.ts";
import type { ImageBackboneFactory } from "../../../stages/dse/model.ts";
import { Rng } from "../../../stages/util/rng.ts";
import {
  DSE_PARAMS,
  type DseData,
  type DseParams,
  resolveLambda,
  trainDse,
} from "../../../stages/dse/train.ts";
import { createTrainDseKind, trainDseKind } from "../../../stages/dse/train_kind.ts";

await selectBackend("cpu", { log: () => {} });

const C = 3, P = 6, Q = 4;

/** Gaussian class clusters in both modalities (class means differ per modality). */
function synth(nTrain: number, nTest: number, seed: number): DseData {
  const rng = new Rng(seed);
  const mi = Array.from({ length: C * P }, () => 2 * rng.normal());
  const mt = Array.from({ length: C * Q }, () => 2 * rng.normal());
  const make = (n: number) => {
    const y = Int32Array.from({ length: n }, (_, i) => i % C);
    const img = Float32Array.from(
      { length: n * P },
      (_, k) => mi[y[Math.floor(k / P)] * P + (k % P)] + rng.normal(),
    );
    const txt = Float32Array.from(
      { length: n * Q },
      (_, k) => mt[y[Math.floor(k / Q)] * Q + (k % Q)] + rng.normal(),
    );
    return { y, img: { data: img, shape: [n, P] }, txt: { data: txt, shape: [n, Q] } };
  };
  const tr = make(nTrain), te = make(nTest);
  return {
    imgTrain: tr.img,
    imgTest: te.img,
    txtTrain: tr.txt,
    txtTest: te.txt,
    yTrain: tr.y,
    yTest: te.y,
    numClasses: C,
  };
}

function params(over: Partial<DseParams>): DseParams {
  const p: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(DSE_PARAMS)) p[k] = (s as { default?: unknown }).default;
  return { ...p, dim: 8, batch: 8, epochs: 4, ...over } as DseParams;
}

async function writeFeatureSet(d: DseData): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dse-data-" });
  await writeNpy(`${dir}/img_train.npy`, d.imgTrain.data, d.imgTrain.shape);
  await writeNpy(`${dir}/img_test.npy`, d.imgTest.data, d.imgTest.shape);
  await writeNpy(`${dir}/txt_train.npy`, d.txtTrain.data, d.txtTrain.shape);
  await writeNpy(`${dir}/txt_test.npy`, d.txtTest.data, d.txtTest.shape);
  await writeLabels(`${dir}/y_train.npy`, d.yTrain);
  await writeLabels(`${dir}/y_test.npy`, d.yTest);
  await Deno.writeTextFile(
    `${dir}/dataset.json`,
    JSON.stringify({ dataset: "synth", classes: ["a", "b", "c"], n_train: 60, n_test: 30 }),
  );
  return dir;
}

Deno.test("train-dse writes the Embedding artifact with provenance, and CS learns the classes", async () => {
  // 150 rows in batches of 10: 300 steps, enough for BN's running statistics (momentum 0.99).
  const data = await writeFeatureSet(synth(150, 30, 1));
  const run = await runKind(trainDseKind, {
    params: { loss: "cs", dim: 8, batch: 10, epochs: 20, seed: 3 },
    inputs: { data },
    options: { backend: "cpu" },
  });
  const img = await readNpy(`${run.dir}/img.npy`);
  const txt = await readNpy(`${run.dir}/txt.npy`);
  assertEquals(img.dtype, "<f4");
  assertEquals(img.shape, [30, 8]);
  assertEquals(txt.shape, [30, 8]);
  assertEquals((await readNpy(`${run.dir}/centers.npy`)).shape, [C, 8]);
  assertEquals(
    Array.from((await readNpy(`${run.dir}/y.npy`)).data),
    Array.from({ length: 30 }, (_, i) => i % C),
  );
  const emb = JSON.parse(await Deno.readTextFile(`${run.dir}/embedding.json`));
  assertEquals([emb.dataset, emb.method, emb.score, emb.hyper.lambda], [
    "synth",
    "dse-cs",
    "cosine",
    0.01,
  ]);
  const hist = JSON.parse(await Deno.readTextFile(`${run.dir}/history.json`));
  assertEquals(hist.length, 20);
  assert(hist.every((h: { lr: number; loss: number }) => h.lr > 0 && Number.isFinite(h.loss)));
  assert(hist[19].loss < hist[0].loss, "loss decreases");
  assert(hist[19].acc > 0.7, `training accuracy ${hist[19].acc} (chance 0.33)`);
  assertEquals(run.provenance.backend, "cpu");
  assertEquals(run.provenance.seed, 3);
  assert(typeof run.provenance.tfjs === "string");
  const y = Int32Array.from({ length: 30 }, (_, i) => i % C);
  const m = (a: typeof img) => ({
    rows: 30,
    cols: 8,
    data: Float64Array.from(a.data as Float32Array),
  });
  const map = meanAveragePrecision({ x: m(img), y }, { x: m(txt), y }, { similarity: "cosine" });
  assert(map > 0.6, `image→text mAP ${map} on well separated clusters (chance ≈ 0.33)`);
});

Deno.test("train-dse's object is a function of its key: two builds write identical files", async () => {
  const data = await writeFeatureSet(synth(20, 6, 2));
  const build = () =>
    runKind(trainDseKind, {
      params: { loss: "ds", dim: 4, batch: 6, epochs: 2, seed: 7 },
      inputs: { data },
      options: { backend: "cpu" },
    });
  const a = await build();
  const b = await build();
  const outs = trainDseKind.outputs as readonly string[];
  for (const f of outs) {
    assertEquals(
      await Deno.readFile(`${b.dir}/${f}`),
      await Deno.readFile(`${a.dir}/${f}`),
      `${f} differs between two builds of one key`,
    );
  }
  assertEquals((a.provenance.epoch_seconds as number[]).length, 2, "timings go to the manifest");
});

Deno.test("lambda defaults to the paper's value per loss and accepts numeric strings", () => {
  assertEquals(resolveLambda({ loss: "cs", lambda: null }), 0.01);
  assertEquals(resolveLambda({ loss: "ds", lambda: null }), 0.1);
  assertEquals(resolveLambda({ loss: "ds", lambda: "1e-4" }), 1e-4);
  assertEquals(resolveLambda({ loss: "ds", lambda: 0 }), 0);
  try {
    resolveLambda({ loss: "ds", lambda: "small" });
    assert(false, "should throw");
  } catch (e) {
    assert(/lambda must be a number/.test((e as Error).message));
  }
});

Deno.test("train-dse environment() names the backend; bad inputs get clear errors", async () => {
  assertEquals(await trainDseKind.environment!(params({}), { backend: "cpu" }), { backend: "cpu" });
  await rejects(
    runKind(trainDseKind, { params: { loss: "s" }, options: { backend: "cpu" } }),
    /needs an input `data`/,
  );
  const dir = await writeFeatureSet(synth(12, 6, 2));
  await Deno.remove(`${dir}/txt_test.npy`);
  await rejects(
    runKind(trainDseKind, {
      params: { loss: "s" },
      inputs: { data: dir },
      options: { backend: "cpu" },
    }),
    /lacks txt_test\.npy/,
  );
  await rejects(
    trainDse(synth(12, 6, 2), params({ loss: "s", batch: 7 }), {
      scratch: await Deno.makeTempDir(),
    }),
    /batch must be an even number/,
  );
});

Deno.test("an aborted training resumes from its checkpoint and ends identical to an uninterrupted one", async () => {
  for (const loss of ["cs", "ds"] as const) {
    const data = synth(40, 12, 5);
    const p = params({ loss, epochs: 5, seed: 9 });
    const tensorsBefore = tf.memory().numTensors;
    const full = await trainDse(data, p, { scratch: await Deno.makeTempDir() });
    assertEquals(full.resumedFrom, 0);
    assertEquals(tf.memory().numTensors, tensorsBefore, "training leaks no tensors");

    const scratch = await Deno.makeTempDir();
    const ac = new AbortController();
    await rejects(
      trainDse(data, p, {
        scratch,
        signal: ac.signal,
        onEpoch: (r) => {
          if (r.epoch === 2) ac.abort(new Error("killed after epoch 2"));
        },
      }),
      /killed after epoch 2/,
    );
    const state = JSON.parse(await Deno.readTextFile(`${scratch}/ckpt/state.json`));
    assertEquals(state.epoch, 2);
    const logs: string[] = [];
    const resumed = await trainDse(data, p, { scratch, log: (m) => logs.push(m) });
    assertEquals(resumed.resumedFrom, 2);
    assert(logs[0].includes("resumed from the checkpoint after epoch 2"));
    assertEquals(resumed.history.length, 5);
    const strip = (h: typeof full.history) => h.map(({ seconds: _s, ...r }) => r);
    assertEquals(strip(resumed.history), strip(full.history));
    for (const [k, v] of Object.entries(full.weights)) {
      assertEquals(
        Array.from(resumed.weights[k]),
        Array.from(v),
        `${loss}: ${k} differs after resume`,
      );
    }
    assertEquals(Array.from(resumed.imgEmb), Array.from(full.imgEmb));
    // A finished checkpoint is reused without training again.
    const again = await trainDse(data, p, { scratch });
    assertEquals(again.resumedFrom, 5);
    assertEquals(tf.memory().numTensors, tensorsBefore, "resumed and aborted runs leak no tensors");
    assertEquals(Array.from(again.txtEmb), Array.from(full.txtEmb));
  }
});

Deno.test("early stopping and the lr plateau follow training accuracy", async () => {
  // Trivially separable data: accuracy hits 1 at once, so it cannot improve afterwards.
  const data = synth(24, 6, 8);
  for (const arr of [data.imgTrain.data, data.txtTrain.data]) {
    const w = arr === data.imgTrain.data ? P : Q;
    for (let i = 0; i < arr.length; i++) arr[i] = data.yTrain[Math.floor(i / w)] * 10 + (i % w);
  }
  const res = await trainDse(
    data,
    params({ loss: "s", epochs: 40, plateau_patience: 2, stop_patience: 3 }),
    {
      scratch: await Deno.makeTempDir(),
    },
  );
  assertEquals(res.stopReason, "early-stop");
  assert(res.history.length < 40);
  const best = Math.max(...res.history.map((h) => h.acc));
  const at = res.history.findIndex((h) => h.acc === best);
  assertEquals(res.history.length, at + 1 + 3, "stops 3 epochs after the best accuracy");
  assert(res.history.at(-1)!.lr < res.history[0].lr, "lr was cut on the plateau");
});

Deno.test("an end-to-end image backbone plugs in, trains and is checkpointed", async () => {
  // A toy conv backbone over 4×4×1 "images": conv 3×3 (2 filters) → relu → global mean.
  const toy: ImageBackboneFactory = (opts) => {
    const k = tf.variable(
      tf.randomNormal([3, 3, 1, 2], 0, 0.5, "float32", opts.rng.int(1e6)),
      true,
    );
    return Promise.resolve({
      outDim: 2,
      trainable: { "conv.kernel": k },
      state: {},
      decay: ["conv.kernel"],
      apply: (x) =>
        tf.mean(tf.relu(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, "same")), [
          1,
          2,
        ]) as tf.Tensor2D,
      dispose: () => k.dispose(),
    });
  };
  const base = synth(24, 6, 4);
  const rng = new Rng(4);
  const imgs = (y: Int32Array) =>
    Float32Array.from(
      { length: y.length * 16 },
      (_, i) => (y[Math.floor(i / 16)] === (i % 16) % 3 ? 2 : 0) + 0.3 * rng.normal(),
    );
  const data: DseData = {
    ...base,
    imgTrain: { data: imgs(base.yTrain), shape: [24, 4, 4, 1] },
    imgTest: { data: imgs(base.yTest), shape: [6, 4, 4, 1] },
  };
  const p = params({ loss: "s", epochs: 2, image_branch: "end-to-end", backbone: "toy" });
  await rejects(
    trainDse(data, p, { scratch: await Deno.makeTempDir() }),
    /no backbone is registered/,
  );
  const features = params({ loss: "s", epochs: 2 });
  await rejects(
    trainDse(data, features, { scratch: await Deno.makeTempDir() }),
    /needs 2-D image features/,
  );
  const scratch = await Deno.makeTempDir();
  const res = await trainDse(data, p, { scratch, backbones: { toy } });
  assert("backbone.conv.kernel" in res.weights);
  await Deno.stat(`${scratch}/ckpt/backbone.conv.kernel.npy`);
  await Deno.stat(`${scratch}/ckpt/adam_m.backbone.conv.kernel.npy`);
  assertEquals(res.imgEmb.length, 6 * 8);
  const kind = createTrainDseKind({ backbones: { toy } });
  assertEquals(kind.name, "train-dse");
});

Deno.test("DSE-S trains on the real Wikipedia features (skipped without the data mirror)", async (t) => {
  const mirror = Deno.env.get("DSE_DATA_MIRROR") ??
    new URL("../../../../shared/data/", import.meta.url).pathname;
  const dir = `${mirror.replace(/\/$/, "")}/wikipedia`;
  const ok = await Deno.stat(`${dir}/raw_features.mat`).then(() => true, () => false);
  if (!ok) {
    console.log(`skipped: no ${dir}/raw_features.mat (set DSE_DATA_MIRROR to the data mirror)`);
    return;
  }
  const { readMatV5, matVariable, matToMatrix } = await import(
    "../../../stages/tensor_io/mat_v5.ts"
  );
  const vars = await readMatV5(`${dir}/raw_features.mat`);
  const rows = (name: string) => {
    const m = matToMatrix(matVariable(vars, name));
    return { data: Float32Array.from(m.data), shape: [m.rows, m.cols] };
  };
  const labels = async (f: string) =>
    Int32Array.from(
      (await Deno.readTextFile(`${dir}/${f}`)).trim().split("\n").map((l) =>
        Number(l.split("\t")[2]) - 1
      ),
    );
  const data: DseData = {
    imgTrain: rows("I_tr"),
    imgTest: rows("I_te"),
    txtTrain: rows("T_tr"),
    txtTest: rows("T_te"),
    yTrain: await labels("trainset_txt_img_cat.list"),
    yTest: await labels("testset_txt_img_cat.list"),
    numClasses: 10,
  };
  // One epoch at d = 64 on cpu (the paper's d = 2048 and early stopping run in the pipeline).
  const res = await trainDse(data, params({ loss: "s", dim: 64, batch: 32, epochs: 1 }), {
    scratch: await Deno.makeTempDir(),
  });
  const y = data.yTest, m = y.length;
  const M = (a: Float32Array) => ({ rows: m, cols: 64, data: Float64Array.from(a) });
  const i2t = meanAveragePrecision({ x: M(res.imgEmb), y }, { x: M(res.txtEmb), y }, {
    similarity: "cosine",
  });
  await t.step(`image→text mAP after one epoch: ${i2t.toFixed(3)} (random 0.118)`, () => {
    assert(i2t > 0.16, `mAP ${i2t} is not clearly above random (0.118)`);
  });
});

Deno.test("pair losses (vse0, vsepp, infonce) train on paired batches and resume bit-identically", async () => {
  const data = synth(40, 12, 5);
  for (const loss of ["vse0", "vsepp", "infonce"] as const) {
    // `pairing: label` is overridden: a pair loss needs each image with its own text.
    const p = params({ loss, epochs: 4, seed: 4, pairing: "label", lr: 1e-2 });
    const full = await trainDse(data, p, { scratch: await Deno.makeTempDir() });
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
    if (loss === "vsepp") {
      const paired = await trainDse(data, { ...p, pairing: "pair" }, {
        scratch: await Deno.makeTempDir(),
      });
      assertEquals(Array.from(paired.imgEmb), Array.from(full.imgEmb), "pairing is forced");
    }
    if (loss === "infonce") {
      assert("head.log_scale" in full.weights, "the temperature is a checkpointed variable");
      assert(full.weights["head.log_scale"][0] !== Math.log(1 / 0.07), "and it is learned");
    }
    // Accuracy = in-batch partner R@1: above the chance 1/4 of a 4-pair batch by the end.
    const last = full.history[full.history.length - 1];
    assert(last.acc > 0.35, `${loss}: in-batch R@1 ${last.acc}`);
    const m = (x: Float32Array) => ({
      x: { data: Float64Array.from(x), rows: 12, cols: 8 },
      y: data.yTest,
    });
    const mapI2T = meanAveragePrecision(m(full.imgEmb), m(full.txtEmb), { similarity: "cosine" });
    assert(mapI2T > 0.6, `${loss}: test mAP ${mapI2T} (chance ≈ 0.4)`);
  }
});
