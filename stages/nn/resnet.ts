/**
 * ResNet-50 (and smaller ResNets of the same shape) built from tfjs ops, with weights mapped layer
 * by layer from a Keras Applications `.h5` file (e.g.
 * `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`).
 *
 * Two Keras naming schemes exist, and both are read:
 * - **legacy** (keras 2.0–2.2, `keras_applications/resnet50.py`, the file of the 2017 paper):
 *   `conv1`, `bn_conv1`, `res2a_branch2a`, `bn2a_branch2a`, …, shortcut `res2a_branch1`;
 *   BatchNormalization ε = 1e-3.
 * - **tf2** (`tf.keras.applications.resnet`): `conv1_conv`, `conv1_bn`,
 *   `conv2_block1_1_conv`, `conv2_block1_1_bn`, …, shortcut `conv2_block1_0_conv`; ε = 1.001e-5.
 *
 * Inside each layer group the weights are taken in the order of its `weight_names` attribute
 * (Keras saves conv as [kernel, bias], BN as [gamma, beta, moving_mean, moving_variance]), so the
 * per-weight names (`kernel:0`, `conv1_W:0`, …) do not matter.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Tensor2D, Tensor4D, Variable } from "./tensor.ts";
import type H5wasm from "h5wasm";

type H5File = InstanceType<typeof H5wasm.File>;
type H5Group = InstanceType<typeof H5wasm.Group>;

/** h5wasm, imported by the first {@link openH5} (not when the stage registry loads). */
let h5wasmLib: typeof H5wasm | undefined;

/** The loaded h5wasm; every caller holds a file from {@link openH5}, which loaded it. */
function h5(): typeof H5wasm {
  if (!h5wasmLib) throw new Error("resnet weights: h5wasm used before openH5");
  return h5wasmLib;
}

/** One residual stage: `blocks` bottleneck blocks with filters [f1, f2, f3]; first block strided. */
export interface ResNetStage {
  /** Number of bottleneck blocks. */
  blocks: number;
  /** Filters of the 1×1, 3×3, 1×1 convolutions. */
  filters: [number, number, number];
  /** Stride of the first block (on its first 1×1 conv and the shortcut). */
  stride: number;
}

/** Architecture of a Keras-style bottleneck ResNet. */
export interface ResNetConfig {
  /** Filters of the 7×7 stem convolution. */
  stemFilters: number;
  /** The residual stages (Keras stages 2, 3, …). */
  stages: ResNetStage[];
  /** Layer naming scheme of the weight file. */
  naming: "legacy" | "tf2";
  /** BatchNormalization epsilon. */
  epsilon: number;
  /**
   * Pad by 1 before the 3×3/2 max pool (keras ≥ 2.2 / tf2). Keras 2.0–2.1, the version of the
   * 2017 paper, pooled without padding (55×55 after the pool instead of 56×56).
   */
  poolPad: boolean;
  /** Input channels (3). */
  inChannels: number;
}

/** ResNet-50 as in keras 2.0 (`legacy` names, ε = 1e-3, no pool padding). */
export const RESNET50_LEGACY: ResNetConfig = {
  stemFilters: 64,
  stages: [
    { blocks: 3, filters: [64, 64, 256], stride: 1 },
    { blocks: 4, filters: [128, 128, 512], stride: 2 },
    { blocks: 6, filters: [256, 256, 1024], stride: 2 },
    { blocks: 3, filters: [512, 512, 2048], stride: 2 },
  ],
  naming: "legacy",
  epsilon: 1e-3,
  poolPad: false,
  inChannels: 3,
};

/** ResNet-50 as in tf.keras (`tf2` names, ε = 1.001e-5, pool padding). */
export const RESNET50_TF2: ResNetConfig = {
  ...RESNET50_LEGACY,
  naming: "tf2",
  epsilon: 1.001e-5,
  poolPad: true,
};

/** A conv layer's weights: kernel HWIO and bias. */
export interface ConvWeights {
  /** Kernel, [kh, kw, in, out] (Keras/TF layout). */
  kernel: Float32Array;
  /** Kernel shape. */
  shape: [number, number, number, number];
  /** Bias, length out. */
  bias: Float32Array;
}

