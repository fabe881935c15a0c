/**
 * The compute backends' names and what can be learnt about them without loading TensorFlow.js:
 * the `--backend` choices, the wasm binaries' directory and the WebGPU adapter probe. The CLI
 * (`--backend` choices) and the kinds' `environment()` (stages/nn/backend_env.ts) use this module,
 * so that `status`, `dag` and a no-op `reproduce` never load tfjs; stages/nn/backend.ts, which
 * loads and activates a backend, builds on it.
 * @module
 */

/** Backend names accepted by `--backend`, in the order tried by default. */
export const BACKEND_ORDER = ["node-gpu", "node", "webgpu", "wasm", "cpu"] as const;

/** One of {@link BACKEND_ORDER}. */
export type BackendName = typeof BACKEND_ORDER[number];

/** Our backend name → the tfjs backend name it registers. */
export const TF_NAME: Record<BackendName, string> = {
  "node-gpu": "tensorflow",
  node: "tensorflow",
  webgpu: "webgpu",
  wasm: "wasm",
  cpu: "cpu",
};

/** Is `name` a backend name we know? */
export function isBackendName(name: string): name is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(name);
}

/** The first line of an error's message (at most 160 characters), for one-line notices. */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0].slice(0, 160);
}

/** file: URL of the wasm backend's `dist/` directory (where the `.wasm` binaries live). */
export function wasmDistUrl(): string {
  // The package's main entry is `dist/index.js` (or a bundle in dist/); resolve the directory.
  const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  if (entry.startsWith("file:")) return new URL("./", entry).href;
  // npm: resolution without a node_modules dir: fall back to the project's node_modules.
  return new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href;
}

/** What a WebGPU adapter request found. */
export interface AdapterProbe {
  /** An adapter was returned. */
  found: boolean;
  /** Its description or vendor. */
  description?: string;
  /** A software fallback (e.g. Mesa lavapipe or llvmpipe). */
  software?: boolean;
  /** Why no answer came (the probe itself failed). */
  error?: string;
}

/** The adapter probe, as a program `deno eval` runs; it prints one JSON line. */
const PROBE_CODE = `const a = await navigator.gpu?.requestAdapter();
console.log(JSON.stringify(a ? { found: true, description: a.info?.description ||
  a.info?.vendor || "unknown", software: Boolean(a.info?.isFallbackAdapter) } : { found: false }));`;

/**
 * Ask for a WebGPU adapter in a child `deno eval`, so that the automatic choice never brings up
 * WebGPU in this process unless it is used. Tearing WebGPU down in a worker thread (`deno test
 * --parallel` runs modules in workers) can corrupt the heap at exit: a test module that only calls
 * `requestAdapter()` crashed 5 of 75 parallel runs here ("double free or corruption"); the same
 * call on the main thread never did in 40. Without permission to run a child (see childDenos), it
 * asks in process.
 */
export async function probeAdapterInChild(
  options: { timeoutMs?: number } = {},
): Promise<AdapterProbe> {
  let child: Deno.ChildProcess | undefined;
  for (const exe of childDenos()) {
    try {
      child = new Deno.Command(exe, {
        args: ["eval", PROBE_CODE],
        stdout: "piped",
        stderr: "null",
        env: { NO_COLOR: "1" },
      }).spawn();
      break;
    } catch (e) {
      const next = e instanceof Deno.errors.NotCapable ||
        e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound;
      if (!next) return { found: false, error: `cannot start the probe: ${firstLine(e)}` };
    }
  }
  if (!child) return await probeAdapterHere();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  try {
    const { stdout } = await child.output();
    const line = new TextDecoder().decode(stdout).trim().split("\n").pop() ?? "";
    try {
      return JSON.parse(line) as AdapterProbe;
    } catch {
      return { found: false, error: "the probe printed no answer (crashed or timed out)" };
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Denos to try for the probe, in order: this executable, then `deno` on PATH when the
 * permissions name it (`--allow-run=deno` in deno.json's tasks: under `npx`, PATH's `deno` links
 * to this executable, whose versioned path `--allow-run` cannot name). None: ask in process.
 */
function childDenos(): string[] {
  const granted = (command: string) =>
    Deno.permissions.querySync({ name: "run", command }).state === "granted";
  return [Deno.execPath(), "deno"].filter(granted);
}

/** Ask for a WebGPU adapter in this process (see {@link probeAdapterInChild} for why not by default). */
export async function probeAdapterHere(): Promise<AdapterProbe> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) return { found: false };
  return {
    found: true,
    description: adapter.info?.description || adapter.info?.vendor || "unknown",
    software: Boolean(
      (adapter.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter,
    ),
  };
}
