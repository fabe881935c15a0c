import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  type BnWeights,
  buildResNet,
  type ConvWeights,
  describeResNet,
  detectKerasNaming,
  randomResNetWeights,
  readKerasResNetArchitecture,
  readKerasResNetWeights,
  RESNET50_LEGACY,
  RESNET50_TF2,
  type ResNetConfig,
  resnetLayout,
  resnetUnits,
  type ResNetWeights,
} from "../../../stages/nn/resnet.ts";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { writeKerasH5 } from "../../helpers/fixtures_raw.ts";

await tf.setBackend("cpu");

const SMALL: ResNetConfig = {
  stemFilters: 4,
  stages: [
    { blocks: 2, filters: [2, 3, 6], stride: 1 },
    { blocks: 1, filters: [3, 2, 5], stride: 2 },
  ],
  naming: "legacy",
  epsilon: 1e-3,
  poolPad: false,
  inChannels: 3,
};

Deno.test("resnet: ResNet-50 layout has Keras's names and 23,587,712 parameters", () => {
  for (const cfg of [RESNET50_LEGACY, RESNET50_TF2]) {
    const units = resnetUnits(cfg);
    assert.strictEqual(units.length, 53);
    let params = 0;
    for (const u of units) params += u.k * u.k * u.cin * u.cout + u.cout + 4 * u.cout;
    assert.strictEqual(params, 23_587_712); // keras ResNet50(include_top=False).count_params()
  }
  const legacy = resnetUnits(RESNET50_LEGACY).flatMap((u) => [u.conv, u.bn]);
  for (const n of ["conv1", "bn_conv1", "res2a_branch1", "bn4f_branch2c", "res5c_branch2c"]) {
    assert.ok(legacy.includes(n), n);
  }
  const tf2 = resnetUnits(RESNET50_TF2).flatMap((u) => [u.conv, u.bn]);
  for (const n of ["conv1_conv", "conv1_bn", "conv2_block1_0_conv", "conv4_block6_3_bn"]) {
    assert.ok(tf2.includes(n), n);
  }
  const { blocks } = resnetLayout(RESNET50_LEGACY);
  assert.deepStrictEqual(blocks.map((b) => b.units[0].stride).filter((s) => s === 2).length, 3);
});

/** Naive NHWC conv with 'valid' padding (input already padded) or 'same' for odd k, stride 1. */
function conv(
  x: Float64Array,
  [h, w, c]: number[],
  cw: ConvWeights,
  stride: number,
  same: boolean,
): { y: Float64Array; shape: number[] } {
  const [k, , , o] = cw.shape;
  const p = same ? (k - 1) / 2 : 0;
  const oh = Math.floor((h + 2 * p - k) / stride) + 1;
  const ow = Math.floor((w + 2 * p - k) / stride) + 1;
  const y = new Float64Array(oh * ow * o);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      for (let f = 0; f < o; f++) {
        let s = cw.bias[f];
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const yi = i * stride + a - p;
            const xj = j * stride + b - p;
            if (yi < 0 || xj < 0 || yi >= h || xj >= w) continue;
            for (let ch = 0; ch < c; ch++) {
              s += x[(yi * w + xj) * c + ch] * cw.kernel[((a * k + b) * c + ch) * o + f];
            }
          }
        }
        y[(i * ow + j) * o + f] = s;
      }
    }
  }
  return { y, shape: [oh, ow, o] };
}

function bn(y: Float64Array, b: BnWeights, eps: number, relu: boolean): Float64Array {
  const o = b.gamma.length;
  return y.map((v, i) => {
    const f = i % o;
    const r = (v - b.mean[f]) / Math.sqrt(b.variance[f] + eps) * b.gamma[f] + b.beta[f];
    return relu ? Math.max(0, r) : r;
  });
}

function pad(x: Float64Array, [h, w, c]: number[], p: number): Float64Array {
  const out = new Float64Array((h + 2 * p) * (w + 2 * p) * c);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let ch = 0; ch < c; ch++) {
        out[((i + p) * (w + 2 * p) + j + p) * c + ch] = x[(i * w + j) * c + ch];
      }
    }
  }
  return out;
}

