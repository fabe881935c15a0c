/**
 * pipeline.yaml → a validated, expanded {@link Pipeline}, in six named phases:
 *
 * 1. {@link parse}: YAML → top-level fields, params with `--set` applied;
 * 2. interpolate (`./interpolate.ts`): `${{ params.x }}`, `${{ matrix.k }}`, used by the next phase;
 * 3. {@link expand}: each `stages:` entry → one draft stage per matrix combination;
 * 4. {@link resolve}: kinds, inputs (patterns with `*`, `?` and `{captures}`), the graph, cycles;
 * 5. {@link typeCheck}: params against the kinds' declarations, outputs, `stage/output` inputs;
 * 6. {@link targets}: named sets of stages and the default target.
 *
 * Every error is located (`file:line:col`) from the YAML node ranges: YAML syntax errors, unknown
 * kinds (listing the known ones), unknown inputs and outputs, patterns that match nothing or
 * ambiguously, wrong or unknown params, missing required params, duplicate names after matrix
 * expansion, cycles (`a → b → a`), bad targets. All errors of a phase are collected and thrown
 * together as a {@link PipelineError}.
 * @module
 */
import { expand } from "./expand.ts";
import { parse } from "./parse.ts";
import { resolve } from "./resolve.ts";
import { targets } from "./targets.ts";
import { typeCheck } from "./typecheck.ts";
import { type LoadOptions, type Pipeline, PipelineError } from "./types.ts";

export {
  type Diagnostic,
  formatDiagnostic,
  type InputSpec,
  type LoadOptions,
  type Pipeline,
  PipelineError,
  type StageSpec,
} from "./types.ts";
export { checkParam, matrixValueName, parseSetValue, RESERVED_OUTPUTS } from "./values.ts";
export { yamlOptions } from "./parse.ts";
export { compilePattern, isGlob, isPattern, matchGlob, NameIndex } from "./patterns.ts";

/** Parses and validates pipeline text. `file` is used in diagnostics. */
export function parsePipeline(text: string, options: LoadOptions & { file: string }): Pipeline {
  const parsed = parse(text, options);
  const drafts = expand(parsed);
  const { stages, graph } = resolve(drafts, options.registry, parsed.diag);
  const specs = typeCheck(stages, parsed.fromSet, parsed.diag);
  const t = targets(parsed, specs.keys());
  parsed.diag.check();
  return {
    file: options.file,
    params: parsed.params,
    stages: specs,
    graph,
    targets: t.targets,
    defaultTarget: t.defaultTarget,
  };
}

/** Reads and validates a pipeline file. Throws {@link PipelineError} on any problem. */
export async function loadPipeline(path: string, options: LoadOptions): Promise<Pipeline> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : String(e);
    throw new PipelineError([{
      file: path,
      message: `cannot read pipeline (${why}); pass --pipeline <file>`,
    }]);
  }
  return parsePipeline(text, { ...options, file: path });
}
