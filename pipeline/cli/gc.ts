/**
 * `gc`: lists the objects and scratch directories the pipeline no longer reaches; `--apply`
 * deletes them.
 * @module
 */
import type { Project } from "../project.ts";
import { treeSize } from "../store.ts";
import type { EngineCommand } from "./command.ts";

/** `gc`. */
export const gcCommand: EngineCommand = {
  usage: "gc",
  description: "list objects the pipeline no longer reaches (--apply deletes them)",
  flags: { apply: { type: "boolean", help: "actually delete" } },
  async run({ values }, ctx) {
    return await gc(await ctx.open(), { apply: !!values.apply, out: ctx.out });
  },
};

function fmtBytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

async function gc(
  project: Project,
  o: { apply: boolean; out: (s: string) => void },
): Promise<number> {
  const keep = new Set<string>();
  for (const s of await project.states()) {
    if (s.key) keep.add(s.key);
    else if (s.last) keep.add(s.last.key);
  }
  const store = project.store;
  let total = 0, n = 0;
  for (const key of await store.listObjects()) {
    if (keep.has(key)) continue;
    const m = await store.readManifest(key);
    if (await store.isLocked(key)) continue;
    const size = await treeSize(store.objectDir(key));
    total += size;
    n++;
    o.out(
      `${o.apply ? "removed" : "would remove"} ${key.slice(0, 12)}  ${
        (m?.stage ?? "?").padEnd(30)
      } ${fmtBytes(size)}`,
    );
    if (o.apply) await store.removeObject(key);
  }
  let scratch = 0;
  try {
    for await (const e of Deno.readDir(`${store.root}/scratch`)) {
      if (await store.isLocked(e.name)) continue;
      // Checkpoints of a key the pipeline still needs are kept until its object commits; after
      // that (a kill between commit and scratch removal) they are garbage.
      const committed = (await store.readManifest(e.name)) !== undefined;
      if (keep.has(e.name) && !committed) continue;
      const size = await treeSize(`${store.root}/scratch/${e.name}`);
      scratch += size;
      o.out(
        `${o.apply ? "removed" : "would remove"} scratch/${e.name.slice(0, 12)}  ${fmtBytes(size)}`,
      );
      if (o.apply) await Deno.remove(`${store.root}/scratch/${e.name}`, { recursive: true });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (o.apply) {
    await store.cleanTmp();
    await store.cache.save().catch(() => {});
  }
  o.out(
    `${o.apply ? "removed" : "would remove"} ${n} object(s), ${fmtBytes(total)}${
      scratch ? ` + ${fmtBytes(scratch)} scratch` : ""
    }${o.apply ? "" : " (dry run; pass --apply to delete)"}`,
  );
  return 0;
}
