/**
 * The contract of a trainable image module (e.g. a fine-tuned ResNet-50) that a model puts its
 * head on; {@link ImageBackboneFactory} builds one for an input shape.
 * @module
 */
import type { Tensor, Tensor2D, Variable } from "./tensor.ts";
import type { Rng } from "../util/rng.ts";

/**
 * A pluggable image module for the `end-to-end` mode (e.g. a ResNet-50 whose top FC is dropped).
 * The train stage feeds it raw image batches (whatever `img_*.npy` holds, e.g. [n, H, W, 3]) and
 * puts the FC → BN → LReLU head on its output.
 *
 * Contract:
 * - `apply` is called inside a gradient tape; it must build its output only from tfjs ops on its
 *   `trainable` variables (so gradients reach them) and must not dispose its input.
 * - In training it may update non-trainable state (BN running stats) and apply augmentation with
 *   `rng` (the paper: random shift 0.1, horizontal flip); all randomness must come from `rng`, so
 *   that a resumed run repeats an uninterrupted one.
 * - Every variable it owns appears in `trainable` or `state`, under a stable name: the checkpoint
 *   saves and restores them by name.
 */
export interface ImageBackbone {
  /** Width of the output rows. */
  readonly outDim: number;
  /** Trainable variables by stable name (optimised with Adam and the L2 term if `decay`). */
  readonly trainable: Record<string, Variable>;
  /** Non-trainable state by stable name (e.g. BN running statistics). */
  readonly state: Record<string, Variable>;
  /** Names in `trainable` that get the L2 weight decay (conv/FC kernels). */
  readonly decay: readonly string[];
  /** What was built, for logs and provenance (e.g. `ResNet-50 (legacy names)`). */
  readonly description?: string;
  /** Forward pass: [n, ...] raw images → [n, outDim]. */
  apply(x: Tensor, options: { training: boolean; rng: Rng }): Tensor2D;
  /** Free the variables. */
  dispose(): void;
}

/** Builds a backbone for an input shape (one sample, e.g. [224, 224, 3]). */
export type ImageBackboneFactory = (options: {
  /** Shape of one input sample. */
  inputShape: number[];
  /** Initialisation randomness. */
  rng: Rng;
  /** Path of the backbone's pretrained weights (the train stage's `backbone` input), if any. */
  weights?: string;
}) => Promise<ImageBackbone>;
