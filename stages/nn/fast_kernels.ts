/**
 * Kernels that make training on the CPU backends cheaper per step, registered on top of tfjs's:
 *
 * - **`BatchMatMul` on the system BLAS (wasm), inside {@link withBlasMatmul} only.** tfjs-wasm's XNNPACK product packs its second
 *   operand on every call with a new tensor — in training that is every call (weights change each
 *   step, gradients are new) — which made a 16×128·128×2048 product 4× slower than with cached
 *   weights and ~12× slower than `sgemm` (bench/dse.ts profile). When {@link loadSgemm} finds a
 *   library, float32 products of rank 2 or 3 run there, on views of the wasm heap (no copies);
 *   anything else, and every product outside the scope, goes to the kernel registered before (so
 *   the CNN feature stages, which are inference with fixed weights, keep XNNPACK's results).
 * - **`Identity` (wasm) without a copy** ({@link sharedIdentity}): the same values, so no change
 *   to any result.
 * - **`DseAdamStep` (wasm, cpu)**: the Adam update of every parameter and its two moments in one
 *   kernel call and one pass each (see `stages/dse/adam.ts`), instead of nine elementwise kernels
 *   per parameter (72 kernel calls and their temporaries per DSE step).
 *
 * Which product a training run uses changes its rounding, so it is part of `train-dse`'s cache key
 * (`matmulProvider` in `stages/linalg/sgemm.ts`, checked against {@link loadedMatmul} by the run).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadedMatmul, loadSgemm } from "../linalg/sgemm.ts";

/** The name of the fused Adam kernel. */
export const ADAM_KERNEL = "DseAdamStep";

/** Attributes of {@link ADAM_KERNEL}. */
export interface AdamKernelAttrs {
  /** First-moment decay. */
  beta1: number;
  /** Second-moment decay. */
  beta2: number;
  /** Added to √v. */
  epsilon: number;
  /** The bias-corrected step size. */
  stepSize: number;
  /** Number of parameters updated (multi-tensor form). */
  count: number;
  [key: string]: number;
}

/** The wasm backend's heap API (tfjs-backend-wasm's `BackendWasm`), as far as we use it. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

/** The cpu backend's storage (tfjs-backend-cpu's `MathBackendCPU`), as far as we use it. */
interface CpuStore {
  data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/**
 * One Adam update over flat arrays (Keras form, see `stages/dse/adam.ts`), out of place. Every
 * operation is rounded to float32 as the composite kernels round it, so the result is the same
 * bits as theirs (each op is correctly rounded in both: a double result rounded once to float32).
 */
export function adamUpdate(
  inp: { x: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number>; g: ArrayLike<number> },
  out: { x: Float32Array; m: Float32Array; v: Float32Array; attrs: AdamKernelAttrs },
): void {
  // Every constant as the float32 scalar the composite kernels would make of it.
  const f = Math.fround, a = out.attrs;
  const beta1 = f(a.beta1), beta2 = f(a.beta2), epsilon = f(a.epsilon), stepSize = f(a.stepSize);
  const c1 = f(1 - a.beta1), c2 = f(1 - a.beta2);
  const { x, m, v, g } = inp;
  const xo = out.x, mo = out.m, vo = out.v;
  for (let i = 0; i < xo.length; i++) {
    const gi = g[i];
    // Rounded to float32 after each step, as the composite kernels round.
    const mi = Math.fround(Math.fround(beta1 * m[i]) + Math.fround(c1 * gi));
    const vi = Math.fround(Math.fround(beta2 * v[i]) + Math.fround(c2 * Math.fround(gi * gi)));
    mo[i] = mi;
    vo[i] = vi;
    const den = Math.fround(Math.fround(Math.sqrt(vi)) + epsilon);
    xo[i] = x[i] - Math.fround(stepSize * Math.fround(mi / den));
  }
}

/** Where a backend keeps a tensor's values, and how it makes an output. */
interface Storage {
  /** The values of `t` (a view: wasm heap, or the cpu backend's array). */
  view(t: tf.TensorInfo): Float32Array;
  /** A new float32 output of `shape`. */
  make(shape: number[]): tf.TensorInfo;
}

function storage(backendName: "wasm" | "cpu", backend: unknown): Storage {
  if (backendName === "wasm") {
    const heap = backend as WasmHeap;
    return {
      view: (t) => heap.typedArrayFromHeap(t) as Float32Array,
      make: (shape) => heap.makeOutput(shape, "float32"),
    };
  }
  const cpu = backend as CpuStore;
  return {
    view: (t) => cpu.data.get(t.dataId).values as Float32Array,
    make: (shape) =>
      cpu.makeTensorInfo(shape, "float32", new Float32Array(shape.reduce((a, b) => a * b, 1))),
  };
}

/**
 * The multi-tensor Adam kernel: inputs `x0…`, `m0…`, `v0…`, `g0…` (attr `count` of each); outputs
 * every new x, then every m, then every v. One kernel call per step instead of nine per variable.
 */
function adamKernel(backendName: "wasm" | "cpu"): tf.KernelConfig {
  return {
    kernelName: ADAM_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as AdamKernelAttrs;
      const at = (p: string, i: number) => (inputs as Record<string, tf.TensorInfo>)[`${p}${i}`];
      const st = storage(backendName, backend);
      const n = a.count;
      const outs: tf.TensorInfo[] = [];
      for (const _ of ["x", "m", "v"]) {
        for (let i = 0; i < n; i++) outs.push(st.make(at("x", i).shape));
      }
      // Views only after every allocation: an allocation may grow (and so detach) the wasm heap.
      for (let i = 0; i < n; i++) {
        adamUpdate(
          {
            x: st.view(at("x", i)),
            m: st.view(at("m", i)),
            v: st.view(at("v", i)),
            g: st.view(at("g", i)),
          },
          { x: st.view(outs[i]), m: st.view(outs[n + i]), v: st.view(outs[2 * n + i]), attrs: a },
        );
      }
      return outs;
    },
  };
}

