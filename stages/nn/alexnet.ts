/**
 * AlexNet fc6 features (4096-d) from the ONNX model zoo's `bvlcalexnet` (the BVLC Caffe AlexNet
 * converted to ONNX): a minimal protobuf reader pulls the graph initialisers out of the `.onnx`
 * file, and a tfjs AlexNet built from ops runs them.
 *
 * Why this source: it is the BVLC reference model the 2012–2017 cross-modal papers used (Caffe
 * "fc6"/"fc7" features), it is public under a permissive licence, it is a single file with all
 * weights as initialisers, and ONNX protobuf is simple to read without a runtime. The Caffe
 * original (`bvlc_alexnet.caffemodel`) would need a Caffe protobuf schema too.
 *
 * Architecture (Caffe): conv1 96×11×11/4 → ReLU → LRN(5, 1e-4, 0.75) → max 3/2 → conv2 256×5×5
 * pad 2, group 2 → ReLU → LRN → max 3/2 → conv3 384×3×3 pad 1 → ReLU → conv4 384×3×3 pad 1 group 2
 * → ReLU → conv5 256×3×3 pad 1 group 2 → ReLU → max 3/2 → fc6 4096 (→ ReLU, in-place in Caffe,
 * so the "fc6" blob is rectified). Pooling rounds up (Caffe), so 224 and 227 inputs both reach
 * 6×6 at pool5.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Tensor4D } from "./tensor.ts";
import type { FeatureExtractor } from "./extractor.ts";

/** One initialiser of an ONNX graph. */
export interface OnnxTensor {
  /** Initialiser name. */
  name: string;
  /** Shape. */
  dims: number[];
  /** Values (float32 only). */
  data: Float32Array;
}

class Pb {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error("onnx: corrupt protobuf varint");
  }
  /** Iterate fields: [field number, wire type, value | sub-reader]. */
  *fields(): Generator<[number, number, number | Uint8Array]> {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) yield [field, wire, this.varint()];
      else if (wire === 2) {
        const len = this.varint();
        if (this.pos + len > this.end) throw new Error("onnx: truncated protobuf field");
        yield [field, wire, this.buf.subarray(this.pos, this.pos + len)];
        this.pos += len;
      } else if (wire === 5) {
        yield [field, wire, this.buf.subarray(this.pos, this.pos + 4)];
        this.pos += 4;
      } else if (wire === 1) {
        yield [field, wire, this.buf.subarray(this.pos, this.pos + 8)];
        this.pos += 8;
      } else throw new Error(`onnx: unsupported protobuf wire type ${wire}`);
    }
  }
}

function parseTensor(bytes: Uint8Array): OnnxTensor {
  const dims: number[] = [];
  let name = "";
  let dataType = 1;
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  let external = false;
  for (const [f, wire, v] of new Pb(bytes).fields()) {
    if (f === 1) {
      if (wire === 0) dims.push(v as number);
      else {
        const r = new Pb(v as Uint8Array);
        while (r.pos < r.end) dims.push(r.varint());
      }
    } else if (f === 2) dataType = v as number;
    else if (f === 4) {
      const b = v as Uint8Array;
      const copy = b.slice();
      const fa = new Float32Array(copy.buffer, 0, copy.length >> 2);
      for (const x of fa) floats.push(x);
    } else if (f === 8) name = new TextDecoder().decode(v as Uint8Array);
    else if (f === 9) raw = v as Uint8Array;
    else if (f === 14 && v === 1) external = true;
  }
  if (external) throw new Error(`onnx: initialiser ${name} uses external data; not supported`);
  if (dataType !== 1) {
    throw new Error(`onnx: initialiser ${name} has data type ${dataType}, not float`);
  }
  const data = raw !== null
    ? new Float32Array(raw.slice().buffer, 0, raw.length >> 2)
    : Float32Array.from(floats);
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) {
    throw new Error(`onnx: initialiser ${name} has ${data.length} values for shape [${dims}]`);
  }
  return { name, dims, data };
}

/** All float initialisers of an ONNX model (ModelProto.graph.initializer), in file order. */
export function readOnnxInitializers(bytes: Uint8Array): OnnxTensor[] {
  const out: OnnxTensor[] = [];
  let graphs = 0;
  for (const [f, , v] of new Pb(bytes).fields()) {
    if (f !== 7) continue;
    graphs++;
    for (const [g, , w] of new Pb(v as Uint8Array).fields()) {
      if (g === 5) out.push(parseTensor(w as Uint8Array));
    }
  }
  if (graphs === 0) throw new Error("onnx: no graph in the file; is it an ONNX model?");
  return out;
}

