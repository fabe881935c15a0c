/**
 * Compute-backend selection for the DSE stages (TensorFlow.js).
 *
 * Order tried when no backend is requested: `node-gpu` (`@tensorflow/tfjs-node-gpu`), `node`
 * (`@tensorflow/tfjs-node`), `webgpu` (Deno's `navigator.gpu`), `wasm`, `cpu`. The tfjs-node
 * packages cannot be installed here (their postinstall downloads libtensorflow), so they are
 * imported by a computed specifier: `deno check` and `deno install` never need them, and a user who
 * has run `deno add npm:@tensorflow/tfjs-node-gpu` gets them. A backend that fails to load is
 * skipped with a one-line notice.
 *
 * The wasm backend lacks some gradient kernels and is slow at transposed `matMul`; see
 * {@link registerWasmFallbacks}.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// The wasm backend registers its kernels on import; it must be imported before our fallbacks
// are registered, or its own registrations would replace ours.
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import {
  BACKEND_ORDER,
  type BackendName,
  firstLine,
  isBackendName,
  probeAdapterHere,
  probeAdapterInChild,
  TF_NAME,
  wasmDistUrl,
} from "./backend_names.ts";

export {
  type AdapterProbe,
  BACKEND_ORDER,
  type BackendName,
  isBackendName,
  probeAdapterInChild,
  wasmDistUrl,
} from "./backend_names.ts";

/** What {@link selectBackend} settled on. */
export interface BackendInfo {
  /** Our name for the backend (one of {@link BACKEND_ORDER}). */
  name: BackendName;
  /** The tfjs backend name (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  tfName: string;
  /** `@tensorflow/tfjs-core` version. */
  tfjsVersion: string;
  /** Details worth recording: wasm threads/SIMD, the WebGPU adapter. */
  details: Record<string, unknown>;
  /** One-line notices about backends that were skipped. */
  notices: string[];
}

async function tryNode(name: "node-gpu" | "node"): Promise<void> {
  const pkg = name === "node-gpu" ? "tfjs-node-gpu" : "tfjs-node";
  // A computed specifier, so no tool tries to resolve or install it ahead of time.
  const specifier = ["@tensorflow", pkg].join("/");
  await import(specifier);
  if (!tf.findBackend("tensorflow")) {
    throw new Error(`${specifier} loaded but registered no backend`);
  }
}

async function tryWebgpu(details: Record<string, unknown>, auto: boolean): Promise<void> {
  if (!(navigator as { gpu?: GPU }).gpu) {
    throw new Error("navigator.gpu is not available in this Deno");
  }
  // The automatic choice asks in a child first: see probeAdapterInChild.
  const probe = auto ? await probeAdapterInChild() : await probeAdapterHere();
  if (probe.error) throw new Error(`WebGPU probe failed: ${probe.error}`);
  if (!probe.found) {
    throw new Error("no WebGPU adapter (install a Vulkan driver, e.g. mesa-vulkan-drivers)");
  }
  details.adapter = probe.description;
  details.software = Boolean(probe.software);
  // A software adapter (Mesa lavapipe) trains DSE ~12x slower than wasm here: the automatic choice
  // skips it; `--backend webgpu` still uses it.
  if (auto && probe.software) {
    throw new Error(`adapter "${details.adapter}" is a software fallback`);
  }
  // A computed specifier keeps the webgpu bundle out of the module graph unless it is used.
  const specifier = ["@tensorflow", "tfjs-backend-webgpu"].join("/");
  await import(specifier);
}

function setupWasm(details: Record<string, unknown>, threads: number): void {
  tfwasm.setWasmPaths(wasmDistUrl());
  // Multi-threaded wasm needs cross-origin isolation (SharedArrayBuffer in Workers), which Deno does
  // not report; the threaded binary then stays unused and XNNPACK runs single-threaded.
  if (threads > 0) tfwasm.setThreadsCount(threads);
  details.wasmPaths = wasmDistUrl();
}

async function activate(
  name: BackendName,
  threads: number,
  details: Record<string, unknown>,
  auto: boolean,
) {
  if (name === "node-gpu" || name === "node") await tryNode(name);
  else if (name === "webgpu") await tryWebgpu(details, auto);
  else if (name === "wasm") setupWasm(details, threads);
  const ok = await tf.setBackend(TF_NAME[name]);
  if (!ok || tf.getBackend() !== TF_NAME[name]) {
    throw new Error(`tf.setBackend("${TF_NAME[name]}") failed`);
  }
  if (name === "wasm") {
    registerWasmFallbacks();
    details.simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
    details.threads = tfwasm.getThreadsCount();
  }
}

/**
 * The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js ... install
 * our node backend" on its first use (also when wasm delegates a kernel to it). Here that
 * package cannot be installed (see above) and the choice is already made: mark the backend as
 * used so that the banner is not printed. Other tfjs warnings still are.
 */