function blasMatMul(previous: tf.KernelConfig): tf.KernelConfig | undefined {
  const { sgemm } = loadSgemm();
  if (!sgemm) return undefined;
  return {
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: (args) => {
      if (blasScopes === 0) return previous.kernelFunc(args);
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as {
        transposeA: boolean;
        transposeB: boolean;
      };
      const r = a.shape.length;
      const batch = r === 3 ? a.shape[0] : 1;
      if (
        a.dtype !== "float32" || b.dtype !== "float32" || r !== b.shape.length ||
        (r !== 2 && r !== 3) || (r === 3 && b.shape[0] !== batch)
      ) return previous.kernelFunc(args);
      const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
      const m = transposeA ? ac : ar, k = transposeA ? ar : ac;
      const n = transposeB ? br : bc;
      if ((transposeB ? bc : br) !== k) return previous.kernelFunc(args); // tfjs reports it
      const heap = args.backend as WasmHeap;
      const out = heap.makeOutput(r === 3 ? [batch, m, n] : [m, n], "float32");
      const A = heap.typedArrayFromHeap(a) as Float32Array;
      const B = heap.typedArrayFromHeap(b) as Float32Array;
      const C = heap.typedArrayFromHeap(out) as Float32Array;
      for (let i = 0; i < batch; i++) {
        sgemm.matmul({ m, n, k }, {
          a: A.subarray(i * m * k, (i + 1) * m * k),
          b: B.subarray(i * k * n, (i + 1) * k * n),
          c: C.subarray(i * m * n, (i + 1) * m * n),
          transA: transposeA,
          transB: transposeB,
        });
      }
      return out;
    },
  };
}

/**
 * `Identity` on wasm without a copy: the output shares the input's memory (reference-counted, as
 * the cpu backend's `Identity` and wasm's own `Reshape` do). tfjs tensors are immutable (a
 * variable's `assign` rebinds it to new memory), so sharing is safe; the autodiff tape clones
 * every tensor it saves, which on wasm copied ~90 buffers per DSE step, the 128×2048 kernel among
 * them.
 */
function sharedIdentity(previous: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: "Identity",
    backendName: "wasm",
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype === "string") return previous.kernelFunc(args);
      (args.backend as { incRef(id: tf.DataId): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
}

let registered = false;
let blasScopes = 0;

/**
 * Register the kernels of this module (idempotent). Call after the wasm backend's own kernels
 * and fallbacks are registered (`selectBackend`).
 */
export function registerFastKernels(): void {
  if (registered) return;
  for (const backendName of ["wasm", "cpu"] as const) {
    if (!tf.getKernel(ADAM_KERNEL, backendName)) tf.registerKernel(adamKernel(backendName));
  }
  const identity = tf.getKernel("Identity", "wasm");
  if (identity) {
    tf.unregisterKernel("Identity", "wasm");
    tf.registerKernel(sharedIdentity(identity));
  }
  const previous = tf.getKernel("BatchMatMul", "wasm");
  const blas = previous && blasMatMul(previous);
  if (blas) {
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel(blas);
  }
  registered = true;
}

/**
 * Run `fn` with the wasm backend's float32 products on the system BLAS (when one loads;
 * registers the kernels first). Returns what `fn` returns; `fn` is told which product runs
 * ({@link loadedMatmul}).
 */
export async function withBlasMatmul<T>(
  fn: (matmul: string) => Promise<T>,
): Promise<T> {
  registerFastKernels();
  blasScopes++;
  try {
    return await fn(loadedMatmul());
  } finally {
    blasScopes--;
  }
}

/** Whether the active backend has {@link ADAM_KERNEL}. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
}
