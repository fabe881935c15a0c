import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { findKind } from "../../../pipeline/worker.ts";
import { selectBackend } from "../../../stages/nn/backend.ts";
import {
  LAZY_RESNET_BACKBONES,
  RESNET_BACKBONE_NAMES,
  trainDseEndToEndKind,
} from "../../../stages/dse/end_to_end.ts";
import { RESNET_BACKBONES, RESNET_TINY } from "../../../stages/nn/resnet_backbone.ts";
import { Rng } from "../../../stages/util/rng.ts";
import { DSE_PARAMS, type DseData, type DseParams, trainDse } from "../../../stages/dse/train.ts";
import { randomResNetWeights } from "../../../stages/nn/resnet.ts";
import { readNpy, writeLabels, writeNpy } from "../../../stages/tensor_io/npy.ts";
import { runKind } from "../../helpers/stage_context.ts";
import { writeKerasH5 } from "../../helpers/fixtures_raw.ts";

const C = 3, S = 12, Q = 4;

/** Raw-image data: each class has its own colour and stripe orientation; texts are class clusters. */
function synthImages(
  n: number,
  seed: number,
): { img: Float32Array; txt: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % C);
  const img = new Float32Array(n * S * S * 3);
  const txt = new Float32Array(n * Q);
  for (let i = 0; i < n; i++) {
    const c = y[i];
    for (let r = 0; r < S; r++) {
      for (let q = 0; q < S; q++) {
        const stripe = c === 0 ? r % 4 < 2 : c === 1 ? q % 4 < 2 : (r + q) % 4 < 2;
        for (let k = 0; k < 3; k++) {
          img[((i * S + r) * S + q) * 3 + k] = (k === c ? 50 : -20) + (stripe ? 30 : -30) +
            10 * rng.normal();
        }
      }
    }
    for (let k = 0; k < Q; k++) txt[i * Q + k] = (k === c ? 2 : 0) + 0.5 * rng.normal();
  }
  return { img, txt, y };
}

async function writeRawFeatureSet(nTrain: number, nTest: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "e2e-fs-" });
  for (const [split, n, seed] of [["train", nTrain, 1], ["test", nTest, 2]] as const) {
    const d = synthImages(n, seed);
    await writeNpy(`${dir}/img_${split}.npy`, d.img, [n, S, S, 3]);
    await writeNpy(`${dir}/txt_${split}.npy`, d.txt, [n, Q]);
    await writeLabels(`${dir}/y_${split}.npy`, d.y);
  }
  await Deno.writeTextFile(
    `${dir}/dataset.json`,
    JSON.stringify({ dataset: "synth", classes: ["a", "b", "c"] }),
  );
  return dir;
}

function params(over: Partial<DseParams>): DseParams {
  const p: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(DSE_PARAMS)) p[k] = (v as { default?: unknown }).default;
  return { ...p, ...over } as DseParams;
}

Deno.test("end-to-end kind: its backbone names are resnet_backbone.ts's, built on demand", async () => {
  assertEquals([...RESNET_BACKBONE_NAMES], Object.keys(RESNET_BACKBONES));
  assertEquals(Object.keys(LAZY_RESNET_BACKBONES), Object.keys(RESNET_BACKBONES));
  // the lazy factory builds what the eager one builds
  await selectBackend("cpu", { log: () => {} });
  const build = (f: (typeof RESNET_BACKBONES)[string]) =>
    f({ inputShape: [8, 8, 3], rng: new Rng(3) });
  const lazy = await build(LAZY_RESNET_BACKBONES["resnet-tiny-random"]);
  const eager = await build(RESNET_BACKBONES["resnet-tiny-random"]);
  try {
    assertEquals(lazy.outDim, eager.outDim);
    assertEquals(Object.keys(lazy.trainable), Object.keys(eager.trainable));
    const a = Object.values(lazy.trainable)[0].dataSync();
    const b = Object.values(eager.trainable)[0].dataSync();
    assertEquals([...a], [...b]);
  } finally {
    lazy.dispose();
    eager.dispose();
  }
});

Deno.test("end-to-end kind: module is end_to_end.ts (cache key, worker lookup)", async () => {
  assert(trainDseEndToEndKind.module.endsWith("/stages/dse/end_to_end.ts"));
  const mod = await import(trainDseEndToEndKind.module);
  assertEquals(findKind(mod, "train-dse"), trainDseEndToEndKind);
});

