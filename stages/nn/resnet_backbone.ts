/**
 * The end-to-end image branch of DSE: a ResNet (ResNet-50 in the paper) fine-tuned under the DSE
 * loss, as an {@link ImageBackbone} for `createTrainDseKind({ backbones })`.
 *
 * - Weights come from a Keras `.h5` (the train stage's `backbone` input: a file, or a directory
 *   holding exactly one `.h5`); the naming (legacy keras 2.0 or tf.keras) is detected from the file.
 *   Backbone names ending in `-random` start from seeded He-initialised weights instead (tests and
 *   from-scratch timing); the others refuse to run without weights.
 * - Variables are named after the Keras layers (`res2a_branch2a.kernel`, `bn2a_branch2a.gamma`,
 *   `bn2a_branch2a.moving_mean`, …), so a checkpoint stores them by name.
 * - L2 weight decay applies to the conv kernels (the head's FC kernels are decayed by the model).
 * - BN in training uses batch statistics and updates the moving statistics (Keras momentum 0.99).
 * - Augmentation in training (the paper: random shift 0.1, horizontal flip; Keras
 *   `ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)`,
 *   fill mode "nearest"): per image, a shift of round(u·0.1·side) pixels per axis, u uniform in
 *   [−1, 1], with edge replication, then a flip with probability ½, all drawn from the stage's RNG.
 *   It is one gather over the batch, so it runs on any backend.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Tensor4D } from "./tensor.ts";
import {
  buildResNet,
  describeResNet,
  detectKerasNaming,
  randomResNetWeights,
  readKerasResNetArchitecture,
  readKerasResNetWeights,
  RESNET50_LEGACY,
  RESNET50_TF2,
  type ResNetConfig,
  resnetUnits,
} from "./resnet.ts";
import { registerGradients } from "./gradients.ts";
import type { ImageBackbone, ImageBackboneFactory } from "./backbone.ts";
import type { Rng } from "../util/rng.ts";

/** The paper's shift range: a fraction of the image side. */
export const SHIFT_FRACTION = 0.1;

/**
 * A tiny bottleneck ResNet (2 stages, 32-d output) with the same structure as ResNet-50, for
 * tests and quick end-to-end demonstrations on small images.
 */
export const RESNET_TINY: ResNetConfig = {
  stemFilters: 8,
  stages: [
    { blocks: 1, filters: [4, 4, 16], stride: 1 },
    { blocks: 1, filters: [8, 8, 32], stride: 2 },
  ],
  naming: "legacy",
  epsilon: 1e-3,
  poolPad: false,
  inChannels: 3,
};

/** One image's augmentation draw. */
export interface AugmentDraw {
  /** Row shift in pixels (output row i reads input row i − dy, clamped). */
  dy: number;
  /** Column shift in pixels (output column j reads input column j − dx, clamped). */
  dx: number;
  /** Mirror left–right after the shift. */
  flip: boolean;
}

/** Draw one image's shift and flip from `rng` (three draws, in a fixed order). */
export function drawAugment(
  rng: Rng,
  options: { height: number; width: number; shift?: number },
): AugmentDraw {
  const shift = options.shift ?? SHIFT_FRACTION;
  const dy = Math.round((2 * rng.next() - 1) * shift * options.height);
  const dx = Math.round((2 * rng.next() - 1) * shift * options.width);
  const flip = rng.next() < 0.5;
  return { dy, dx, flip };
}

/**
 * Flat source-pixel indices of an augmented NHWC batch: output pixel (s, i, j) reads input pixel
 * `idx[(s·H + i)·W + j]` of the batch flattened to [n·H·W, C]. Shifts replicate the edge (Keras
 * fill mode "nearest"); a flip mirrors the shifted image.
 */
