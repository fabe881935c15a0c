/**
 * The interface shared by the frozen feature extractors (ResNet-50, AlexNet fc6), and the ResNet
 * extractor built from a Keras `.h5`.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  buildResNet,
  describeResNet,
  readKerasResNetArchitecture,
  readKerasResNetWeights,
  type ResNetConfig,
} from "./resnet.ts";

/** A frozen feature extractor over caffe-preprocessed NHWC batches. */
export interface FeatureExtractor {
  /** Short name, e.g. `ResNet-50 (legacy names)`. */
  name: string;
  /** Square input side. */
  inputSize: number;
  /** Feature width. */
  outDim: number;
  /** Features of `n` images (NHWC float32, caffe-preprocessed), n×outDim row-major. */
  run(batch: Float32Array, n: number): Promise<Float32Array>;
  /** Release the weights. */
  dispose(): void;
}

/**
 * A ResNet feature extractor from Keras `.h5` bytes. `config` defaults to the architecture the
 * file holds ({@link readKerasResNetArchitecture}): the paper's keras 2.0 ResNet-50 file gives
 * `RESNET50_LEGACY`, a tf.keras one `RESNET50_TF2`.
 */
export async function resnetExtractor(
  bytes: Uint8Array,
  options: { config?: ResNetConfig; inputSize?: number } = {},
): Promise<FeatureExtractor> {
  const config = options.config ?? await readKerasResNetArchitecture(bytes);
  const weights = await readKerasResNetWeights(bytes, config);
  const model = buildResNet(weights, { config, trainable: false });
  const size = options.inputSize ?? 224;
  return {
    name: describeResNet(config),
    inputSize: size,
    outDim: model.outDim,
    async run(batch, n) {
      const x = tf.tensor4d(batch.subarray(0, n * size * size * 3), [n, size, size, 3]);
      const y = model.apply(x);
      const out = (await y.data()) as Float32Array;
      tf.dispose([x, y]);
      return out;
    },
    dispose: () => model.dispose(),
  };
}