Deno.test("end-to-end train-dse on wasm: tiny ResNet on 12×12 images, loss decreases", async () => {
  const data = await writeRawFeatureSet(18, 6);
  const run = await runKind(trainDseEndToEndKind, {
    inputs: { data },
    params: {
      loss: "ds",
      dim: 8,
      epochs: 5,
      batch: 6,
      image_branch: "end-to-end",
      backbone: "resnet-tiny-random",
      seed: 1,
    },
    env: { backend: "wasm" },
  });
  assertEquals(run.provenance.backend, "wasm");
  const hist = JSON.parse(await Deno.readTextFile(`${run.dir}/history.json`));
  assertEquals(hist.length, 5);
  const losses = hist.map((h: { loss: number }) => h.loss);
  assert(losses.every(Number.isFinite));
  assert(losses[4] < 0.9 * losses[0], `loss did not decrease: ${losses}`);
  const img = await readNpy(`${run.dir}/img.npy`);
  assertEquals(img.shape, [6, 8]);
  const emb = JSON.parse(await Deno.readTextFile(`${run.dir}/embedding.json`));
  assertEquals(emb.hyper.image_branch, "end-to-end");
});

Deno.test("end-to-end train-dse: loads a Keras .h5 from the 'backbone' input; refuses without it", async () => {
  await selectBackend("cpu", { log: () => {} });
  const data = await writeRawFeatureSet(6, 3);
  const cfg = { ...RESNET_TINY };
  const wdir = await Deno.makeTempDir();
  await Deno.writeFile(`${wdir}/tiny.h5`, await writeKerasH5(randomResNetWeights(cfg, 4), cfg));
  const p = {
    loss: "s",
    dim: 4,
    epochs: 1,
    batch: 6,
    image_branch: "end-to-end",
    backbone: "resnet-tiny",
  };
  const run = await runKind(trainDseEndToEndKind, {
    inputs: { data, backbone: wdir },
    params: p,
    env: { backend: "cpu" },
  });
  assertEquals((await readNpy(`${run.dir}/txt.npy`)).shape, [3, 4]);
  await rejects(
    () => runKind(trainDseEndToEndKind, { inputs: { data }, params: p, env: { backend: "cpu" } }),
    /needs pretrained weights: give train-dse an input 'backbone'/,
  );
  await rejects(
    () =>
      runKind(trainDseEndToEndKind, {
        inputs: { data },
        params: { ...p, backbone: "vgg16" },
        env: { backend: "cpu" },
      }),
    /only resnet50, keras-resnet, resnet50-random, resnet-tiny, resnet-tiny-random are registered/,
  );
});

Deno.test("end-to-end train-dse: a resumed run repeats an uninterrupted one bit for bit (cpu)", async () => {
  await selectBackend("cpu", { log: () => {} });
  const tr = synthImages(6, 5), te = synthImages(3, 6);
  const data: DseData = {
    imgTrain: { data: tr.img, shape: [6, S, S, 3] },
    imgTest: { data: te.img, shape: [3, S, S, 3] },
    txtTrain: { data: tr.txt, shape: [6, Q] },
    txtTest: { data: te.txt, shape: [3, Q] },
    yTrain: tr.y,
    yTest: te.y,
    numClasses: C,
  };
  const base = { loss: "cs" as const, dim: 4, batch: 4, image_branch: "end-to-end" as const };
  const opts = (scratch: string) => ({ scratch, backbones: RESNET_BACKBONES });
  const straight = await trainDse(
    data,
    params({ ...base, epochs: 2, backbone: "resnet-tiny-random" }),
    opts(await Deno.makeTempDir()),
  );
  const scratch = await Deno.makeTempDir();
  // The first run stops after one epoch (epochs is part of the fingerprint, so give the same
  // params and abort after the first checkpoint instead).
  const ac = new AbortController();
  await rejects(
    () =>
      trainDse(data, params({ ...base, epochs: 2, backbone: "resnet-tiny-random" }), {
        ...opts(scratch),
        signal: ac.signal,
        onEpoch: () => ac.abort(new Error("killed")),
      }),
    /killed/,
  );
  const resumed = await trainDse(
    data,
    params({ ...base, epochs: 2, backbone: "resnet-tiny-random" }),
    opts(scratch),
  );
  assertEquals(resumed.resumedFrom, 1);
  assert(Object.keys(straight.weights).some((k) => k.startsWith("backbone.res3a_branch2b.")));
  assertEquals(resumed.weights, straight.weights);
  assertEquals(resumed.imgEmb, straight.imgEmb);
});
