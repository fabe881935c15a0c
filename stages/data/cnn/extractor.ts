/**
 * The interface shared by the frozen feature extractors (ResNet-50, AlexNet fc6).
 * @module
 */

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
