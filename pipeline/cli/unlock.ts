/**
 * `unlock [stage...]`: removes lock files, all of them or those of the named stages' keys.
 * @module
 */
import { didYouMean, UsageError } from "../usage.ts";
import type { EngineCommand } from "./command.ts";

/** `unlock [stage...]`. */
export const unlockCommand: EngineCommand = {
  usage: "unlock [stage...]",
  description: "remove lock files (all, or those of the named stages)",
  flags: {},
  async run({ positionals }, ctx) {
    const project = await ctx.open();
    let keys: string[] | undefined;
    if (positionals.length) {
      keys = [];
      for (const p of positionals) {
        const picked = project.matchStages(p);
        if (!picked.length) {
          throw new UsageError(
            `no stage matches '${p}'${didYouMean(p, project.pipeline.stages.keys())}`,
          );
        }
        for (const n of picked) {
          const k = await project.keyOf(n);
          if (k) keys.push(k);
        }
      }
    }
    const removed = await project.store.unlock(keys);
    for (const r of removed) {
      ctx.out(
        `unlocked ${r.key.slice(0, 12)} ${
          r.owner ? `(${r.owner.stage}, pid ${r.owner.pid} on ${r.owner.host})` : ""
        }${r.alive ? "  WARNING: the owner still runs" : ""}`,
      );
    }
    if (!removed.length) ctx.out("no locks");
    return 0;
  },
};