/** Channel widths of an AlexNet (the real one: {@link ALEXNET}). */
export interface AlexNetConfig {
  /** Output channels of conv1..conv5. */
  channels: [number, number, number, number, number];
  /** fc6 width. */
  fc6: number;
  /** Spatial side at pool5 (6 for 224/227 inputs). */
  pool5: number;
}

/** BVLC AlexNet. */
export const ALEXNET: AlexNetConfig = { channels: [96, 256, 384, 384, 256], fc6: 4096, pool5: 6 };

/** The weights an AlexNet fc6 needs, Caffe/ONNX layouts (OIHW kernels, fc6 [out, in] NCHW-flat). */
export interface AlexNetWeights {
  /** Architecture. */
  config: AlexNetConfig;
  /** conv1..conv5 kernels (OIHW) and biases. */
  conv: { w: OnnxTensor; b: OnnxTensor }[];
  /** fc6 weight, [fc6, C·6·6] (or transposed [C·6·6, fc6]) and bias. */
  fc6: { w: OnnxTensor; b: OnnxTensor };
}

/**
 * Pick AlexNet's conv1..conv5 and fc6 weights out of ONNX bytes: kernels are the rank-4
 * initialisers in file order, fc6 the first rank-2 one; each bias is found by name (`_w` → `_b`,
 * `W` → `B`, `weight` → `bias`) or else is the next rank-1 initialiser of the right length.
 */
export function readOnnxAlexNet(bytes: Uint8Array): AlexNetWeights {
  const all = readOnnxInitializers(bytes);
  const byName = new Map(all.map((t) => [t.name, t]));
  const biasOf = (w: OnnxTensor, out: number): OnnxTensor => {
    for (
      const cand of [
        w.name.replace(/_w(_|$)/, "_b$1"),
        w.name.replace(/W$/, "B"),
        w.name.replace(/weight$/, "bias"),
      ]
    ) {
      const t = byName.get(cand);
      if (cand !== w.name && t && t.dims.length === 1 && t.dims[0] === out) return t;
    }
    const i = all.indexOf(w);
    const t = all.slice(i + 1).find((x) => x.dims.length === 1 && x.dims[0] === out);
    if (!t) throw new Error(`onnx alexnet: no bias for ${w.name}`);
    return t;
  };
  const kernels = all.filter((t) => t.dims.length === 4);
  const fcs = all.filter((t) => t.dims.length === 2);
  if (kernels.length < 5 || fcs.length < 1) {
    throw new Error(
      `onnx alexnet: found ${kernels.length} conv kernels and ${fcs.length} fc weights; ` +
        `expected ≥ 5 and ≥ 1 (is this bvlcalexnet?)`,
    );
  }
  const conv = kernels.slice(0, 5).map((w) => ({ w, b: biasOf(w, w.dims[0]) }));
  const channels = conv.map((c) => c.w.dims[0]) as AlexNetConfig["channels"];
  const c5 = channels[4];
  const fw = fcs[0];
  const fcOut = fw.dims[1] % c5 === 0 && fw.dims[0] % c5 !== 0 ? fw.dims[1] : fw.dims[0];
  const flat = fcOut === fw.dims[0] ? fw.dims[1] : fw.dims[0];
  const pool5 = Math.round(Math.sqrt(flat / c5));
  if (pool5 * pool5 * c5 !== flat) {
    throw new Error(`onnx alexnet: fc6 input ${flat} is not conv5 channels ${c5} × side²`);
  }
  return {
    config: { channels, fc6: fcOut, pool5 },
    conv,
    fc6: { w: fw, b: biasOf(fw, fcOut) },
  };
}

/** Caffe's ceil-mode max pool 3/2 on non-negative NHWC input (pads bottom/right with zeros). */
function caffeMaxPool(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const oh = Math.ceil((h - 3) / 2) + 1;
  const ow = Math.ceil((w - 3) / 2) + 1;
  const ph = (oh - 1) * 2 + 3 - h;
  const pw = (ow - 1) * 2 + 3 - w;
  const p = ph > 0 || pw > 0 ? tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) as tf.Tensor4D : x;
  return tf.maxPool(p, 3, 2, "valid");
}

