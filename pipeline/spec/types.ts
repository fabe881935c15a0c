/**
 * The types a validated pipeline is made of, and its error type. Shared by every phase of
 * {@link ./mod.ts}.
 * @module
 */
import type { Params, Registry } from "../types.ts";
import type { Graph } from "../dag.ts";

/** One located problem in a pipeline file. `line`/`col` are 1-based; absent for command-line errors. */
export interface Diagnostic {
  /** The pipeline file, or `--set` for command-line overrides. */
  file: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  col?: number;
  /** What is wrong and what to do. */
  message: string;
}

/** Formats a diagnostic as `file:line:col: error: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.col ?? 1}`;
  return `${where}: error: ${d.message}`;
}

/** Validation failed: the pipeline must not run. The CLI exits with code 2. */
export class PipelineError extends Error {
  /** Every problem found, in file order. */
  readonly diagnostics: Diagnostic[];
  /** Wraps `diagnostics`; the message lists them, one per line. */
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "PipelineError";
    this.diagnostics = diagnostics;
  }
}

/** One input of a stage: `alias: stage` (the whole object) or `alias: stage/output`. */
export interface InputSpec {
  /** Name the stage sees in `ctx.inputs`. */
  alias: string;
  /** Upstream stage name. */
  stage: string;
  /** A declared output of the upstream stage, or `undefined` for its whole object directory. */
  output?: string;
  /**
   * For an input selected by a capture pattern (`evals: "eval-{method}-wiki"`): what each
   * `{capture}` matched in this stage's name, e.g. `{ method: "cca" }`. Absent otherwise.
   */
  captures?: Record<string, string>;
}

/** One stage of the expanded DAG. */
export interface StageSpec {
  /** Unique name, placeholders filled in, e.g. `train-dse-cs`. */
  name: string;
  /** The `stages:` entry it came from, e.g. `train-dse-{variant}`. */
  entry: string;
  /** Kind name (`uses:`). */
  kind: string;
  /** Every declared param of the kind, resolved (pipeline values, `--set`, defaults). */
  params: Params;
  /** Inputs, in file order (a pattern's matches in pipeline order). */
  inputs: InputSpec[];
  /** Declared outputs (resolved with the params). */
  outputs: string[];
  /** Top-level params this stage references through `${{ params.x }}`. */
  paramRefs: string[];
  /** This stage's matrix combination (empty without a matrix). */
  matrix: Record<string, unknown>;
  /** Where the entry is defined. */
  line: number;
  /** Column of the entry. */
  col: number;
}

/** A validated pipeline. */
export interface Pipeline {
  /** The pipeline file as given. */
  file: string;
  /** Top-level params after `--set`. */
  params: Params;
  /** Stages in file order (matrix combinations in declaration order). */
  stages: Map<string, StageSpec>;
  /** Stage → the stages it reads (deduplicated). */
  graph: Graph;
  /** Target → stage names it lists (expanded; upstream not yet added). Always has `all`. */
  targets: Map<string, string[]>;
  /** The target `reproduce` runs without an argument. */
  defaultTarget: string;
}

/** Options of `parsePipeline` and `loadPipeline`. */
export interface LoadOptions {
  /** Kinds by name. */
  registry: Registry;
  /** `key=value` overrides of top-level params (`--set`). */
  set?: readonly string[];
}
