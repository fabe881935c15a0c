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
  /**
   * The value is the path of a file the stage reads (a string, or a list of strings; `""` means
   * none). The engine puts each file's content digest into the cache key, so editing the file
   * makes the stage stale. Relative paths are resolved against the working directory, `~/`
   * against `$HOME`. For paths nested in structured params, use {@link StageKind.files}.
   */
  file?: boolean;
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
  /**
   * Declared input aliases → one line each on what the input must be. `"any"`: the kind takes
   * any alias (e.g. a check or report reading every upstream it is given). Omitted: no inputs.
   * An alias not declared here is a validation error.
   */
  inputs?: Readonly<Record<string, string>> | "any";
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
   * Checks the params as a whole when the pipeline is loaded, beyond each param's type (for
   * what a {@link ParamSpec} cannot say: "give either these or those", a list's rows). Returns
   * problems, each saying what to do: a string is located at the stage's `with:`, a
   * `{ param, message }` at that param (at item i of a list when the message starts with
   * `name[i]`). They are reported as validation errors (exit 2) before anything runs.
   */
  validate?: (params: P) => (string | { param: string; message: string })[];
  /**
   * Files the stage reads that are not another stage's output, e.g. a user's label file named
   * inside a structured param. Their contents go into the cache key (through the stat cache),
   * like params marked {@link ParamSpec.file}. `inputs` are the stage's input aliases, so a kind
   * can leave out paths it resolves inside an input. Relative paths are resolved against the
   * working directory. Must not throw: a param it cannot read is the run's error to report.
   */
  files?: (params: P, options: { inputs: readonly string[] }) => string[];
  /**
   * What one run of a stage of this kind asks a cluster scheduler for (`--executor slurm`):
   * cpus, memory, gpus, time, partition. Ignored by the local executor.
   */
  resources?: StageResources;
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

/** Resources a stage's scheduler job asks for (each maps to one `sbatch` flag). */
export interface StageResources {
  /** `--cpus-per-task`. */
  cpus?: number;
  /** `--mem`, e.g. `8G`. */
  memory?: string;
  /** `--gpus`. */
  gpus?: number;
  /** `--time`, e.g. `2:00:00`. */
  time?: string;
  /** `--partition`. */
  partition?: string;
}

/** Kinds by name, handed to the engine by the entry point. */
export type Registry = ReadonlyMap<string, StageKind>;
