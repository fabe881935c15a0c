/**
 * `run-one <stage> --expect-key <key>` (hidden): what one Slurm job runs — the stage alone
 * against the shared store, refusing when the key computed here is not the orchestrator's
 * (see `executor/setup.ts`).
 * @module
 */
import { runOne } from "../executor/setup.ts";
import type { EngineCommand } from "./command.ts";

/** `run-one <stage> --expect-key <key>`. */
export const runOneCommand: EngineCommand = {
  usage: "run-one <stage> --expect-key <key>",
  description: "run one stage alone with the key it must produce (what a cluster job runs)",
  hidden: true,
  flags: {
    "expect-key": { type: "string", value: "<key>", help: "the key the orchestrator computed" },
    force: { type: "boolean", help: "re-run even if fresh" },
  },
  async run(args, ctx) {
    return await runOne(await ctx.open(), args.positionals, {
      expectKey: args.values["expect-key"] as string | undefined,
      force: !!args.values.force,
      write: ctx.err,
    });
  },
};
