/**
 * The contract between the engine (`pipeline/`) and the domain (`stages/`).
 *
 * The engine never imports `stages/`; the entry point hands it a {@link Registry}.
 * @module
 */

/** The JSON-ish type a parameter may declare. `any` skips type checking. */
export type ParamType =
  | "number"
  | "integer"
  | "string"
  | "boolean"
  | "array"
  | "object"
  | "any";

/** Declaration of one stage parameter. Defaults live here, not in pipeline.yaml. */
export interface ParamSpec {
  /** The expected JSON type. */
  type: ParamType;
  /** Value used when pipeline.yaml does not give one. A param without a default is required. */
  default?: unknown;
  /** Allowed values, if the set is closed. */
  enum?: readonly unknown[];
  /** One line shown by `status --explain` and in validation errors. */
  doc?: string;
}

/** Resolved parameters of one stage: every declared param, defaults filled in. */
export type Params = Record<string, unknown>;

/** What a running stage gets from the engine. */
export interface StageContext<P extends Params = Params> {
  /** The stage's name in the expanded DAG, e.g. `train-dse-ds-wiki`. */
  name: string;
  /** Validated params, defaults filled in. */
  params: P;
  /**
   * Alias → absolute path of an upstream artifact, read-only. An input written `stage` in
   * pipeline.yaml gives that stage's object directory; `stage/output` gives one declared output.
   */
  inputs: Record<string, string>;
  /** Absolute path where the declared output `name` must be written (inside a temp dir). */
  out(name: string): string;
  /** A directory that survives a kill, keyed by the cache key: for checkpoints and partial work. */
  scratch: string;
  /** Report progress; the engine renders a bar (TTY) or periodic lines. */
  progress(done: number, total: number, note?: string): void;
  /** Append a line to the stage's log file. */
  log(msg: string): void;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  /** Resolved environment values declared by the kind (e.g. `{ backend: "wasm" }`). */
  env: Record<string, string>;
  /** Values recorded into the object's manifest under `provenance` (seeds, versions, backend...). */
  provenance: Record<string, unknown>;
  /** Global run options the CLI passes through, e.g. `{ mirror: "/data" }`; not part of the key. */
  options: Record<string, string>;
}

/** A stage kind: registered by name, referenced by `uses:` in pipeline.yaml. */
export interface StageKind<P extends Params = Params> {
  /** Name used in `uses:`. */
  name: string;
  /** One line for `dag` and error messages. */
  description: string;
  /** `import.meta.url` of the module: its source and local imports go into the cache key. */
  module: string;
  /** Declared parameters. */
  params: Record<string, ParamSpec>;
  /** Declared outputs (file or directory names inside the object). */
  outputs: readonly string[] | ((params: P) => string[]);
  /**
   * Environment that changes results (e.g. the compute backend). Resolved once per run,
   * included in the cache key and the manifest.
   */
  environment?: (
    params: P,
    options: Record<string, string>,
  ) => Promise<Record<string, string>>;
  /**
   * Checks the resolved params as a whole when the pipeline loads, before anything runs (for
   * what a {@link ParamSpec} cannot say: a list's rows, fields that depend on each other).
   * Each problem becomes a spec error located at that param (exit 2).
   */
  validate?: (params: P) => { param: string; message: string }[];
  /**
   * Does the work. Must write every declared output through `ctx.out()`. May return a
   * {@link StageVerdict}: the outputs are committed, but the run is reported as failed.
   */
  run(ctx: StageContext<P>): Promise<void | StageVerdict>;
}

/**
 * A judgement a stage can return (e.g. a check whose rows are out of tolerance). The object is
 * still committed (its outputs are valid evidence), the verdict is stored in the manifest, and
 * `reproduce` exits non-zero, also when the stage is later served from the cache.
 */
export interface StageVerdict {
  /** False fails the run. */
  ok: boolean;
  /** One line for the run summary. */
  summary: string;
  /**
   * A breakdown of the verdict, as JSON the kind defines (e.g. counts and failures per group).
   * The engine stores it in the manifest and passes it through `reproduce --json` untouched.
   */
  detail?: Record<string, unknown>;
}

/** Kinds by name, handed to the engine by the entry point. */
export type Registry = ReadonlyMap<string, StageKind>;