export function augmentIndices(
  draws: AugmentDraw[],
  options: { height: number; width: number },
): Int32Array {
  const { height: h, width: w } = options;
  const idx = new Int32Array(draws.length * h * w);
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  draws.forEach((d, s) => {
    for (let i = 0; i < h; i++) {
      const si = clamp(i - d.dy, h);
      for (let j = 0; j < w; j++) {
        const jj = d.flip ? w - 1 - j : j;
        const sj = clamp(jj - d.dx, w);
        idx[(s * h + i) * w + j] = (s * h + si) * w + sj;
      }
    }
  });
  return idx;
}

/** Apply the paper's augmentation to an NHWC batch, drawing from `rng` (one draw per image). */
export function augmentBatch(
  x: Tensor4D,
  rng: Rng,
  options: { shift?: number } = {},
): Tensor4D {
  const [n, h, w, c] = x.shape;
  const draws = Array.from(
    { length: n },
    () => drawAugment(rng, { height: h, width: w, ...options }),
  );
  const idx = augmentIndices(draws, { height: h, width: w });
  return tf.tidy(() => {
    const flat = tf.reshape(x, [n * h * w, c]);
    return tf.reshape(tf.gather(flat, tf.tensor1d(idx, "int32")), [n, h, w, c]) as tf.Tensor4D;
  });
}

/**
 * The filter gradient of an NHWC conv2d (dilation 1) as one matrix product: the k×k shifted,
 * strided views of the padded input are concatenated along channels (im2col, [N·Ho·Wo, k·k·Cin])
 * and multiplied by dy ([N·Ho·Wo, Cout]). Same result as Conv2DBackpropFilter, built from ops
 * every backend has natively (the wasm backend has no Conv2DBackpropFilter, and its cpu fallback
 * takes ~97% of a ResNet-50 training step).
 */
export function conv2dFilterGrad(
  x: Tensor4D,
  dy: Tensor4D,
  options: {
    filterShape: [number, number, number, number];
    strides: number | [number, number];
    pad: "same" | "valid" | number;
    dimRoundingMode?: "floor" | "round" | "ceil";
  },
): Tensor4D {
  const [kh, kw, cin, cout] = options.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    options.filterShape,
    options.strides,
    1,
    options.pad,
    options.dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
  const n = x.shape[0];
  return tf.tidy(() => {
    const xp = top || bottom || left || right
      ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
      : x;
    const views: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const full = i === 0 && j === 0 && sh === 1 && sw === 1 && xp.shape[1] === ho &&
          xp.shape[2] === wo;
        views.push(
          full ? xp : tf.stridedSlice(
            xp,
            [0, i, j, 0],
            [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, cin],
            [1, sh, sw, 1],
          ),
        );
      }
    }
    const cols = views.length === 1 ? views[0] : tf.concat(views, 3);
    const m = n * ho * wo;
    const g = tf.matMul(
      tf.reshape(cols, [m, kh * kw * cin]) as tf.Tensor2D,
      tf.reshape(dy, [m, cout]) as tf.Tensor2D,
      true,
      false,
    );
    return tf.reshape(g, [kh, kw, cin, cout]) as tf.Tensor4D;
  });
}

/**
 * Register a Conv2D gradient whose filter part is {@link conv2dFilterGrad} (the input part is
 * Conv2DBackpropInput, as in stages/nn/gradients.ts). Global and idempotent; the ResNet
 * backbones call it, so end-to-end training on wasm does not run the cpu fallback kernel.
 */