function quietCpuBanner(): void {
  const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Pick and activate a backend. With `request`, only that backend is tried (an error says why it
 * failed); without, {@link BACKEND_ORDER} is tried in turn and each failure becomes one notice.
 * @param request `--backend` value, or undefined/"auto" for the default order
 * @param options `log` receives each one-line notice; `threads` sets the wasm thread count
 */
export async function selectBackend(
  request: string | undefined,
  options: { log?: (msg: string) => void; threads?: number } = {},
): Promise<BackendInfo> {
  const log = options.log ?? ((m: string) => console.error(m));
  const threads = options.threads ?? 0;
  quietCpuBanner();
  let order: readonly BackendName[] = BACKEND_ORDER;
  if (request && request !== "auto") {
    if (!isBackendName(request)) {
      throw new Error(
        `unknown backend "${request}": use one of ${BACKEND_ORDER.join(", ")} (or auto)`,
      );
    }
    order = [request];
  }
  const notices: string[] = [];
  for (const name of order) {
    const details: Record<string, unknown> = {};
    try {
      // Already active (a second stage in the same process): nothing to do.
      if (tf.getBackend() !== TF_NAME[name] || !tf.findBackend(TF_NAME[name])) {
        await activate(name, threads, details, order.length > 1);
      } else if (name === "wasm") {
        registerWasmFallbacks();
        details.simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
        details.threads = tfwasm.getThreadsCount();
      }
      return { name, tfName: TF_NAME[name], tfjsVersion: tf.version_core, details, notices };
    } catch (e) {
      const msg = `backend ${name} unavailable (${firstLine(e)}); trying the next one`;
      if (order.length === 1) {
        throw new Error(
          `backend ${name} was requested but does not load: ${firstLine(e)}. ` +
            `Use --backend with one of ${BACKEND_ORDER.join(", ")} or leave it unset.`,
        );
      }
      notices.push(msg);
      log(msg);
    }
  }
  throw new Error("no tfjs backend loads (not even cpu): check the tfjs install");
}

// ---------------------------------------------------------------------------------------------
// wasm fallback kernels

/** Kernels missing from the wasm backend that training may need; they run on the cpu backend. */
export const WASM_CPU_DELEGATED = [
  "Conv2DBackpropFilter",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
  "UnsortedSegmentSum",
] as const;

let wasmFallbacksDone = false;

function delegateToCpu(kernelName: string): tf.KernelConfig {
  const cpuKernel = tf.getKernel(kernelName, "cpu");
  if (!cpuKernel) throw new Error(`cpu backend has no ${kernelName} kernel to delegate to`);
  return {
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const cpu = tf.engine().findBackend("cpu");
      if (!cpu) {
        throw new Error("cpu backend is not registered (import @tensorflow/tfjs-backend-cpu)");
      }
      const wasm = backend as tf.KernelBackend;
      const cpuInputs: Record<string, tf.TensorInfo> = {};
      for (const [k, t] of Object.entries(inputs)) {
        if (!t) continue;
        const values = wasm.readSync(t.dataId) as tf.backend_util.TypedArray;
        cpuInputs[k] = {
          dataId: cpu.write(values, t.shape, t.dtype),
          shape: t.shape,
          dtype: t.dtype,
        };
      }
      const out = cpuKernel.kernelFunc({ inputs: cpuInputs, backend: cpu, attrs }) as tf.TensorInfo;
      const values = cpu.readSync(out.dataId) as tf.backend_util.TypedArray;
      for (const t of Object.values(cpuInputs)) cpu.disposeData(t.dataId);
      cpu.disposeData(out.dataId);
      return {
        dataId: wasm.write(values.slice(), out.shape, out.dtype),
        shape: out.shape,
        dtype: out.dtype,
      };
    },
  };
}

function transposeFirstMatMul(): tf.KernelConfig {
  const orig = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!orig || !transpose) throw new Error("wasm backend lacks BatchMatMul/Transpose kernels");
  return {
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return orig.kernelFunc({ inputs, backend, attrs });
      const wasm = backend as tf.KernelBackend;
      const flip = (t: tf.TensorInfo) => {
        const r = t.shape.length;
        const perm = [...Array(r - 2).keys(), r - 1, r - 2];
        return transpose.kernelFunc({
          inputs: { x: t },
          backend,
          attrs: { perm },
        }) as tf.TensorInfo;
      };
      const ta = transposeA ? flip(a) : a;
      const tb = transposeB ? flip(b) : b;
      const out = orig.kernelFunc({
        inputs: { a: ta, b: tb },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
      if (ta !== a) wasm.disposeData(ta.dataId);
      if (tb !== b) wasm.disposeData(tb.dataId);
      return out;
    },
  };
}

/**
 * Register the wasm fallbacks (idempotent): the kernels in {@link WASM_CPU_DELEGATED} run on the
 * cpu backend (inputs copied out of and results back into wasm memory), and `BatchMatMul` with a
 * transpose flag transposes its operand first (15–45× faster than XNNPACK's transposed path).
 * Must run after `@tensorflow/tfjs-backend-wasm` is imported (this module imports it at the top).
 */
export function registerWasmFallbacks(): void {
  if (wasmFallbacksDone) return;
  for (const name of WASM_CPU_DELEGATED) {
    if (!tf.getKernel(name, "wasm")) tf.registerKernel(delegateToCpu(name));
  }
  const mm = transposeFirstMatMul();
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(mm);
  wasmFallbacksDone = true;
}
