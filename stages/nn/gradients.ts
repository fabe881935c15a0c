/**
 * Gradient functions for the tfjs kernels DSE training uses.
 *
 * `@tensorflow/tfjs-core` ships its gradient configs only as extensionless ES modules
 * (`dist/register_all_gradients.js` imports `./gradients/Abs_grad`), which Deno's npm resolver
 * refuses, and its CommonJS bundle registers none. Rather than pull in the whole `@tensorflow/tfjs`
 * union package, this module registers the gradients we need, with the same formulas as tfjs.
 * A kernel that already has a gradient (e.g. because `@tensorflow/tfjs` was loaded) keeps it.
 *
 * Covered: element-wise arithmetic with broadcasting, reductions (Sum, Mean, Max), shape ops,
 * Tile, BatchMatMul, activations (Relu, LeakyRelu, Softmax), Exp/Log/Sqrt/Rsqrt/Square, and, for an
 * end-to-end image branch, Conv2D, DepthwiseConv2dNative, MaxPool, AvgPool, PadV2, Slice, Concat and GatherV2 (axis 0).
 * Each is tested against finite differences in tests/stages/nn/gradients_test.ts.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

type Saved = tf.Tensor[];
type Attrs = Record<string, unknown>;
type GradMap = Record<string, () => tf.Tensor>;

/** Sum `dy` down to `shape` (undo broadcasting). */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  let r = dy;
  if (axes.length > 0) r = tf.sum(dy, axes);
  return tf.reshape(r, shape);
}

function keepDimsShape(shape: number[], axes: number[]): number[] {
  return shape.map((s, i) => (axes.includes(i) ? 1 : s));
}

function reductionAxes(x: tf.Tensor, axis: unknown): number[] {
  return tf.util.parseAxisParam(axis as number | number[], x.shape);
}

