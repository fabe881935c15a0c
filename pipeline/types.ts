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

/**
 * A {@link ParamSpec} that also names the TypeScript type of its value, for structured params
 * (`any`, `array`, `object`) whose shape the JSON type cannot say. `of` is never set: it only
 * carries `T` (build one with `typedParam` of `stages/util/kind.ts`). The kind's `validate` must check the shape.
 */
export interface TypedParamSpec<T> extends ParamSpec {
  /** Type marker only; never present at run time. */
  readonly of?: T;
}

/**
 * The value type a declaration gives: the `T` of a {@link TypedParamSpec}, else the union of its
 * `enum`, else its JSON type (`number`/`integer` → number, `array` → unknown[], `any` → unknown).
 */
export type ParamValue<S> = S extends { readonly of?: infer T }
  ? unknown extends T ? JsonParamValue<S> : T
  : JsonParamValue<S>;

type JsonParamValue<S> = S extends { readonly enum: readonly (infer E)[] } ? E
  : S extends { readonly type: "number" | "integer" } ? number
  : S extends { readonly type: "string" } ? string
  : S extends { readonly type: "boolean" } ? boolean
  : S extends { readonly type: "array" } ? unknown[]
  : S extends { readonly type: "object" } ? Record<string, unknown>
  : unknown;

/** A declared params schema: name → declaration. */
export type ParamSchema = Readonly<Record<string, ParamSpec>>;

/** The params type a schema declares: every declared param, with its {@link ParamValue}. */
export type ParamsOf<S extends ParamSchema> = {
  -readonly [K in keyof S]: ParamValue<NonNullable<S[K]>>;
};

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
/**
 * A function of a kind's params. Declared as a method's type, so it is bivariant in `P` like
 * `run`: a `StageKind<P>` is then a `StageKind` (what the registry holds) without a cast.
 */
type OfParams<P, A extends unknown[], R> = { bivariant(params: P, ...args: A): R }["bivariant"];

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
  outputs: readonly string[] | OfParams<P, [], string[]>;
  /**
   * Environment that changes results (e.g. the compute backend). Resolved once per run,
   * included in the cache key and the manifest.
   */
  environment?: OfParams<P, [options: Record<string, string>], Promise<Record<string, string>>>;
  /**
   * Checks the params as a whole when the pipeline is loaded, beyond each param's type (for
   * what a {@link ParamSpec} cannot say: "give either these or those", a list's rows). Returns
   * problems, each saying what to do: a string is located at the stage's `with:`, a
   * `{ param, message }` at that param (at item i of a list when the message starts with
   * `name[i]`). They are reported as validation errors (exit 2) before anything runs.
   */
  validate?: OfParams<P, [], (string | { param: string; message: string })[]>;
  /**
   * Files the stage reads that are not another stage's output, e.g. a user's label file named
   * inside a structured param. Their contents go into the cache key (through the stat cache),
   * like params marked {@link ParamSpec.file}. `inputs` are the stage's input aliases, so a kind
   * can leave out paths it resolves inside an input. Relative paths are resolved against the
   * working directory. Must not throw: a param it cannot read is the run's error to report.
   */
  files?: OfParams<P, [options: { inputs: readonly string[] }], string[]>;
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

// ---------------------------------------------------------------------------------------------
// The command line's contract with the domain: run options it declares, commands it adds.

/**
 * A command-line option the domain declares (e.g. `--mirror`, `--backend`). The engine parses
 * it on every command, validates its `choices`, shows it in `--help`, and passes its value to
 * the stages as `ctx.options[key]`; it knows nothing else about it.
 */
export interface RunOption {
  /** The flag without `--`, e.g. `mirror`, `update-lock`. */
  flag: string;
  /** The key in `ctx.options` (default: the flag with `-` → `_`, e.g. `update_lock`). */
  key?: string;
  /** One line for `--help`. */
  help: string;
  /** The value's placeholder in `--help`, e.g. `<dir>`; absent: a switch, passed as `"1"`. */
  value?: string;
  /** An environment variable giving the default value (e.g. `DSE_DATA_MIRROR`). */
  env?: string;
  /** The accepted values; any other is a usage error (exit 2) before anything runs. */
  choices?: readonly string[];
  /**
   * Whether the value may change results and so enter cache keys. `true`: the engine hands it
   * to the kinds' `environment()`, whose result is part of the key (a kind that ignores it keeps
   * its key). `false`: it reaches `ctx.options` only, never a key (e.g. where data is downloaded
   * from, when the bytes are checked against pinned digests).
   */
  keyed: boolean;
  /** Record the value in every object's manifest, under `options` (provenance only). */
  record?: boolean;
}

/** Engine-wide options shared by every command. */
export interface GlobalOptions {
  /** pipeline.yaml path. */
  pipeline: string;
  /** Artifact store root. */
  artifacts: string;
  /** `--set key=value` overrides. */
  set: string[];
  /** ctx.options passed to stages: the values of the domain's {@link RunOption}s, by key. */
  options: Record<string, string>;
  /** Rehash everything. */
  verify: boolean;
}

/** What a domain command may ask of the opened project (the engine's `Project` provides it). */
export interface ProjectView {
  /** Target names. */
  targets(): string[];
  /** Stages a target needs, in topological order (an unknown target is a usage error). */
  targetStages(target?: string): string[];
  /** `names` and their upstream, in topological order. */
  closure(names: Iterable<string>): string[];
  /** Resolves a stage argument: exact name, else glob, else prefix `<name>-*`. */
  matchStages(arg: string): string[];
  /** A stage's spec: its kind and resolved params. */
  stage(name: string): { name: string; kind: string; params: Params };
  /** The object directory of a fresh stage, else undefined. */
  objectDir(name: string): Promise<string | undefined>;
  /** Each stage's state as `status` shows it. */
  states(
    names?: readonly string[],
  ): Promise<{ name: string; kind: string; state: string; reason: string; key?: string }[]>;
}

/** What a domain command gets from the engine. */
export interface EngineApi {
  /** Global options as parsed from the command line. */
  globals: GlobalOptions;
  /** Loads and validates the pipeline and opens the store (a pipeline error exits 2). */
  open(): Promise<ProjectView>;
  /** Writes a line to stdout. */
  stdout(line: string): void;
  /** Writes a line to stderr. */
  stderr(line: string): void;
}

/** A domain subcommand (e.g. `metrics`, `report`). */
export interface DomainCommand {
  /** One line for `--help`. */
  description: string;
  /**
   * Runs the command with its own arguments (engine flags such as --pipeline, --artifacts,
   * --set, --verify and the domain's {@link RunOption}s already removed). Returns the exit code.
   */
  run(args: string[], api: EngineApi): Promise<number>;
}
