/**
 * Test helper: run one stage kind directly, outside the engine, in a temp directory.
 * Engine behaviour (keys, store, locks) is tested in tests/pipeline with the real engine.
 * @module
 */
import type { Params, StageContext, StageKind, StageVerdict } from "../../pipeline/types.ts";

/** Result of {@link runKind}. */
export interface KindRun {
  /** The directory holding the outputs. */
  dir: string;
  /** Log lines. */
  logs: string[];
  /** Provenance the stage recorded. */
  provenance: Record<string, unknown>;
  /** The verdict, if the stage returned one. */
  verdict: StageVerdict | void;
}

/**
 * Run `kind` with `params` (defaults filled in) and `inputs`; checks every declared output exists.
 */
export async function runKind(
  kind: StageKind,
  options: {
    params?: Params;
    inputs?: Record<string, string>;
    scratch?: string;
    env?: Record<string, string>;
    options?: Record<string, string>;
    dir?: string;
  } = {},
): Promise<KindRun> {
  const params: Params = {};
  for (const [k, spec] of Object.entries(kind.params)) {
    params[k] = options.params && k in options.params ? options.params[k] : spec.default;
    if (params[k] === undefined) throw new Error(`test: param ${k} of ${kind.name} is required`);
  }
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: `kind-${kind.name}-` });
  const logs: string[] = [];
  const provenance: Record<string, unknown> = {};
  const ctx: StageContext = {
    name: `test-${kind.name}`,
    params,
    inputs: options.inputs ?? {},
    out: (name: string) => `${dir}/${name}`,
    scratch: options.scratch ?? await Deno.makeTempDir({ prefix: "scratch-" }),
    progress: () => {},
    log: (m: string) => void logs.push(m),
    signal: new AbortController().signal,
    env: options.env ?? {},
    provenance,
    options: options.options ?? {},
  };
  const verdict = await kind.run(ctx);
  const outs = typeof kind.outputs === "function" ? kind.outputs(params) : kind.outputs;
  for (const o of outs) await Deno.stat(`${dir}/${o}`);
  return { dir, logs, provenance, verdict };
}
