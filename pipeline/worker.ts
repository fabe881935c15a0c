/**
 * Web Worker that runs one stage off the main thread (used when `--jobs` > 1, so CPU-bound
 * stages really run in parallel). It imports the kind's module, finds the exported kind by
 * name, and runs it with a context whose progress, log and console output are posted back.
 * @module
 */
import type { StageContext, StageKind } from "./types.ts";

/** Start message from the runner. */
export interface WorkerStart {
  /** Message type. */
  type: "start";
  /** `kind.module`. */
  module: string;
  /** Kind name. */
  kind: string;
  /** Serializable parts of the stage context. */
  ctx: {
    name: string;
    params: Record<string, unknown>;
    inputs: Record<string, string>;
    tmp: string;
    scratch: string;
    env: Record<string, string>;
    options: Record<string, string>;
  };
}

/** Messages posted back to the runner. */
export type WorkerReply =
  | { type: "nokind" }
  | { type: "log"; msg: string }
  | { type: "progress"; done: number; total: number; note?: string }
  | { type: "done"; verdict?: unknown; provenance: Record<string, unknown> }
  | { type: "error"; message: string; stack?: string };

function isKind(v: unknown, name: string): v is StageKind {
  return !!v && typeof v === "object" && (v as StageKind).name === name &&
    typeof (v as StageKind).run === "function";
}

/** Finds an exported kind named `name` (directly, or inside an exported array). */
export function findKind(mod: Record<string, unknown>, name: string): StageKind | undefined {
  for (const v of Object.values(mod)) {
    if (isKind(v, name)) return v;
    if (Array.isArray(v)) {
      const k = v.find((x) => isKind(x, name));
      if (k) return k;
    }
  }
  return undefined;
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.postMessage === "function" && typeof scope.WorkerGlobalScope !== "undefined") {
  const post = (m: WorkerReply) => scope.postMessage(m);
  const ac = new AbortController();
  const fmt = (args: unknown[]) =>
    args.map((a) => (typeof a === "string" ? a : Deno.inspect(a, { colors: false }))).join(" ");
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) => post({ type: "log", msg: fmt(args) });
  }
  scope.onmessage = async (e: MessageEvent<WorkerStart | { type: "abort"; reason?: string }>) => {
    const m = e.data;
    if (m.type === "abort") {
      ac.abort(new Error(m.reason ?? "cancelled"));
      return;
    }
    try {
      const mod = await import(m.module);
      const kind = findKind(mod, m.kind);
      if (!kind) {
        post({ type: "nokind" });
        return;
      }
      const provenance: Record<string, unknown> = {};
      const c = m.ctx;
      const ctx: StageContext = {
        name: c.name,
        params: c.params,
        inputs: c.inputs,
        out(o: string) {
          const slash = o.lastIndexOf("/");
          if (slash > 0) Deno.mkdirSync(`${c.tmp}/${o.slice(0, slash)}`, { recursive: true });
          return `${c.tmp}/${o}`;
        },
        scratch: c.scratch,
        progress: (done, total, note) => post({ type: "progress", done, total, note }),
        log: (msg) => post({ type: "log", msg }),
        signal: ac.signal,
        env: c.env,
        provenance,
        options: c.options,
      };
      const verdict = await kind.run(ctx);
      post({ type: "done", verdict: verdict ?? undefined, provenance });
    } catch (err) {
      const x = err as Error;
      post({ type: "error", message: String(x?.message ?? x), stack: x?.stack });
    }
  };
}