/** A BatchNormalization layer's weights. */
export interface BnWeights {
  /** Scale γ. */
  gamma: Float32Array;
  /** Offset β. */
  beta: Float32Array;
  /** Moving mean. */
  mean: Float32Array;
  /** Moving variance. */
  variance: Float32Array;
}

/** All weights of a ResNet by Keras layer name. */
export type ResNetWeights = Map<string, ConvWeights | BnWeights>;

/** One conv + BN unit of the network, with its Keras layer names. */
export interface ResNetUnit {
  /** Conv layer name. */
  conv: string;
  /** BN layer name. */
  bn: string;
  /** Kernel size. */
  k: number;
  /** Input channels. */
  cin: number;
  /** Output channels. */
  cout: number;
  /** Stride. */
  stride: number;
}

/** A bottleneck block: three units and an optional projection shortcut. */
export interface ResNetBlock {
  /** The 1×1, 3×3, 1×1 units. */
  units: [ResNetUnit, ResNetUnit, ResNetUnit];
  /** The projection shortcut (first block of a stage). */
  shortcut: ResNetUnit | null;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** The stem unit and the blocks of `config`, with the layer names of its naming scheme. */
export function resnetLayout(config: ResNetConfig): { stem: ResNetUnit; blocks: ResNetBlock[] } {
  const legacy = config.naming === "legacy";
  const stem: ResNetUnit = {
    conv: legacy ? "conv1" : "conv1_conv",
    bn: legacy ? "bn_conv1" : "conv1_bn",
    k: 7,
    cin: config.inChannels,
    cout: config.stemFilters,
    stride: 2,
  };
  const blocks: ResNetBlock[] = [];
  let cin = config.stemFilters;
  config.stages.forEach((st, si) => {
    const s = si + 2;
    for (let b = 0; b < st.blocks; b++) {
      const stride = b === 0 ? st.stride : 1;
      const name = (branch: string) =>
        legacy
          ? {
            conv: `res${s}${LETTERS[b]}_branch${branch}`,
            bn: `bn${s}${LETTERS[b]}_branch${branch}`,
          }
          : {
            conv: `conv${s}_block${b + 1}_${{ "2a": 1, "2b": 2, "2c": 3, "1": 0 }[branch]}_conv`,
            bn: `conv${s}_block${b + 1}_${{ "2a": 1, "2b": 2, "2c": 3, "1": 0 }[branch]}_bn`,
          };
      const [f1, f2, f3] = st.filters;
      blocks.push({
        units: [
          { ...name("2a"), k: 1, cin, cout: f1, stride },
          { ...name("2b"), k: 3, cin: f1, cout: f2, stride: 1 },
          { ...name("2c"), k: 1, cin: f2, cout: f3, stride: 1 },
        ],
        shortcut: b === 0 ? { ...name("1"), k: 1, cin, cout: f3, stride } : null,
      });
      cin = f3;
    }
  });
  return { stem, blocks };
}

/** Every conv/BN unit of `config` in forward order. */
export function resnetUnits(config: ResNetConfig): ResNetUnit[] {
  const { stem, blocks } = resnetLayout(config);
  const out = [stem];
  for (const b of blocks) {
    out.push(...b.units);
    if (b.shortcut) out.push(b.shortcut);
  }
  return out;
}

type H5Module = { FS: { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void } };

let h5Counter = 0;

/** Open HDF5 bytes with h5wasm (through its in-memory file system); call `close()` when done. */
async function openH5(bytes: Uint8Array): Promise<{ file: H5File; close(): void }> {
  h5wasmLib ??= (await import("h5wasm")).default;
  const h5wasm = h5wasmLib;
  const M = (await h5wasm.ready) as unknown as H5Module;
  const name = `/tmp_weights_${Date.now()}_${h5Counter++}.h5`;
  M.FS.writeFile(name, bytes);
  const file = new h5wasm.File(name, "r");
  return {
    file,
    close() {
      file.close();
      M.FS.unlink(name);
    },
  };
}

function layerGroup(file: H5File, layer: string): H5Group | null {
  for (const p of [layer, `model_weights/${layer}`]) {
    const g = file.get(p);
    if (g instanceof h5().Group) return g;
  }
  return null;
}

function layerDatasets(file: H5File, layer: string): InstanceType<typeof H5wasm.Dataset>[] {
  const g = layerGroup(file, layer);
  if (g === null) {
    throw new Error(
      `weights: layer '${layer}' is not in the .h5 file; is it a Keras ResNet file of the ` +
        `expected naming (legacy: conv1/bn_conv1/res2a_branch2a, tf2: conv1_conv/conv2_block1_1_conv)?`,
    );
  }
  const attr = g.attrs["weight_names"];
  let names: string[];
  if (attr !== undefined) {
    const v = attr.value as unknown;
    names = (Array.isArray(v) ? v : [v]).map(String);
  } else {
    names = [];
    const walk = (grp: H5Group, prefix: string) => {
      for (const k of grp.keys()) {
        const c = grp.get(k);
        if (c instanceof h5().Group) walk(c, `${prefix}${k}/`);
        else if (c instanceof h5().Dataset) names.push(`${prefix}${k}`);
      }
    };
    walk(g, "");
  }
  return names.map((n) => {
    const d = g.get(n);
    if (!(d instanceof h5().Dataset)) throw new Error(`weights: ${layer}/${n} is not a dataset`);
    return d;
  });
}

function layerArrays(file: H5File, layer: string): { data: Float32Array; shape: number[] }[] {
  return layerDatasets(file, layer).map((d) => {
    const v = d.value as unknown;
    const data = v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
    return { data, shape: d.shape ?? [data.length] };
  });
}

/** The layer names of a Keras weight file (root groups, or those under `model_weights`). */
function kerasLayerNames(file: H5File): string[] {
  const keys = file.keys();
  if (!keys.includes("model_weights")) return keys;
  return (file.get("model_weights") as H5Group).keys();
}

/** The naming scheme of a layer list: `tf2` if it has a `conv1_conv` layer, else `legacy`. */
function namingOf(names: string[]): "legacy" | "tf2" {
  return names.includes("conv1_conv") ? "tf2" : "legacy";
}

/**
 * The architecture a Keras `.h5` holds, read from its layer names and kernel shapes: the naming
 * scheme (and with it ε and pool padding: keras 2.0 or tf.keras), the stem width, and per stage
 * the number of bottleneck blocks and the filters of the first block. ResNet-50, -101 and -152
 * files of either naming give their own configs; stage 2 has stride 1, later stages 2 (as in
 * every Keras ResNet). Throws, naming what is missing, when the file is not a bottleneck ResNet.
 */
export async function readKerasResNetArchitecture(bytes: Uint8Array): Promise<ResNetConfig> {
  const h5 = await openH5(bytes);
  try {
    return inferArchitecture(h5.file);
  } finally {
    h5.close();
  }
}

function inferArchitecture(file: H5File): ResNetConfig {
  const names = kerasLayerNames(file);
  const naming = namingOf(names);
  const pattern = naming === "tf2"
    ? /^conv(\d+)_block(\d+)_[0-3]_conv$/
    : /^res(\d+)([a-z]\d*)_branch(?:2a|2b|2c|1)$/;
  const blocks = new Map<number, Set<string>>();
  for (const n of names) {
    const m = pattern.exec(n);
    if (!m) continue;
    const s = Number(m[1]);
    if (!blocks.has(s)) blocks.set(s, new Set());
    blocks.get(s)!.add(m[2]);
  }
  const stem = naming === "tf2" ? "conv1_conv" : "conv1";
  if (!names.includes(stem) || !blocks.has(2)) {
    throw new Error(
      `weights: not a Keras bottleneck ResNet (no '${stem}' layer or no stage-2 blocks among ` +
        `${names.length} layers: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""})`,
    );
  }
  const kernelShape = (layer: string): number[] => {
    const shape = layerDatasets(file, layer)[0]?.shape ?? [];
    if (shape.length !== 4) {
      throw new Error(`weights: layer ${layer}'s kernel has shape [${shape}], expected 4-d`);
    }
    return shape;
  };
  const stemShape = kernelShape(stem);
  const stages: ResNetStage[] = [];
  for (let s = 2; blocks.has(s); s++) {
    const first = (i: number) =>
      naming === "tf2"
        ? `conv${s}_block1_${i + 1}_conv`
        : `res${s}a_branch${["2a", "2b", "2c"][i]}`;
    const filters = [0, 1, 2].map((i) => kernelShape(first(i))[3]) as [number, number, number];
    stages.push({ blocks: blocks.get(s)!.size, filters, stride: s === 2 ? 1 : 2 });
  }
  const byNaming = naming === "tf2" ? RESNET50_TF2 : RESNET50_LEGACY;
  return {
    stemFilters: stemShape[3],
    stages,
    naming,
    epsilon: byNaming.epsilon,
    poolPad: byNaming.poolPad,
    inChannels: stemShape[2],
  };
}

const STANDARD_DEPTHS: Record<string, number> = { "3,4,6,3": 50, "3,4,23,3": 101, "3,8,36,3": 152 };

/** A short name of a config: `ResNet-50 (legacy names)`, or `ResNet[1-1] (tf2 names)`. */
export function describeResNet(config: ResNetConfig): string {
  const blocks = config.stages.map((s) => s.blocks).join();
  const depth = STANDARD_DEPTHS[blocks];
  const wide = config.stemFilters === 64 && config.stages.at(-1)?.filters[2] === 2048;
  const name = depth && wide ? `ResNet-${depth}` : `ResNet[${blocks.replaceAll(",", "-")}]`;
  return `${name} (${config.naming} names)`;
}

/** Which Keras naming a `.h5` uses: `tf2` if it has a `conv1_conv` layer, else `legacy`. */
export async function detectKerasNaming(bytes: Uint8Array): Promise<"legacy" | "tf2"> {
  const h5 = await openH5(bytes);
  try {
    return namingOf(kerasLayerNames(h5.file));
  } finally {
    h5.close();
  }
}

/**
 * Read the weights of every conv/BN layer of `config` from Keras `.h5` bytes. Checks every shape
 * against the architecture and says which layer is wrong.
 */
export async function readKerasResNetWeights(
  bytes: Uint8Array,
  config: ResNetConfig,
): Promise<ResNetWeights> {
  const h5 = await openH5(bytes);
  try {
    // A deeper file of the same naming would otherwise load its first blocks silently.
    if (namingOf(kerasLayerNames(h5.file)) === config.naming) {
      const held = inferArchitecture(h5.file).stages.map((s) => s.blocks).join("-");
      const want = config.stages.map((s) => s.blocks).join("-");
      if (held !== want) {
        throw new Error(
          `weights: the .h5 holds a ResNet with blocks ${held} per stage, the architecture ` +
            `expects ${want} (${describeResNet(config)}); choose the backbone that matches the ` +
            `file (keras-resnet reads it from the file)`,
        );
      }
    }
    const out: ResNetWeights = new Map();
    for (const u of resnetUnits(config)) {
      const conv = layerArrays(h5.file, u.conv);
      const want = [u.k, u.k, u.cin, u.cout];
      if (
        conv.length !== 2 || conv[0].shape.join() !== want.join() || conv[1].data.length !== u.cout
      ) {
        throw new Error(
          `weights: layer ${u.conv} has [${conv.map((c) => `[${c.shape}]`)}], expected kernel ` +
            `[${want}] and bias [${u.cout}]; wrong architecture or naming?`,
        );
      }
      out.set(u.conv, {
        kernel: conv[0].data,
        shape: want as [number, number, number, number],
        bias: conv[1].data,
      });
      const bn = layerArrays(h5.file, u.bn);
      if (bn.length !== 4 || bn.some((a) => a.data.length !== u.cout)) {
        throw new Error(
          `weights: layer ${u.bn} should hold 4 vectors of ${u.cout} (gamma, beta, mean, variance)`,
        );
      }
      out.set(u.bn, {
        gamma: bn[0].data,
        beta: bn[1].data,
        mean: bn[2].data,
        variance: bn[3].data,
      });
    }
    return out;
  } finally {
    h5.close();
  }
}

/** Random He-initialised weights for `config` (identity BN): for tests and from-scratch runs. */
export function randomResNetWeights(config: ResNetConfig, seed: number): ResNetWeights {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: ResNetWeights = new Map();
  for (const u of resnetUnits(config)) {
    const n = u.k * u.k * u.cin * u.cout;
    const sd = Math.sqrt(2 / (u.k * u.k * u.cin));
    out.set(u.conv, {
      kernel: Float32Array.from({ length: n }, () => (rand() * 2 - 1) * sd * 1.7),
      shape: [u.k, u.k, u.cin, u.cout],
      bias: Float32Array.from({ length: u.cout }, () => (rand() - 0.5) * 0.1),
    });
    out.set(u.bn, {
      gamma: Float32Array.from({ length: u.cout }, () => 0.5 + rand()),
      beta: Float32Array.from({ length: u.cout }, () => (rand() - 0.5) * 0.2),
      mean: Float32Array.from({ length: u.cout }, () => (rand() - 0.5) * 0.2),
      variance: Float32Array.from({ length: u.cout }, () => 0.5 + rand()),
    });
  }
  return out;
}

/** A ResNet as tfjs variables: a trainable graph for fine-tuning, or a frozen feature extractor. */
export interface ResNetModel {
  /** The architecture. */
  config: ResNetConfig;
  /** Trainable variables (conv kernels and biases, BN γ and β), in forward order. */
  trainable: Variable[];
  /** Non-trainable BN moving statistics. */
  movingStats: Variable[];
  /**
   * Forward pass: NHWC input (caffe-preprocessed) → [N, C] global-average-pooled features.
   * `training: true` normalises with batch moments and, with `updateStats`, updates the moving
   * statistics (Keras momentum 0.99); otherwise the moving statistics are used (frozen BN).
   */
  apply(x: Tensor4D, options?: { training?: boolean; updateStats?: boolean }): Tensor2D;
  /** The stem alone (pad 3, conv 7×7/2, BN, ReLU; before the pool), inference mode. */
  stem(x: Tensor4D): Tensor4D;
  /** Output feature width (last stage's f3). */
  outDim: number;
  /** Release all variables. */
  dispose(): void;
}

/**
 * Build a ResNet from `weights` as tfjs variables. `trainable: false` creates them non-trainable
 * (a frozen backbone, run with BN folded into fused conv+bias+ReLU ops); with `trainable: true`
 * gradients flow through {@link ResNetModel.apply} to every trainable variable.
 * Under Deno, tfjs-core registers no gradients: call `registerGradients()` of
 * stages/nn/gradients.ts (Conv2D, MaxPool, PadV2, element-wise, Mean) before training.
 */
export function buildResNet(
  weights: ResNetWeights,
  options: { config: ResNetConfig; trainable?: boolean; momentum?: number },
): ResNetModel {
  const config = options.config;
  const trainableFlag = options.trainable ?? true;
  const momentum = options.momentum ?? 0.99;
  const { stem, blocks } = resnetLayout(config);
  const trainable: tf.Variable[] = [];
  const movingStats: tf.Variable[] = [];
  type Unit = {
    u: ResNetUnit;
    kernel: tf.Variable;
    bias: tf.Variable;
    gamma: tf.Variable;
    beta: tf.Variable;
    mean: tf.Variable;
    variance: tf.Variable;
  };
  const make = (u: ResNetUnit): Unit => {
    const c = weights.get(u.conv) as ConvWeights | undefined;
    const b = weights.get(u.bn) as BnWeights | undefined;
    if (!c || !("kernel" in c) || !b || !("gamma" in b)) {
      throw new Error(`resnet: weights for ${u.conv}/${u.bn} are missing`);
    }
    const v = (d: Float32Array, shape: number[], name: string, tr: boolean) =>
      tf.variable(tf.tensor(d, shape, "float32"), tr, `${name}_${tf.util.now()}_${Math.random()}`);
    const unit: Unit = {
      u,
      kernel: v(c.kernel, c.shape, `${u.conv}/kernel`, trainableFlag),
      bias: v(c.bias, [u.cout], `${u.conv}/bias`, trainableFlag),
      gamma: v(b.gamma, [u.cout], `${u.bn}/gamma`, trainableFlag),
      beta: v(b.beta, [u.cout], `${u.bn}/beta`, trainableFlag),
      mean: v(b.mean, [u.cout], `${u.bn}/mean`, false),
      variance: v(b.variance, [u.cout], `${u.bn}/variance`, false),
    };
    trainable.push(unit.kernel, unit.bias, unit.gamma, unit.beta);
    movingStats.push(unit.mean, unit.variance);
    return unit;
  };
  const stemU = make(stem);
  const blockU = blocks.map((b) => ({
    units: b.units.map(make) as [Unit, Unit, Unit],
    shortcut: b.shortcut ? make(b.shortcut) : null,
  }));
  const eps = config.epsilon;
  // A frozen backbone folds BN into the conv once: W' = W·s, b' = (b − μ)·s + β, s = γ/√(σ²+ε),
  // and runs one fused conv + bias (+ ReLU) per unit.
  const folded = new Map<Unit, { w: tf.Tensor4D; b: tf.Tensor1D }>();
  const foldedOf = (U: Unit) => {
    let f = folded.get(U);
    if (!f) {
      f = tf.tidy(() => {
        const s = tf.mul(U.gamma, tf.rsqrt(tf.add(U.variance, eps)));
        return {
          w: tf.mul(U.kernel, s) as tf.Tensor4D,
          b: tf.add(tf.mul(tf.sub(U.bias, U.mean), s), U.beta) as tf.Tensor1D,
        };
      });
      tf.keep(f.w);
      tf.keep(f.b);
      folded.set(U, f);
    }
    return f;
  };
  const convBn = (x: tf.Tensor4D, U: Unit, relu: boolean, training: boolean, update: boolean) => {
    const pad = U.u.k === 1 || U.u.k === 7 ? "valid" : "same";
    if (!trainableFlag && !training) {
      const f = foldedOf(U);
      return tf.fused.conv2d({
        x,
        filter: f.w,
        strides: U.u.stride,
        pad,
        bias: f.b,
        activation: relu ? "relu" : "linear",
      });
    }
    let y = tf.add(
      tf.conv2d(x, U.kernel as tf.Tensor4D, U.u.stride, pad),
      U.bias,
    ) as tf.Tensor4D;
    // BN as y·scale + shift with scale = γ/√(σ²+ε), shift = β − μ·scale: element-wise ops
    // only, so it is differentiable with the gradients of stages/nn/gradients.ts (tfjs-core
    // registers none for FusedBatchNorm under Deno).
    let mean: tf.Tensor = U.mean;
    let variance: tf.Tensor = U.variance;
    if (training) {
      const m = tf.moments(y, [0, 1, 2]);
      mean = m.mean;
      variance = m.variance;
      if (update) {
        U.mean.assign(tf.add(tf.mul(U.mean, momentum), tf.mul(mean, 1 - momentum)));
        U.variance.assign(tf.add(tf.mul(U.variance, momentum), tf.mul(variance, 1 - momentum)));
      }
    }
    const scale = tf.mul(U.gamma, tf.rsqrt(tf.add(variance, eps)));
    const shift = tf.sub(U.beta, tf.mul(mean, scale));
    y = tf.add(tf.mul(y, scale), shift) as tf.Tensor4D;
    return relu ? tf.relu(y) : y;
  };
  return {
    config,
    trainable,
    movingStats,
    outDim: config.stages[config.stages.length - 1].filters[2],
    stem(x) {
      return tf.tidy(() => {
        const h = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]) as tf.Tensor4D;
        return convBn(h, stemU, true, false, false);
      });
    },
    apply(x, opts = {}) {
      const training = opts.training ?? false;
      const update = training && (opts.updateStats ?? false);
      return tf.tidy(() => {
        let h = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]) as tf.Tensor4D;
        h = convBn(h, stemU, true, training, update);
        if (config.poolPad) h = tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D;
        h = tf.maxPool(h, 3, 2, "valid");
        for (const b of blockU) {
          const short = b.shortcut ? convBn(h, b.shortcut, false, training, update) : h;
          let y = convBn(h, b.units[0], true, training, update);
          y = convBn(y, b.units[1], true, training, update);
          y = convBn(y, b.units[2], false, training, update);
          h = tf.relu(tf.add(y, short)) as tf.Tensor4D;
        }
        return tf.mean(h, [1, 2]) as tf.Tensor2D;
      });
    },
    dispose() {
      for (const v of [...trainable, ...movingStats]) v.dispose();
      for (const f of folded.values()) tf.dispose([f.w, f.b]);
      folded.clear();
    },
  };
}
