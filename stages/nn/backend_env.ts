/**
 * The compute backend a stage will run on, as its `environment()` names it in the cache key,
 * found without loading TensorFlow.js wherever the answer is certain: `status`, `dag` and a no-op
 * `reproduce` compute every DSE key, and loading tfjs (and starting its wasm backend) for that
 * cost more than the rest of a no-op run.
 *
 * The answer is the one {@link selectBackend} (stages/nn/backend.ts) gives in the same process.
 * Each backend of {@link BACKEND_ORDER} is judged without tfjs: `node-gpu`/`node` are skipped when
 * their package does not resolve (the import {@link selectBackend} tries would fail the same
 * way), `webgpu` when `navigator.gpu` is missing or the child-process probe finds no adapter, a
 * failing probe or a software one (the cases in which {@link selectBackend} skips it before
 * loading anything), `wasm` is taken when WebAssembly exists and the backend's binaries are
 * there, `cpu` always. Whenever a backend might load but only loading it can tell (a tfjs-node
 * package that resolves, a hardware WebGPU adapter, missing wasm binaries, an explicit request for
 * `node-gpu`, `node` or `webgpu`), this defers to {@link selectBackend} itself.
 * @module
 */
import {
  BACKEND_ORDER,
  type BackendName,
  probeAdapterInChild,
  wasmDistUrl,
} from "./backend_names.ts";

/** The wasm binaries tfjs-backend-wasm picks from without threads (SIMD or not). */
const WASM_BINARIES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"];

/** Whether a backend of the automatic order is taken, skipped, or only loading it can tell. */
type Verdict = "yes" | "skip" | "load";

/**
 * Name of the backend {@link selectBackend} would pick for `request` (`--backend`; undefined or
 * `auto` for the automatic order), decided without loading tfjs where that is certain (see the
 * module doc). Used by the kinds' `environment()` so that the backend is part of the cache key.
 * Resolved once per process and request, not once per stage.
 */
export function resolveBackendName(request: string | undefined): Promise<BackendName> {
  const key = request ?? "";
  let found = resolved.get(key);
  if (!found) {
    found = resolve(request);
    resolved.set(key, found);
  }
  return found;
}

const resolved = new Map<string, Promise<BackendName>>();

/** How many times this process has loaded tfjs to answer {@link resolveBackendName} (tests). */
export function tfjsLoadsForResolve(): number {
  return loads;
}

let loads = 0;

async function resolve(request: string | undefined): Promise<BackendName> {
  if (request && request !== "auto") {
    if (request === "cpu") return "cpu";
    if (request === "wasm" && wasmLoadable()) return "wasm";
    return await selectWithTfjs(request); // the same name, or the same error as before
  }
  for (const name of BACKEND_ORDER) {
    const verdict = await judge(name);
    if (verdict === "yes") return name;
    if (verdict === "load") return await selectWithTfjs(undefined);
  }
  throw new Error("unreachable: cpu is always available");
}

async function selectWithTfjs(request: string | undefined): Promise<BackendName> {
  loads++;
  const { selectBackend } = await import("./backend.ts");
  return (await selectBackend(request, { log: () => {} })).name;
}

async function judge(name: BackendName): Promise<Verdict> {
  switch (name) {
    case "node-gpu":
    case "node": {
      // The specifier stages/nn/backend.ts imports, resolved from the same directory.
      const specifier = ["@tensorflow", name === "node" ? "tfjs-node" : "tfjs-node-gpu"].join("/");
      try {
        import.meta.resolve(specifier);
      } catch {
        return "skip";
      }
      return "load";
    }
    case "webgpu": {
      if (!(navigator as { gpu?: unknown }).gpu) return "skip";
      const probe = await probeAdapterInChild();
      return probe.error || !probe.found || probe.software ? "skip" : "load";
    }
    case "wasm":
      return wasmLoadable() ? "yes" : "load";
    case "cpu":
      return "yes";
  }
}

function wasmLoadable(): boolean {
  if (typeof WebAssembly !== "object") return false;
  const dir = wasmDistUrl();
  try {
    return WASM_BINARIES.every((f) => Deno.statSync(new URL(f, dir)).isFile);
  } catch {
    return false;
  }
}
