import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../stages/nn/backend.ts";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { Rng } from "../../../stages/util/rng.ts";
import {
  augmentBatch,
  augmentIndices,
  conv2dFilterGrad,
  drawAugment,
  registerMatMulConvGrad,
  RESNET_BACKBONES,
  RESNET_TINY,
  resnetBackbone,
} from "../../../stages/nn/resnet_backbone.ts";
import { buildResNet, randomResNetWeights, resnetUnits } from "../../../stages/nn/resnet.ts";
import { writeKerasH5 } from "../../helpers/fixtures_raw.ts";

await selectBackend("cpu", { log: () => {} });
registerGradients();

Deno.test("augmentIndices: shift with edge replication, then mirror (hand-computed 3×4)", () => {
  // Pixel p of a 3×4 image has flat index p = i·4 + j.
  const down = augmentIndices([{ dy: 1, dx: 0, flip: false }], { height: 3, width: 4 });
  assertEquals([...down], [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]);
  const left = augmentIndices([{ dy: 0, dx: -1, flip: false }], { height: 3, width: 4 });
  assertEquals([...left.slice(0, 4)], [1, 2, 3, 3]);
  const flip = augmentIndices([{ dy: 0, dx: 0, flip: true }], { height: 3, width: 4 });
  assertEquals([...flip.slice(4, 8)], [7, 6, 5, 4]);
  // Shift right by one, then mirror: output col j reads clamp((3 − j) − 1).
  const both = augmentIndices([{ dy: 0, dx: 1, flip: true }], { height: 3, width: 4 });
  assertEquals([...both.slice(0, 4)], [2, 1, 0, 0]);
  // The second image of a batch reads from its own pixels.
  const two = augmentIndices([{ dy: 0, dx: 0, flip: false }, { dy: -1, dx: 0, flip: false }], {
    height: 3,
    width: 4,
  });
  assertEquals([...two.slice(12, 16)], [16, 17, 18, 19]);
  assertEquals([...two.slice(20, 24)], [20, 21, 22, 23]);
});

Deno.test("drawAugment: shifts within ±0.1 of the side, both flips, reproducible from the RNG", () => {
  const rng = new Rng(7);
  const dys = new Set<number>();
  let flips = 0;
  for (let k = 0; k < 400; k++) {
    const d = drawAugment(rng, { height: 40, width: 20 });
    assert(Math.abs(d.dy) <= 4 && Math.abs(d.dx) <= 2, JSON.stringify(d));
    dys.add(d.dy);
    if (d.flip) flips++;
  }
  assertEquals([...dys].sort((a, b) => a - b), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
  assert(flips > 150 && flips < 250, `flips ${flips}`);
  const a = drawAugment(new Rng(3), { height: 40, width: 20 });
  const b = drawAugment(new Rng(3), { height: 40, width: 20 });
  assertEquals(a, b);
});

Deno.test("augmentBatch: gathers the drawn pixels of each image", async () => {
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 10 * 10 * 3 }, (_, i) => i), [
    2,
    10,
    10,
    3,
  ]);
  const y = augmentBatch(x, new Rng(5));
  const r = new Rng(5);
  const draws = [0, 1].map(() => drawAugment(r, { height: 10, width: 10 }));
  const idx = augmentIndices(draws, { height: 10, width: 10 });
  const got = await y.data();
  const want = Float32Array.from(
    { length: got.length },
    (_, k) => idx[Math.floor(k / 3)] * 3 + (k % 3),
  );
  assertEquals(got, want);
  tf.dispose([x, y]);
});