export function registerMatMulConvGrad(): void {
  tf.registerGradient({
    kernelName: "Conv2D",
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as {
        strides: number | [number, number];
        pad: "same" | "valid" | number;
        dilations: number | [number, number];
        dataFormat: string;
        dimRoundingMode?: "floor" | "round" | "ceil";
      };
      const dil = a.dilations;
      if (!(dil === 1 || (Array.isArray(dil) && dil[0] === 1 && dil[1] === 1))) {
        throw new Error("conv2d gradient: dilations other than 1 are not supported");
      }
      if (a.dataFormat !== undefined && a.dataFormat !== "NHWC") {
        throw new Error(`conv2d gradient: only NHWC is supported (got ${a.dataFormat})`);
      }
      return {
        x: () =>
          tf.engine().runKernel("Conv2DBackpropInput", { dy: dy as tf.Tensor, filter }, {
            strides: a.strides,
            pad: a.pad,
            dataFormat: a.dataFormat,
            dimRoundingMode: a.dimRoundingMode,
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () =>
          conv2dFilterGrad(x, dy as tf.Tensor4D, {
            filterShape: filter.shape,
            strides: a.strides,
            pad: a.pad,
            dimRoundingMode: a.dimRoundingMode,
          }),
      };
    },
  });
}

/** Options of {@link resnetBackbone}. */
export interface ResNetBackboneOptions {
  /**
   * Architecture. A function gets the naming detected in the weight file (ResNet-50: legacy or
   * tf2); a config is used with the file's naming and what it implies (tf.keras: ε 1.001e-5 and
   * pool padding; keras 2.0: ε 1e-3, no padding); `"from-file"` takes the architecture the `.h5`
   * holds (any Keras bottleneck ResNet: 50, 101, 152, or a small one).
   */
  config: ResNetConfig | ((naming: "legacy" | "tf2") => ResNetConfig) | "from-file";
  /** Start from seeded random weights (no `.h5` needed; a given one is an error). */
  random?: boolean;
  /** Augment in training (default true). */
  augment?: boolean;
  /** BN momentum of the moving statistics (default 0.99, Keras). */
  momentum?: number;
  /** Name used in error messages. */
  name?: string;
}

/** What a Keras naming implies: tf.keras's ε and pool padding, or keras 2.0's. */
function namingDefaults(
  naming: "legacy" | "tf2",
): Pick<ResNetConfig, "naming" | "epsilon" | "poolPad"> {
  return naming === "tf2"
    ? { naming, epsilon: RESNET50_TF2.epsilon, poolPad: RESNET50_TF2.poolPad }
    : { naming, epsilon: RESNET50_LEGACY.epsilon, poolPad: RESNET50_LEGACY.poolPad };
}

async function resolveWeightsFile(path: string, name: string): Promise<string> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch {
    throw new Error(`backbone ${name}: weights path ${path} does not exist`);
  }
  if (st.isFile) return path;
  const found: string[] = [];
  for await (const e of Deno.readDir(path)) {
    if (e.isFile && e.name.endsWith(".h5")) found.push(e.name);
  }
  if (found.length !== 1) {
    throw new Error(
      `backbone ${name}: the 'backbone' input ${path} is a directory with ${found.length} .h5 ` +
        `files (${found.join(", ") || "none"}); point it at one Keras weight file`,
    );
  }
  return `${path}/${found[0]}`;
}

/**
 * A factory of ResNet backbones. Without `random`, the stage's `backbone` input (a Keras `.h5`)
 * is required. The input shape must be [H, W, 3] raw (caffe-preprocessed) images.
 */
