import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import {
  ALEXNET,
  buildAlexNet,
  readOnnxAlexNet,
  readOnnxInitializers,
} from "../../../stages/nn/alexnet.ts";
import { onnxBytes, tinyAlexNetTensors } from "../../helpers/fixtures_raw.ts";

await tf.setBackend("cpu");

type T3 = { d: Float64Array; h: number; w: number; c: number };

function convRef(
  x: T3,
  w: { dims: number[]; data: Float32Array },
  b: Float32Array,
  stride: number,
  pad: number,
): T3 {
  const [o, ci, k] = w.dims;
  const groups = x.c / ci;
  const og = o / groups;
  const h = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const wd = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const d = new Float64Array(h * wd * o);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < wd; j++) {
      for (let f = 0; f < o; f++) {
        const g = Math.floor(f / og);
        let s = b[f];
        for (let c = 0; c < ci; c++) {
          for (let a = 0; a < k; a++) {
            for (let bb = 0; bb < k; bb++) {
              const y = i * stride + a - pad;
              const xx = j * stride + bb - pad;
              if (y < 0 || xx < 0 || y >= x.h || xx >= x.w) continue;
              s += x.d[(y * x.w + xx) * x.c + g * ci + c] * w.data[((f * ci + c) * k + a) * k + bb];
            }
          }
        }
        d[(i * wd + j) * o + f] = Math.max(0, s);
      }
    }
  }
  return { d, h, w: wd, c: o };
}

function lrnRef(x: T3): T3 {
  const d = x.d.map((v, idx) => {
    const c = idx % x.c;
    let s = 0;
    for (let q = Math.max(0, c - 2); q <= Math.min(x.c - 1, c + 2); q++) s += x.d[idx - c + q] ** 2;
    return v / Math.pow(1 + (1e-4 / 5) * s, 0.75);
  });
  return { ...x, d };
}

function poolRef(x: T3): T3 {
  const h = Math.ceil((x.h - 3) / 2) + 1;
  const w = Math.ceil((x.w - 3) / 2) + 1;
  const d = new Float64Array(h * w * x.c);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let c = 0; c < x.c; c++) {
        let m = -Infinity;
        for (let a = 0; a < 3; a++) {
          for (let b = 0; b < 3; b++) {
            const y = 2 * i + a;
            const xx = 2 * j + b;
            if (y < x.h && xx < x.w) m = Math.max(m, x.d[(y * x.w + xx) * x.c + c]);
          }
        }
        d[(i * w + j) * x.c + c] = m;
      }
    }
  }
  return { d, h, w, c: x.c };
}

Deno.test("alexnet: ONNX initialisers parse (raw_data and float_data)", () => {
  const ts = tinyAlexNetTensors();
  const got = readOnnxInitializers(onnxBytes(ts));
  assert.deepStrictEqual(got.map((t) => [t.name, t.dims]), ts.map((t) => [t.name, t.dims]));
  for (let i = 0; i < ts.length; i++) assert.deepStrictEqual(got[i].data, ts[i].data);
  const w = readOnnxAlexNet(onnxBytes(ts));
  assert.deepStrictEqual(w.config, { channels: [4, 4, 6, 6, 4], fc6: 8, pool5: 6 });
  assert.strictEqual(w.fc6.b.name, "fc6_b_0");
  assert.deepStrictEqual(ALEXNET.channels, [96, 256, 384, 384, 256]);
  assert.throws(() => readOnnxAlexNet(onnxBytes(ts.slice(0, 6))), /found 3 conv kernels/);
  assert.throws(() => readOnnxInitializers(new Uint8Array([8, 7])), /no graph/);
});

for (const size of [227, 224]) {
  Deno.test(`alexnet: conv1 and the fc6 output match a hand reference (${size} input)`, async () => {
    const ts = tinyAlexNetTensors();
    const net = buildAlexNet(readOnnxAlexNet(onnxBytes(ts)), { inputSize: size });
    const x: T3 = {
      d: Float64Array.from({ length: size * size * 3 }, (_, i) => Math.sin(i * 0.013) * 60),
      h: size,
      w: size,
      c: 3,
    };
    const get = (n: string) => ts.find((t) => t.name === n)!;
    const c1 = convRef(x, get("conv1_w_0"), get("conv1_b_0").data, 4, 0);
    const xt = tf.tensor4d(Float32Array.from(x.d), [1, size, size, 3]);
    const l1 = net.layer(xt, "conv1");
    assert.deepStrictEqual(l1.shape, [1, c1.h, c1.w, 4]);
    const l1d = l1.dataSync();
    for (let i = 0; i < l1d.length; i++) {
      assert.ok(Math.abs(l1d[i] - c1.d[i]) < 1e-3 * (1 + Math.abs(c1.d[i])));
    }
    let h = poolRef(lrnRef(c1));
    h = poolRef(lrnRef(convRef(h, get("conv2_w_0"), get("conv2_b_0").data, 1, 2)));
    h = convRef(h, get("conv3_w_0"), get("conv3_b_0").data, 1, 1);
    h = convRef(h, get("conv4_w_0"), get("conv4_b_0").data, 1, 1);
    h = poolRef(convRef(h, get("conv5_w_0"), get("conv5_b_0").data, 1, 1));
    assert.deepStrictEqual([h.h, h.w], [6, 6]);
    const fc = get("fc6_w_0");
    const want = new Float64Array(8);
    for (let o = 0; o < 8; o++) {
      let s = get("fc6_b_0").data[o];
      // ONNX flattens NCHW: index c·36 + i·6 + j.
      for (let c = 0; c < 4; c++) {
        for (let p = 0; p < 36; p++) s += h.d[p * 4 + c] * fc.data[o * 144 + c * 36 + p];
      }
      want[o] = Math.max(0, s);
    }
    const out = await net.run(Float32Array.from(x.d), 1);
    assert.strictEqual(out.length, 8);
    for (let o = 0; o < 8; o++) {
      assert.ok(
        Math.abs(out[o] - want[o]) < 1e-3 * (1 + Math.abs(want[o])),
        `fc6[${o}] ${out[o]} vs ${want[o]}`,
      );
    }
    assert.ok(want.some((v) => v > 0), "reference is not all zero");
    tf.dispose([xt, l1]);
    net.dispose();
  });
}