/** Caffe LRN across 5 channels (k = 1, α = 1e-4, β = 0.75) from element-wise ops. */
export function caffeLrn(x: Tensor4D): Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const sq = tf.pad(tf.square(x), [[0, 0], [0, 0], [0, 0], [2, 2]]);
    let s = tf.slice(sq, [0, 0, 0, 0], [-1, -1, -1, c]);
    for (let i = 1; i < 5; i++) s = tf.add(s, tf.slice(sq, [0, 0, 0, i], [-1, -1, -1, c]));
    return tf.div(x, tf.pow(tf.add(tf.mul(s, 1e-4 / 5), 1), 0.75)) as tf.Tensor4D;
  });
}

/** Build the AlexNet fc6 extractor (frozen). `relu` rectifies fc6 as Caffe's in-place relu6. */
export function buildAlexNet(
  weights: AlexNetWeights,
  options: { inputSize?: number; relu?: boolean } = {},
): FeatureExtractor & { layer(x: Tensor4D, name: "conv1" | "conv2"): Tensor4D } {
  const size = options.inputSize ?? 227;
  const relu = options.relu ?? true;
  const kernels = weights.conv.map((c) => {
    const [o, i, kh, kw] = c.w.dims;
    const t = tf.tensor4d(c.w.data, [o, i, kh, kw]);
    const hwio = tf.transpose(t, [2, 3, 1, 0]) as tf.Tensor4D;
    t.dispose();
    return { w: hwio, b: tf.tensor1d(c.b.data) };
  });
  // Groups follow from the kernel's input channels vs the incoming channels.
  const inCh = [3, ...weights.config.channels.slice(0, 4)];
  const groups = kernels.map((k, i) => inCh[i] / k.w.shape[2]);
  const strides = [4, 1, 1, 1, 1];
  const pads = [0, 2, 1, 1, 1];
  const fcW = weights.fc6.w;
  const fcOut = weights.config.fc6;
  const w6 = fcW.dims[0] === fcOut
    ? tf.tensor2d(fcW.data, [fcW.dims[0], fcW.dims[1]])
    : tf.transpose(tf.tensor2d(fcW.data, [fcW.dims[0], fcW.dims[1]]));
  const b6 = tf.tensor1d(weights.fc6.b.data);
  const conv = (x: tf.Tensor4D, i: number): tf.Tensor4D => {
    const p = pads[i];
    const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) as tf.Tensor4D : x;
    const k = kernels[i];
    let y: tf.Tensor4D;
    if (groups[i] === 1) y = tf.conv2d(xp, k.w, strides[i], "valid");
    else {
      const g = groups[i];
      const ci = xp.shape[3] / g;
      const co = k.w.shape[3] / g;
      const parts = [];
      for (let j = 0; j < g; j++) {
        const xs = tf.slice(xp, [0, 0, 0, j * ci], [-1, -1, -1, ci]);
        const ks = tf.slice(k.w, [0, 0, 0, j * co], [-1, -1, -1, co]);
        parts.push(tf.conv2d(xs as tf.Tensor4D, ks as tf.Tensor4D, strides[i], "valid"));
      }
      y = tf.concat(parts, 3);
    }
    return tf.relu(tf.add(y, k.b)) as tf.Tensor4D;
  };
  const forward = (x: tf.Tensor4D): tf.Tensor2D => {
    let h = caffeMaxPool(caffeLrn(conv(x, 0)));
    h = caffeMaxPool(caffeLrn(conv(h, 1)));
    h = caffeMaxPool(conv(conv(conv(h, 2), 3), 4));
    const [n, hh, ww, c] = h.shape;
    if (hh !== weights.config.pool5 || ww !== weights.config.pool5) {
      throw new Error(
        `alexnet: pool5 is ${hh}×${ww}, fc6 expects ${weights.config.pool5}²; use a 224 or 227 input`,
      );
    }
    const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [n, c * hh * ww]) as tf.Tensor2D;
    const y = tf.add(tf.matMul(flat, w6, false, true), b6) as tf.Tensor2D;
    return relu ? tf.relu(y) : y;
  };
  return {
    name: "alexnet-fc6-bvlc-onnx",
    inputSize: size,
    outDim: fcOut,
    async run(batch, n) {
      const y = tf.tidy(() =>
        forward(tf.tensor4d(batch.subarray(0, n * size * size * 3), [n, size, size, 3]))
      );
      const out = (await y.data()) as Float32Array;
      y.dispose();
      return out;
    },
    layer(x, name) {
      return tf.tidy(() => {
        const c1 = conv(x, 0);
        if (name === "conv1") return c1;
        return conv(caffeMaxPool(caffeLrn(c1)), 1);
      });
    },
    dispose() {
      for (const k of kernels) tf.dispose([k.w, k.b]);
      tf.dispose([w6, b6]);
    },
  };
}
