/**
 * The tfjs types the `nn/` API names, as aliases of `@tensorflow/tfjs-core`'s own.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** A tensor of any rank. */
export type Tensor = tf.Tensor;
/** A rank-2 tensor (rows × features). */
export type Tensor2D = tf.Tensor2D;
/** A rank-4 tensor (NHWC images). */
export type Tensor4D = tf.Tensor4D;
/** A mutable tensor holding weights or state. */
export type Variable = tf.Variable;