Deno.test("resnet backbone from a Keras .h5: named variables, decay on conv kernels, eval = frozen net", async () => {
  const cfg = { ...RESNET_TINY, naming: "tf2" as const, epsilon: 1.001e-5, poolPad: true };
  const w = randomResNetWeights(cfg, 11);
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/tiny.h5`, await writeKerasH5(w, cfg));
  const bb = await RESNET_BACKBONES["resnet-tiny"]({
    inputShape: [16, 16, 3],
    rng: new Rng(0),
    weights: dir, // a directory holding one .h5
  });
  const units = resnetUnits(cfg);
  assertEquals(Object.keys(bb.trainable).length, 4 * units.length);
  assertEquals(Object.keys(bb.state).length, 2 * units.length);
  assertEquals(bb.decay, units.map((u) => `${u.conv}.kernel`));
  assertEquals(bb.outDim, 32);
  const k = bb.trainable["conv2_block1_2_conv.kernel"];
  assertEquals(await k.data(), (w.get("conv2_block1_2_conv") as { kernel: Float32Array }).kernel);
  assert(bb.trainable["conv1_bn.gamma"].trainable && !bb.state["conv1_bn.moving_mean"].trainable);
  const mv = bb.state["conv3_block1_0_bn.moving_variance"];
  assertEquals(
    await mv.data(),
    (w.get("conv3_block1_0_bn") as { variance: Float32Array }).variance,
  );

  const ref = buildResNet(w, { config: cfg, trainable: false });
  const x = tf.randomNormal([2, 16, 16, 3], 0, 50, "float32", 3) as tf.Tensor4D;
  const a = bb.apply(x, { training: false, rng: new Rng(1) });
  const b = ref.apply(x);
  const [da, db] = [await a.data(), await b.data()];
  for (let i = 0; i < da.length; i++) {
    assert(Math.abs(da[i] - db[i]) < 1e-3 * (1 + Math.abs(db[i])));
  }
  tf.dispose([x, a, b]);
  ref.dispose();
  bb.dispose();
});

Deno.test("keras-resnet backbone: the architecture comes from the .h5; resnet-tiny refuses that file", async () => {
  const cfg = {
    ...RESNET_TINY,
    stages: [...RESNET_TINY.stages, {
      blocks: 2,
      filters: [4, 4, 12] as [number, number, number],
      stride: 2,
    }],
  };
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/w.h5`, await writeKerasH5(randomResNetWeights(cfg, 5), cfg));
  const bb = await RESNET_BACKBONES["keras-resnet"]({
    inputShape: [16, 16, 3],
    rng: new Rng(0),
    weights: `${dir}/w.h5`,
  });
  assertEquals(bb.outDim, 12);
  assertEquals(bb.description, "ResNet[1-1-2] (legacy names)");
  assertEquals(Object.keys(bb.state).length, 2 * resnetUnits(cfg).length);
  bb.dispose();
  await rejects(
    () =>
      RESNET_BACKBONES["resnet-tiny"]({ inputShape: [16, 16, 3], rng: new Rng(0), weights: dir }),
    /holds a ResNet with blocks 1-1-2 per stage, the architecture expects 1-1 .*keras-resnet/,
  );
});

Deno.test("resnet backbone training: gradients reach every variable, BN stats move, rng is used", async () => {
  const bb = await RESNET_BACKBONES["resnet-tiny-random"]({
    inputShape: [12, 12, 3],
    rng: new Rng(2),
  });
  const x = tf.randomNormal([3, 12, 12, 3], 0, 30, "float32", 4);
  const mean0 = await bb.state["bn_conv1.moving_mean"].data();
  const rng = new Rng(9);
  const before = rng.getState();
  const vars = Object.values(bb.trainable);
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.square(bb.apply(x, { training: true, rng }))) as tf.Scalar,
    vars,
  );
  assert((await value.data())[0] > 0);
  for (const [name, v] of Object.entries(bb.trainable)) {
    const g = await tf.sum(tf.abs(grads[v.name])).data();
    assert(g[0] > 0 && Number.isFinite(g[0]), `no gradient for ${name}`);
  }
  assert(JSON.stringify(rng.getState()) !== JSON.stringify(before), "augmentation draws from rng");
  const mean1 = await bb.state["bn_conv1.moving_mean"].data();
  assert(mean1.some((v, i) => v !== mean0[i]), "moving mean updated in training");
  // Evaluation is deterministic and leaves the statistics alone.
  const e1 = await bb.apply(x, { training: false, rng }).data();
  const e2 = await bb.apply(x, { training: false, rng }).data();
  assertEquals(e1, e2);
  assertEquals(await bb.state["bn_conv1.moving_mean"].data(), mean1);
  tf.dispose([x, value, ...Object.values(grads)]);
  bb.dispose();
});