export function resnetBackbone(options: ResNetBackboneOptions): ImageBackboneFactory {
  const name = options.name ?? "resnet";
  return async ({ inputShape, rng, weights }) => {
    registerGradients();
    registerMatMulConvGrad();
    if (inputShape.length !== 3 || inputShape[2] !== 3) {
      throw new Error(
        `backbone ${name}: needs raw images [n, H, W, 3] in img_*.npy, got rows of shape ` +
          `[${inputShape}]; build the feature set with the image-tensors stage`,
      );
    }
    let config: ResNetConfig;
    let w;
    if (options.random) {
      if (weights) {
        throw new Error(
          `backbone ${name} starts from random weights but a 'backbone' input (${weights}) was ` +
            `given; use the backbone without the -random suffix to load it`,
        );
      }
      if (options.config === "from-file") {
        throw new Error(`backbone ${name} reads its architecture from a weight file; none given`);
      }
      config = typeof options.config === "function" ? options.config("legacy") : options.config;
      w = randomResNetWeights(config, rng.nextU32());
    } else {
      if (!weights) {
        throw new Error(
          `backbone ${name} needs pretrained weights: give train-dse an input 'backbone' (a ` +
            `download of the Keras .h5, e.g. resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5), ` +
            `or choose backbone ${name}-random to start from random weights`,
        );
      }
      const bytes = await Deno.readFile(await resolveWeightsFile(weights, name));
      if (options.config === "from-file") config = await readKerasResNetArchitecture(bytes);
      else {
        const naming = await detectKerasNaming(bytes);
        config = typeof options.config === "function"
          ? options.config(naming)
          : { ...options.config, ...namingDefaults(naming) };
      }
      w = await readKerasResNetWeights(bytes, config);
    }
    const net = buildResNet(w, { config, trainable: true, momentum: options.momentum });
    const units = resnetUnits(config);
    const trainable: Record<string, tf.Variable> = {};
    const state: Record<string, tf.Variable> = {};
    const decay: string[] = [];
    units.forEach((u, k) => {
      const [kernel, bias, gamma, beta] = net.trainable.slice(4 * k, 4 * k + 4);
      const [mean, variance] = net.movingStats.slice(2 * k, 2 * k + 2);
      if (kernel.shape.join() !== [u.k, u.k, u.cin, u.cout].join()) {
        throw new Error(`backbone ${name}: variable order of ${u.conv} differs from the layout`);
      }
      trainable[`${u.conv}.kernel`] = kernel;
      trainable[`${u.conv}.bias`] = bias;
      trainable[`${u.bn}.gamma`] = gamma;
      trainable[`${u.bn}.beta`] = beta;
      state[`${u.bn}.moving_mean`] = mean;
      state[`${u.bn}.moving_variance`] = variance;
      decay.push(`${u.conv}.kernel`);
    });
    const augment = options.augment ?? true;
    const backbone: ImageBackbone = {
      outDim: net.outDim,
      description: describeResNet(config),
      trainable,
      state,
      decay,
      apply(x, { training, rng }) {
        const x4 = x as tf.Tensor4D;
        if (!training || !augment) return net.apply(x4, { training, updateStats: training });
        const xa = augmentBatch(x4, rng);
        try {
          return net.apply(xa, { training: true, updateStats: true });
        } finally {
          xa.dispose();
        }
      },
      dispose() {
        net.dispose();
      },
    };
    return backbone;
  };
}

/** ResNet-50 from Keras weights (legacy keras 2.0 or tf.keras naming, detected). */
export const resnet50Backbone: ImageBackboneFactory = resnetBackbone({
  config: (naming) => (naming === "tf2" ? RESNET50_TF2 : RESNET50_LEGACY),
  name: "resnet50",
});

/**
 * The backbones the end-to-end `train-dse` kind registers, by the `backbone` param:
 * `resnet50` (Keras weights required), `keras-resnet` (whatever bottleneck ResNet the Keras
 * weight file holds), `resnet50-random`, `resnet-tiny` (a {@link RESNET_TINY} `.h5`) and
 * `resnet-tiny-random`.
 */
export const RESNET_BACKBONES: Record<string, ImageBackboneFactory> = {
  "resnet50": resnet50Backbone,
  "keras-resnet": resnetBackbone({ config: "from-file", name: "keras-resnet" }),
  "resnet50-random": resnetBackbone({
    config: RESNET50_LEGACY,
    random: true,
    name: "resnet50-random",
  }),
  "resnet-tiny": resnetBackbone({ config: RESNET_TINY, name: "resnet-tiny" }),
  "resnet-tiny-random": resnetBackbone({
    config: RESNET_TINY,
    random: true,
    name: "resnet-tiny-random",
  }),
};