function reference(x: Float64Array, shape: number[], wts: ResNetWeights, cfg: ResNetConfig) {
  const { stem, blocks } = resnetLayout(cfg);
  const unit = (v: Float64Array, s: number[], u: typeof stem, relu: boolean) => {
    const r = conv(v, s, wts.get(u.conv) as ConvWeights, u.stride, u.k === 3);
    return { y: bn(r.y, wts.get(u.bn) as BnWeights, cfg.epsilon, relu), shape: r.shape };
  };
  const p = pad(x, shape, 3);
  const st = unit(p, [shape[0] + 6, shape[1] + 6, shape[2]], stem, true);
  // max pool 3x3 / 2, valid
  const [h, w, c] = st.shape;
  const oh = Math.floor((h - 3) / 2) + 1;
  const ow = Math.floor((w - 3) / 2) + 1;
  let cur = new Float64Array(oh * ow * c);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      for (let ch = 0; ch < c; ch++) {
        let m = -Infinity;
        for (let a = 0; a < 3; a++) {
          for (let b = 0; b < 3; b++) m = Math.max(m, st.y[((2 * i + a) * w + 2 * j + b) * c + ch]);
        }
        cur[(i * ow + j) * c + ch] = m;
      }
    }
  }
  let s = [oh, ow, c];
  for (const b of blocks) {
    const short = b.shortcut ? unit(cur, s, b.shortcut, false) : { y: cur, shape: s };
    const u1 = unit(cur, s, b.units[0], true);
    const u2 = unit(u1.y, u1.shape, b.units[1], true);
    const u3 = unit(u2.y, u2.shape, b.units[2], false);
    cur = u3.y.map((v, i) => Math.max(0, v + short.y[i]));
    s = u3.shape;
  }
  const out = new Float64Array(s[2]);
  for (let i = 0; i < cur.length; i++) out[i % s[2]] += cur[i] / (s[0] * s[1]);
  return { stem: st, out };
}

Deno.test("resnet: a Keras-layout .h5 loads; stem and full forward match a hand reference", async () => {
  const wts = randomResNetWeights(SMALL, 3);
  const bytes = await writeKerasH5(wts, SMALL);
  const loaded = await readKerasResNetWeights(bytes, SMALL);
  assert.strictEqual(loaded.size, wts.size);
  for (const [k, v] of wts) assert.deepStrictEqual(loaded.get(k), v, k);
  const H = 21;
  const x = Float64Array.from({ length: H * H * 3 }, (_, i) => Math.sin(i * 0.37) * 50);
  const ref = reference(x, [H, H, 3], loaded, SMALL);
  const model = buildResNet(loaded, { config: SMALL, trainable: false });
  const xt = tf.tensor4d(Float32Array.from(x), [1, H, H, 3]);
  const stem = model.stem(xt);
  assert.deepStrictEqual(stem.shape, [1, ...ref.stem.shape]);
  const sd = stem.dataSync();
  for (let i = 0; i < sd.length; i++) {
    assert.ok(Math.abs(sd[i] - ref.stem.y[i]) < 1e-3 * (1 + Math.abs(ref.stem.y[i])), `stem ${i}`);
  }
  const out = model.apply(xt);
  assert.deepStrictEqual(out.shape, [1, 5]);
  const od = out.dataSync();
  for (let i = 0; i < 5; i++) {
    assert.ok(
      Math.abs(od[i] - ref.out[i]) < 1e-3 * (1 + Math.abs(ref.out[i])),
      `out ${i}: ${od[i]} vs ${ref.out[i]}`,
    );
  }
  // The trainable graph (BN unfolded) gives the same inference output as the folded frozen one.
  const trainable = buildResNet(loaded, { config: SMALL, trainable: true });
  const out2 = trainable.apply(xt);
  const o2 = out2.dataSync();
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(o2[i] - od[i]) < 1e-3 * (1 + Math.abs(od[i])));
  tf.dispose([xt, stem, out, out2]);
  trainable.dispose();
  model.dispose();
});

Deno.test("resnet: wrong shapes and missing layers are reported by name", async () => {
  const wts = randomResNetWeights(SMALL, 1);
  const bytes = await writeKerasH5(wts, SMALL);
  const other: ResNetConfig = { ...SMALL, stemFilters: 5 };
  await assert.rejects(
    () => readKerasResNetWeights(bytes, other),
    /layer conv1 has .*expected kernel \[7,7,3,5\]/,
  );
  await assert.rejects(
    () => readKerasResNetWeights(bytes, { ...SMALL, naming: "tf2" }),
    /layer 'conv1_conv' is not in the \.h5 file/,
  );
});