Deno.test("resnet backbone: clear errors for missing weights, weights on -random, non-image rows", async () => {
  await rejects(
    () => RESNET_BACKBONES["resnet50"]({ inputShape: [224, 224, 3], rng: new Rng(0) }),
    /needs pretrained weights: give train-dse an input 'backbone'.*resnet50-random/s,
  );
  await rejects(
    () =>
      RESNET_BACKBONES["resnet-tiny-random"]({
        inputShape: [8, 8, 3],
        rng: new Rng(0),
        weights: "/x.h5",
      }),
    /starts from random weights/,
  );
  await rejects(
    () =>
      resnetBackbone({ config: RESNET_TINY, random: true })({ inputShape: [128], rng: new Rng(0) }),
    /raw images \[n, H, W, 3\].*image-tensors/,
  );
  const empty = await Deno.makeTempDir();
  await rejects(
    () =>
      RESNET_BACKBONES["resnet-tiny"]({ inputShape: [8, 8, 3], rng: new Rng(0), weights: empty }),
    /0 \.h5 files/,
  );
});

Deno.test("conv2dFilterGrad equals the Conv2DBackpropFilter kernel (k 1/3/7, stride 1/2, same/valid)", async () => {
  const cases: [number, number, "same" | "valid", number, number][] = [
    [1, 1, "valid", 5, 5],
    [1, 2, "valid", 7, 6],
    [3, 1, "same", 6, 5],
    [3, 2, "same", 7, 8],
    [7, 2, "valid", 13, 11],
    [3, 2, "valid", 9, 9],
  ];
  for (const [k, s, pad, h, w] of cases) {
    const x = tf.randomNormal([2, h, w, 3], 0, 1, "float32", k * 10 + s) as tf.Tensor4D;
    const shape: [number, number, number, number] = [k, k, 3, 4];
    const info = tf.backend_util.computeConv2DInfo(x.shape, shape, s, 1, pad);
    const dy = tf.randomNormal(
      [2, info.outHeight, info.outWidth, 4],
      0,
      1,
      "float32",
      7,
    ) as tf.Tensor4D;
    const ref = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      strides: s,
      pad,
      dataFormat: "NHWC",
      filterShape: shape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const got = conv2dFilterGrad(x, dy, { filterShape: shape, strides: s, pad });
    assertEquals(got.shape, shape);
    const [a, b] = [await got.data(), await ref.data()];
    for (let i = 0; i < a.length; i++) {
      assert(
        Math.abs(a[i] - b[i]) < 1e-4 * (1 + Math.abs(b[i])),
        `k${k} s${s} ${pad}: ${a[i]} vs ${b[i]}`,
      );
    }
    tf.dispose([x, dy, ref, got]);
  }
});

Deno.test("registerMatMulConvGrad: tf.grads of conv2d match the kernel-based gradients", async () => {
  const x = tf.randomNormal([2, 9, 9, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 3, 5], 0, 1, "float32", 2) as tf.Tensor4D;
  const loss = (a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"))) as tf.Scalar;
  const dFilterRef = await (tf.engine().runKernel(
    "Conv2DBackpropFilter",
    {
      x,
      dy: tf.mul(2, tf.conv2d(x, f, 2, "same")),
    },
    {
      strides: 2,
      pad: "same",
      dataFormat: "NHWC",
      filterShape: f.shape,
    } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor)
    .data();
  const dxRef = tf.engine().runKernel("Conv2DBackpropInput", {
    dy: tf.mul(2, tf.conv2d(x, f, 2, "same")),
    filter: f,
  }, {
    strides: 2,
    pad: "same",
    dataFormat: "NHWC",
    inputShape: x.shape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  registerMatMulConvGrad();
  const [dx, df] = tf.grads(loss)([x, f]);
  assertEquals(await dx.data(), await dxRef.data());
  const got = await df.data();
  for (let i = 0; i < got.length; i++) {
    assert(Math.abs(got[i] - dFilterRef[i]) < 1e-3 * (1 + Math.abs(dFilterRef[i])));
  }
});
