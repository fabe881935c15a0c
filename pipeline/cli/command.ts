/**
 * The shape of an engine command (one file each: reproduce.ts, status.ts, dag.ts, gc.ts,
 * unlock.ts, kinds.ts) and the flags they share.
 * @module
 */
import type { Project } from "../project.ts";
import type { GlobalOptions, Registry, RunOption } from "../types.ts";

/** A command's own flag (parsed with node:util parseArgs). */
export interface Flag {
  /** `boolean` switch or `string` value. */
  type: "boolean" | "string";
  /** The value's placeholder in `--help`, e.g. `<n>`. */
  value?: string;
  /** One line for `--help`. */
  help: string;
  /** Repeatable: the value is the list of every occurrence. */
  multiple?: boolean;
}

/** What an engine command gets from the dispatcher. */
export interface CommandContext {
  /** Engine flags and the domain's run options, parsed. */
  globals: GlobalOptions;
  /** Loads and validates the pipeline and opens the store. */
  open(): Promise<Project>;
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr. */
  err(line: string): void;
  /** Kinds by name. */
  registry: Registry;
  /** Cancels a running reproduce/stage. */
  signal?: AbortSignal;
  /** stdout is a terminal. */
  tty: boolean;
  /** `--jobs` when the command line does not give it (reads the machine: call it when needed). */
  defaultJobs(): number;
  /** The domain's run options (how `globals.options` came from flags). */
  runOptions: readonly RunOption[];
  /** Environment lookup. */
  env(name: string): string | undefined;
}

/** Parsed flags and positionals of a command. */
export interface CommandArgs {
  /** Flag values by name. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/** An engine command. */
export interface EngineCommand {
  /** Name and positionals for `--help`, e.g. `reproduce [target]`. */
  usage: string;
  /** One line for `--help`. */
  description: string;
  /** Its own flags by name (without `--`). */
  flags: Record<string, Flag>;
  /** Left out of `--help` (e.g. `run-one`, what a cluster job runs). */
  hidden?: boolean;
  /** Runs it; returns the exit code. Usage mistakes throw a UsageError. */
  run(args: CommandArgs, ctx: CommandContext): Promise<number>;
}

/** Flags more than one command takes. */
export const SHARED_FLAGS = {
  json: { type: "boolean", help: "machine-readable output" },
  "dry-run": { type: "boolean", help: "show what would run; run and write nothing" },
  jobs: {
    type: "string",
    value: "<n>",
    help: "stages run concurrently, each in a worker thread; 1 runs them in-process " +
      "(default: the CPU cores, at most one per GiB of available memory)",
  },
  "in-process": {
    type: "boolean",
    help: "with --jobs: run stages on the main thread (async interleaving only)",
  },
} as const satisfies Record<string, Flag>;

/** Flags of `reproduce` and `stage` that choose where stages run and which cache they share. */
export const CLUSTER_FLAGS = {
  executor: {
    type: "string",
    value: "<name>",
    help: "local (default) or slurm: one sbatch job per stage (--jobs caps jobs in flight)",
  },
  "sbatch-arg": {
    type: "string",
    value: "<flag>",
    multiple: true,
    help: "an extra sbatch flag, e.g. --sbatch-arg=--account=lab (repeatable)",
  },
  remote: {
    type: "string",
    value: "<url>",
    help: "shared cache s3://bucket/prefix (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID...)",
  },
} as const satisfies Record<string, Flag>;