const CONFIGS: tf.GradConfig[] = [
  {
    kernelName: "Add",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      return {
        a: () => unbroadcast(dy as tf.Tensor, a.shape),
        b: () => unbroadcast(dy as tf.Tensor, b.shape),
      };
    },
  },
  {
    kernelName: "AddN",
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const out: GradMap = {};
      (saved as Saved).forEach((_, i) => (out[i] = () => tf.clone(dy as tf.Tensor)));
      return out;
    },
  },
  {
    kernelName: "Sub",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      return {
        a: () => unbroadcast(dy as tf.Tensor, a.shape),
        b: () => tf.neg(unbroadcast(dy as tf.Tensor, b.shape)),
      };
    },
  },
  {
    kernelName: "Multiply",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, b), a.shape),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, a), b.shape),
      };
    },
  },
  {
    kernelName: "RealDiv",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      return {
        a: () => unbroadcast(tf.div(dy as tf.Tensor, b), a.shape),
        b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as tf.Tensor, a), tf.square(b))), b.shape),
      };
    },
  },
  {
    kernelName: "SquaredDifference",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      const g = () => tf.mul(dy as tf.Tensor, tf.mul(tf.scalar(2), tf.sub(a, b)));
      return { a: () => unbroadcast(g(), a.shape), b: () => unbroadcast(tf.neg(g()), b.shape) };
    },
  },
  {
    kernelName: "Maximum",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      return {
        a: () =>
          unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greaterEqual(a, b), "float32")), a.shape),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.less(a, b), "float32")), b.shape),
      };
    },
  },
  {
    kernelName: "Minimum",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as Saved;
      return {
        a: () =>
          unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.lessEqual(a, b), "float32")), a.shape),
        b: () =>
          unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greater(a, b), "float32")), b.shape),
      };
    },
  },
  { kernelName: "Neg", gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  { kernelName: "Identity", gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) },
  { kernelName: "Cast", gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) },
  {
    kernelName: "Square",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul((saved as Saved)[0], 2)) }),
  },
  {
    kernelName: "Exp",
    outputsToSave: [true],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, (saved as Saved)[0]) }),
  },
  {
    kernelName: "Log",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.div(dy as tf.Tensor, (saved as Saved)[0]) }),
  },
  {
    kernelName: "Sqrt",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({
      x: () => tf.div(dy as tf.Tensor, tf.mul(tf.sqrt((saved as Saved)[0]), 2)),
    }),
  },
  {
    kernelName: "Rsqrt",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({
      x: () => tf.neg(tf.div(dy as tf.Tensor, tf.mul(tf.pow((saved as Saved)[0], 1.5), 2))),
    }),
  },
  {
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({
      x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.greater((saved as Saved)[0], 0), "float32")),
    }),
  },
  {
    kernelName: "LeakyRelu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const alpha = (attrs as Attrs).alpha as number;
      const x = (saved as Saved)[0];
      return {
        x: () => tf.where(tf.greater(x, 0), dy as tf.Tensor, tf.mul(dy as tf.Tensor, alpha)),
      };
    },
  },
  {
    kernelName: "Softmax",
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const y = (saved as Saved)[0];
      const dim = (attrs as Attrs).dim as number;
      return {
        logits: () => {
          const dyy = tf.mul(dy as tf.Tensor, y);
          return tf.sub(dyy, tf.mul(tf.sum(dyy, [dim], true), y));
        },
      };
    },
  },
  {
    kernelName: "Sum",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0];
      const axes = reductionAxes(x, (attrs as Attrs).axis);
      return {
        x: () =>
          tf.mul(tf.reshape(dy as tf.Tensor, keepDimsShape(x.shape, axes)), tf.ones(x.shape)),
      };
    },
  },
  {
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0];
      const axes = reductionAxes(x, (attrs as Attrs).axis);
      const n = axes.reduce((p, a) => p * x.shape[a], 1);
      return {
        x: () =>
          tf.div(
            tf.mul(tf.reshape(dy as tf.Tensor, keepDimsShape(x.shape, axes)), tf.ones(x.shape)),
            n,
          ),
      };
    },
  },
  {
    kernelName: "Max",
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as Saved;
      const axes = reductionAxes(x, (attrs as Attrs).reductionIndices);
      const ks = keepDimsShape(x.shape, axes);
      return {
        x: () =>
          tf.mul(
            tf.reshape(dy as tf.Tensor, ks),
            tf.cast(tf.equal(x, tf.reshape(y, ks)), "float32"),
          ),
      };
    },
  },
  {
    kernelName: "Reshape",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, (saved as Saved)[0].shape) }),
  },
  {
    kernelName: "ExpandDims",
    inputsToSave: ["input"],
    gradFunc: (dy, saved) => ({
      input: () => tf.reshape(dy as tf.Tensor, (saved as Saved)[0].shape),
    }),
  },
  {
    kernelName: "Transpose",
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as Attrs).perm as number[];
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return { x: () => tf.transpose(dy as tf.Tensor, inv) };
    },
  },
  {
    kernelName: "BroadcastTo",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => unbroadcast(dy as tf.Tensor, (saved as Saved)[0].shape) }),
  },
  {
    kernelName: "Tile",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0];
      const reps = (attrs as Attrs).reps as number[];
      // Output dim i is reps[i] copies of x.shape[i]: view it as [reps[i], shape[i]] and sum reps.
      const split = x.shape.flatMap((s, i) => [reps[i], s]);
      const axes = x.shape.map((_, i) => 2 * i);
      return { x: () => tf.reshape(tf.sum(tf.reshape(dy as tf.Tensor, split), axes), x.shape) };
    },
  },
  {
    kernelName: "BatchMatMul",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as Saved;
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const g = dy as tf.Tensor;
      let da: () => tf.Tensor, db: () => tf.Tensor;
      if (!transposeA && !transposeB) {
        da = () => tf.matMul(g, b, false, true);
        db = () => tf.matMul(a, g, true, false);
      } else if (!transposeA && transposeB) {
        da = () => tf.matMul(g, b, false, false);
        db = () => tf.matMul(g, a, true, false);
      } else if (transposeA && !transposeB) {
        da = () => tf.matMul(b, g, false, true);
        db = () => tf.matMul(a, g, false, false);
      } else {
        da = () => tf.matMul(b, g, true, true);
        db = () => tf.matMul(g, a, true, true);
      }
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  },
  {
    kernelName: "PadV2",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0];
      const paddings = (attrs as Attrs).paddings as [number, number][];
      return { x: () => tf.slice(dy as tf.Tensor, paddings.map((p) => p[0]), x.shape) };
    },
  },
  {
    kernelName: "Slice",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0];
      const { begin, size } = attrs as { begin: number[]; size: number[] };
      const [b, s] = tf.slice_util.parseSliceParams(x, begin, size);
      const pads = x.shape.map((d, i) => [b[i], d - b[i] - s[i]] as [number, number]);
      return { x: () => tf.pad(dy as tf.Tensor, pads) };
    },
  },
  {
    kernelName: "Concat",
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const inputs = saved as Saved;
      const axis = tf.util.parseAxisParam((attrs as Attrs).axis as number, inputs[0].shape)[0];
      const sizes = inputs.map((t) => t.shape[axis]);
      const parts = tf.split(dy as tf.Tensor, sizes, axis);
      const out: GradMap = {};
      parts.forEach((p, i) => (out[i] = () => p));
      return out;
    },
  },
  {
    kernelName: "GatherV2",
    inputsToSave: ["x", "indices"],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved as Saved;
      const { axis, batchDims } = attrs as { axis: number; batchDims: number };
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      if (ax !== 0 || batchDims !== 0 || indices.rank !== 1) {
        throw new Error("gather gradient: only axis 0, batchDims 0 and 1-D indices are supported");
      }
      return {
        x: () => tf.unsortedSegmentSum(dy as tf.Tensor, indices as tf.Tensor1D, x.shape[0]),
        indices: () => tf.zerosLike(indices),
      };
    },
  },
  {
    kernelName: "Conv2D",
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as Saved;
      const a = attrs as Attrs;
      const dil = a.dilations as number | [number, number];
      if (!(dil === 1 || (Array.isArray(dil) && dil[0] === 1 && dil[1] === 1))) {
        throw new Error("conv2d gradient: dilations other than 1 are not supported");
      }
      const common = {
        strides: a.strides,
        pad: a.pad,
        dataFormat: a.dataFormat,
        dimRoundingMode: a.dimRoundingMode,
      };
      return {
        x: () =>
          tf.engine().runKernel("Conv2DBackpropInput", { dy: dy as tf.Tensor, filter }, {
            ...common,
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () =>
          tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: dy as tf.Tensor }, {
            ...common,
            filterShape: filter.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  },
  {
    kernelName: "DepthwiseConv2dNative",
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as Saved;
      const a = attrs as Attrs;
      const common = {
        strides: a.strides,
        pad: a.pad,
        dimRoundingMode: a.dimRoundingMode,
        dilations: a.dilations,
      };
      return {
        x: () =>
          tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", {
            dy: dy as tf.Tensor,
            filter,
          }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () =>
          tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", {
            x,
            dy: dy as tf.Tensor,
          }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  },
  {
    kernelName: "MaxPool",
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as Saved;
      const a = attrs as Attrs;
      return {
        x: () =>
          tf.engine().runKernel("MaxPoolGrad", { dy: dy as tf.Tensor, input: x, output: y }, {
            filterSize: a.filterSize,
            strides: a.strides,
            pad: a.pad,
            dimRoundingMode: a.dimRoundingMode,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  },
  // Like tfjs's own AvgPool gradient, this spreads dy with 1/(filter area); with "same" padding the
  // forward pass divides border windows by fewer pixels, so there it is exact only for "valid".
  {
    kernelName: "AvgPool",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as Saved)[0];
      const a = attrs as Attrs;
      return {
        x: () =>
          tf.engine().runKernel("AvgPoolGrad", { dy: dy as tf.Tensor, input: x }, {
            filterSize: a.filterSize,
            strides: a.strides,
            pad: a.pad,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  },
];

/** Kernel names this module provides gradients for. */
export const GRADIENT_KERNELS: readonly string[] = CONFIGS.map((c) => c.kernelName);

/**
 * Register the gradients (idempotent). A kernel that already has a gradient keeps it.
 * Call before any `tf.grad`/`tf.variableGrads`.
 */
export function registerGradients(): void {
  for (const c of CONFIGS) {
    if (!tf.getGradient(c.kernelName)) tf.registerGradient(c);
  }
}