Deno.test("resnet: the architecture is read back from the .h5 for both namings and any depth", async () => {
  const deep: ResNetConfig = {
    stemFilters: 6,
    stages: [
      { blocks: 3, filters: [2, 2, 4], stride: 1 },
      { blocks: 2, filters: [3, 3, 6], stride: 2 },
      { blocks: 1, filters: [2, 4, 7], stride: 2 },
    ],
    naming: "tf2",
    epsilon: 1.001e-5,
    poolPad: true,
    inChannels: 3,
  };
  for (
    const cfg of [SMALL, deep, {
      ...deep,
      naming: "legacy" as const,
      epsilon: 1e-3,
      poolPad: false,
    }]
  ) {
    const bytes = await writeKerasH5(randomResNetWeights(cfg, 2), cfg);
    assert.deepStrictEqual(await readKerasResNetArchitecture(bytes), cfg);
    assert.strictEqual(await detectKerasNaming(bytes), cfg.naming);
  }
  assert.strictEqual(describeResNet(RESNET50_LEGACY), "ResNet-50 (legacy names)");
  assert.strictEqual(describeResNet(RESNET50_TF2), "ResNet-50 (tf2 names)");
  assert.strictEqual(
    describeResNet({
      ...RESNET50_TF2,
      stages: RESNET50_TF2.stages.map((s, i) => i === 2 ? { ...s, blocks: 23 } : s),
    }),
    "ResNet-101 (tf2 names)",
  );
  assert.strictEqual(describeResNet(deep), "ResNet[3-2-1] (tf2 names)");
});

Deno.test("resnet: a weight file that is not a bottleneck ResNet is refused with what it holds", async () => {
  // Only the BN layers of the stem: no conv1, no stage-2 blocks.
  const wts = randomResNetWeights(SMALL, 1);
  const only = new Map([["bn_conv1", wts.get("bn_conv1")!]]);
  const cfg = { ...SMALL, stages: [] };
  const bytes = await writeKerasH5(only, cfg, { layers: ["bn_conv1"] });
  await assert.rejects(
    () => readKerasResNetArchitecture(bytes),
    /not a Keras bottleneck ResNet \(no 'conv1' layer or no stage-2 blocks among 1 layers: bn_conv1/,
  );
});

Deno.test("resnet: trainable graph gives gradients for every variable; BN stats update", () => {
  registerGradients();
  const model = buildResNet(randomResNetWeights(SMALL, 9), { config: SMALL });
  const x = tf.randomNormal([2, 17, 17, 3], 0, 30, "float32", 1) as tf.Tensor4D;
  const { value, grads } = tf.variableGrads(() =>
    tf.sum(tf.square(model.apply(x, { training: true }))) as tf.Scalar
  );
  assert.strictEqual(Object.keys(grads).length, model.trainable.length);
  for (const v of model.trainable) {
    const g = grads[v.name];
    assert.ok(g !== undefined, v.name);
    assert.ok(
      tf.sum(tf.abs(g)).dataSync()[0] > 0 || v.name.includes("beta"),
      `zero grad ${v.name}`,
    );
  }
  // Finite-difference check of one stem kernel weight, frozen BN.
  const f = () => tf.tidy(() => tf.sum(tf.square(model.apply(x))).dataSync()[0]);
  const k = model.trainable[0];
  const g0 = tf.tidy(() =>
    tf.variableGrads(() => tf.sum(tf.square(model.apply(x))) as tf.Scalar, [k]).grads[k.name]
      .dataSync()[5]
  );
  const orig = k.dataSync().slice();
  const h = 1e-2;
  const bump = (d: number) => {
    const v = orig.slice();
    v[5] += d;
    k.assign(tf.tensor(v, k.shape));
  };
  bump(h);
  const fp = f();
  bump(-h);
  const fm = f();
  bump(0);
  const fd = (fp - fm) / (2 * h);
  assert.ok(
    Math.abs(fd - g0) < 0.03 * Math.abs(fd) + 1e-3,
    `grad ${g0} vs finite difference ${fd}`,
  );
  const before = model.movingStats[0].dataSync().slice();
  tf.tidy(() => model.apply(x, { training: true, updateStats: true }));
  assert.notDeepStrictEqual(model.movingStats[0].dataSync(), before);
  tf.dispose([x, value, ...Object.values(grads)]);
  model.dispose();
});
