/**
 * The command-line side of executors and remotes: builds them from `--executor`, `--sbatch-arg`
 * and `--remote`, and runs the hidden `run-one` command a Slurm job executes.
 * @module
 */
import { fileURLToPath } from "node:url";
import { cacheKey } from "../key.ts";
import { optionKey, type Project } from "../project.ts";
import type { RunOption } from "../types.ts";
import { runStages } from "../run.ts";
import { UsageError } from "../usage.ts";
import { openRemote, type Remote } from "../remote/mod.ts";
import { type Executor, EXECUTORS } from "./mod.ts";
import { SlurmExecutor } from "./slurm.ts";

/** The engine flags a job's CLI must get to see the same pipeline, store and options. */
export interface EngineFlags {
  /** pipeline.yaml path. */
  pipeline: string;
  /** Artifact store root. */
  artifacts: string;
  /** `--set` overrides. */
  set: string[];
  /** ctx.options (mirror, backend, lock). */
  options: Record<string, string>;
  /** --verify. */
  verify: boolean;
}

/** The flags of `reproduce`/`stage` this module reads. */
export interface ClusterFlags {
  /** `--executor`. */
  executor?: string;
  /** `--sbatch-arg` (repeatable). */
  "sbatch-arg"?: string[];
  /** `--remote`. */
  remote?: string;
}

function absolute(p: string): string {
  return p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
}

/**
 * Engine flags and run options as arguments, paths made absolute (a job starts elsewhere). Each
 * run option is given back by its own flag (`runOptions`), a switch without a value.
 */
export function engineArgs(g: EngineFlags, runOptions: readonly RunOption[] = []): string[] {
  const out = ["--pipeline", absolute(g.pipeline), "--artifacts", absolute(g.artifacts)];
  for (const s of g.set) out.push("--set", s);
  for (const o of runOptions) {
    const v = g.options[optionKey(o)];
    if (v === undefined) continue;
    if (o.value === undefined) out.push(`--${o.flag}`);
    else out.push(`--${o.flag}`, v);
  }
  if (g.verify) out.push("--verify");
  return out;
}

/**
 * `runStages` options for the cluster flags: the executor (undefined: local) and the remote
 * (probed here; a server that ignores conditional writes is reported through `warn`).
 * `DSE_JOB_CLI` (through `env`) overrides the command a job runs the CLI with (default: this
 * deno, `run -A`, this process's main module); `DSE_SLURM_BIN` names the directory of the Slurm
 * commands (default: PATH); `DSE_SLURM_POLL_MS` the poll interval (default 2000).
 */
export async function clusterOptions(
  flags: ClusterFlags,
  context: {
    project: Project;
    globals: EngineFlags;
    runOptions?: readonly RunOption[];
    env: (name: string) => string | undefined;
    warn: (line: string) => void;
  },
): Promise<{ executor?: Executor; remote?: Remote }> {
  const name = flags.executor ?? "local";
  if (!(EXECUTORS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown --executor '${name}'; use one of ${EXECUTORS.join(", ")}`);
  }
  if (flags["sbatch-arg"]?.length && name !== "slurm") {
    throw new UsageError("--sbatch-arg needs --executor slurm");
  }
  let executor: Executor | undefined;
  if (name === "slurm") {
    const cli = context.env("DSE_JOB_CLI")?.trim().split(/\s+/) ??
      [Deno.execPath(), "run", "-A", fileURLToPath(Deno.mainModule)];
    const project = context.project;
    const poll = Number(context.env("DSE_SLURM_POLL_MS") ?? 2000);
    executor = new SlurmExecutor({
      cli,
      args: engineArgs(context.globals, context.runOptions),
      sbatchArgs: flags["sbatch-arg"] ?? [],
      resources: (stage) => project.kind(stage).resources,
      pollMs: Number.isFinite(poll) && poll > 0 ? poll : 2000,
      bin: context.env("DSE_SLURM_BIN"),
    });
  }
  let remote: Remote | undefined;
  if (flags.remote) {
    remote = await openRemote(flags.remote, context.env);
    const warning = await remote.probe();
    if (warning) context.warn(`warning: ${warning}`);
  }
  return { executor, remote };
}

/**
 * The hidden `run-one <stage> --expect-key <key>` a Slurm job runs: the stage alone (its inputs
 * must be committed), refusing if the key computed here differs from the orchestrator's.
 * Returns the exit code.
 */
export async function runOne(
  project: Project,
  positionals: string[],
  options: { expectKey?: string; force?: boolean; write: (line: string) => void },
): Promise<number> {
  if (positionals.length !== 1 || !options.expectKey) {
    throw new UsageError("usage: run-one <stage> --expect-key <key> (run by a Slurm job)");
  }
  const name = positionals[0];
  if (!project.pipeline.stages.has(name)) throw new UsageError(`run-one: no stage '${name}'`);
  const ing = await project.ingredients(name);
  if (!ing.ok) {
    options.write(
      `run-one ${name}: inputs not committed in ${project.store.root}: ${ing.waiting.join(", ")}`,
    );
    return 1;
  }
  const key = cacheKey(ing.ingredients);
  if (key !== options.expectKey) {
    options.write(
      `run-one ${name}: this node computes key ${key.slice(0, 12)}, the orchestrator expects ${
        options.expectKey.slice(0, 12)
      }: code, params, files or environment differ here (is the checkout on a shared filesystem?)`,
    );
    return 1;
  }
  const summary = await runStages(project, [name], {
    jobs: 1,
    workers: false,
    force: options.force ? new Set([name]) : undefined,
    write: options.write,
  });
  return summary.ok ? 0 : 1;
}
