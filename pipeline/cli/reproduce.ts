/**
 * `reproduce [target]` and `stage <name>`: run a target's stages, or one stage and what it
 * needs, and print the run's summary.
 * @module
 */
import type { Project } from "../project.ts";
import { formatDuration, runStages, type RunSummary } from "../run.ts";
import { didYouMean, UsageError } from "../usage.ts";
import { clusterOptions } from "../executor/setup.ts";
import {
  CLUSTER_FLAGS,
  type CommandArgs,
  type CommandContext,
  type EngineCommand,
  SHARED_FLAGS,
} from "./command.ts";

/** `reproduce [target]`. */
export const reproduceCommand: EngineCommand = {
  usage: "reproduce [target]",
  description: "run a target (default: the pipeline's default target)",
  flags: { ...SHARED_FLAGS, ...CLUSTER_FLAGS },
  async run(args, ctx) {
    const project = await ctx.open();
    if (args.positionals.length > 1) throw new UsageError("reproduce takes at most one target");
    const target = args.positionals[0] ?? project.pipeline.defaultTarget;
    const names = project.targetStages(target);
    return await runAndReport(project, names, { args, ctx, target, force: new Set() });
  },
};

/** `stage <name>`. */
export const stageCommand: EngineCommand = {
  usage: "stage <name>",
  description: "run a stage and what it needs (exact name, glob, or prefix <name>-*)",
  flags: {
    ...SHARED_FLAGS,
    ...CLUSTER_FLAGS,
    force: { type: "boolean", help: "re-run the named stage even if fresh" },
  },
  async run(args, ctx) {
    const project = await ctx.open();
    if (args.positionals.length !== 1) throw new UsageError("usage: stage <name> [--force]");
    const arg = args.positionals[0];
    const picked = project.matchStages(arg);
    if (!picked.length) {
      throw new UsageError(
        `no stage matches '${arg}' (exact name, glob, or prefix '${arg}-*')${
          didYouMean(arg, project.pipeline.stages.keys())
        }; see \`status\``,
      );
    }
    const force = args.values.force ? new Set(picked) : new Set<string>();
    return await runAndReport(project, project.closure(picked), { args, ctx, force });
  },
};

/** Parses `--jobs`: a positive integer, else the context's default. */
export function parseJobs(value: string | boolean | undefined, fallback: () => number): number {
  if (value === undefined) return fallback();
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new UsageError(`--jobs must be a positive integer`);
  }
  return jobs;
}

async function runAndReport(
  project: Project,
  names: string[],
  o: { args: CommandArgs; ctx: CommandContext; target?: string; force: Set<string> },
): Promise<number> {
  const { values } = o.args;
  const { ctx } = o;
  const cluster = await clusterOptions({
    executor: values.executor as string | undefined,
    remote: values.remote as string | undefined,
    "sbatch-arg": values["sbatch-arg"] as string[] | undefined,
  }, { project, globals: ctx.globals, runOptions: ctx.runOptions, env: ctx.env, warn: ctx.err });
  const summary = await runStages(project, names, {
    ...cluster,
    jobs: parseJobs(values.jobs as string | undefined, ctx.defaultJobs),
    workers: values["in-process"] ? false : undefined,
    dryRun: !!values["dry-run"],
    force: o.force,
    signal: ctx.signal,
    write: values.json ? ctx.err : ctx.out,
    tty: ctx.tty && !values.json,
  });
  reportSummary(summary, { json: !!values.json, target: o.target, out: ctx.out });
  if (ctx.signal?.aborted) return 130;
  return summary.ok ? 0 : 1;
}

function reportSummary(
  summary: RunSummary,
  o: { json: boolean; target?: string; out: (s: string) => void },
) {
  const count = (s: string) => summary.stages.filter((r) => r.state === s).length;
  const failedVerdicts = summary.stages.filter((r) => r.verdict && !r.verdict.ok);
  if (o.json) {
    o.out(JSON.stringify({ target: o.target ?? null, ...summary }, null, 1));
    return;
  }
  const parts = ["done", "cached", "would-run", "failed", "skipped", "cancelled"]
    .map((s) => [s, count(s)] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  o.out(
    `${summary.ok ? "ok" : "FAILED"}: ${parts.join(", ") || "nothing to do"} in ${
      formatDuration(summary.duration_ms)
    }`,
  );
  for (const r of summary.stages.filter((r) => r.state === "failed")) {
    o.out(`  failed ${r.name}: ${r.error}${r.log ? `\n    log: ${r.log}` : ""}`);
  }
  for (const r of failedVerdicts) o.out(`  verdict FAIL ${r.name}: ${r.verdict!.summary}`);
}
