/**
 * `deno task bench [area...]`: prints speed figures for every area, or the named ones.
 * Benchmarks print; they never assert (targets are read off by a person or CI script).
 *
 * Areas: pipeline (no-op reproduce, hashing vs sha256sum), eval (mAP), linalg (eigen-solvers),
 * raw (image decode/resize, LDA sweeps, ResNet-50 forward per backend), dse (training samples/s per
 * backend).
 * @module
 */
import { bench as dse } from "./dse.ts";
import { bench as evaluation } from "./eval.ts";
import { bench as linalg } from "./linalg.ts";
import { bench as pipeline } from "./pipeline.ts";
import { bench as raw } from "./raw.ts";

const AREAS: Record<string, () => Promise<void>> = {
  pipeline,
  eval: evaluation,
  linalg,
  raw,
  dse,
};

/** Runs the named areas (all when `names` is empty), printing a header before each. */
export async function runBenchmarks(names: string[]): Promise<void> {
  const chosen = names.length ? names : Object.keys(AREAS);
  for (const name of chosen) {
    const fn = AREAS[name];
    if (!fn) {
      throw new Error(`unknown bench area '${name}'; areas: ${Object.keys(AREAS).join(", ")}`);
    }
    console.log(`\n=== bench: ${name} ===`);
    await fn();
  }
}

if (import.meta.main) await runBenchmarks(Deno.args);
