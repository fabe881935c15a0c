/**
 * `status [target]`: a table of stage, state, reason, key and last duration (`--json`: one
 * object per stage); `status --explain <stage>`: the stage's key ingredients and what changed
 * since its last run.
 * @module
 */
import { cacheKey, diffIngredients } from "../key.ts";
import type { Project, StageState } from "../project.ts";
import { formatDuration } from "../run.ts";
import { didYouMean, UsageError } from "../usage.ts";
import { type EngineCommand, SHARED_FLAGS } from "./command.ts";

/** `status [target]`. */
export const statusCommand: EngineCommand = {
  usage: "status [target]",
  description: "table of stage, state, reason, key, last duration",
  flags: {
    json: SHARED_FLAGS.json,
    explain: {
      type: "string",
      value: "<stage>",
      help: "show key ingredients and what changed since the last run",
    },
  },
  async run({ values, positionals }, ctx) {
    const project = await ctx.open();
    if (typeof values.explain === "string" && values.explain) {
      return await explain(project, values.explain, { json: !!values.json, out: ctx.out });
    }
    const names = positionals[0] ? project.targetStages(positionals[0]) : undefined;
    const states = await project.states(names);
    await project.store.cache.save().catch(() => {});
    if (values.json) {
      ctx.out(JSON.stringify(
        states.map((s) => ({
          stage: s.name,
          kind: s.kind,
          state: s.state,
          reason: s.reason,
          key: s.key ?? null,
          object: s.objectDir ?? null,
          last_duration_ms: s.last?.duration_ms ?? null,
          verdict: s.manifest?.verdict ?? null,
        })),
        null,
        1,
      ));
    } else ctx.out(await statusTable(states, terminalWidth(ctx.tty)));
    return 0;
  },
};

/** Width of the terminal, or 100 columns when stdout is not one. */
function terminalWidth(tty: boolean): number {
  if (!tty) return 100;
  try {
    const c = Deno.consoleSize().columns;
    return c >= 40 ? c : 100;
  } catch {
    return 100;
  }
}

/** Wraps `text` at spaces to lines of at most `width` characters; longer words are split. */
function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  let cur = "";
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > width) {
      if (cur) lines.push(cur);
      cur = "";
      lines.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (!cur) cur = word;
    else if (cur.length + 1 + word.length <= width) cur += ` ${word}`;
    else {
      lines.push(cur);
      cur = word;
    }
  }
  if (cur) lines.push(cur);
  return lines.join("\n");
}

async function statusTable(states: StageState[], columns: number): Promise<string> {
  const { default: Table } = await import("cli-table3");
  const head = ["stage", "state", "reason", "key", "last"];
  const rows = states.map((s) => [
    s.name,
    s.state,
    s.reason.length > 170 ? `${s.reason.slice(0, 167)}...` : s.reason,
    s.key ? s.key.slice(0, 12) : "",
    s.last ? formatDuration(s.last.duration_ms) : "",
  ]);
  const widest = (i: number) => Math.max(head[i].length, ...rows.map((r) => r[i].length));
  // 6 borders, 2 spaces of padding per column; the reason column takes what is left
  const fixed = widest(1) + widest(3) + widest(4);
  const room = columns - 6 - 10 - fixed;
  const stageW = Math.max(5, Math.min(widest(0), Math.floor(room * 0.45)));
  const reasonW = Math.max(10, room - stageW);
  const widths = [stageW, widest(1), reasonW, widest(3), widest(4)];
  const table = new Table({
    head,
    style: { head: [], border: [], compact: true },
    colWidths: widths.map((w) => w + 2),
  });
  for (const r of rows) table.push(r.map((c, i) => wrapText(c, widths[i])));
  const n = (k: string) => states.filter((s) => s.state === k).length;
  return `${table.toString()}\n${n("fresh")} fresh, ${n("stale")} stale, ${n("missing")} missing, ${
    n("running")
  } running`;
}

async function explain(
  project: Project,
  name: string,
  o: { json: boolean; out: (s: string) => void },
): Promise<number> {
  if (!project.pipeline.stages.has(name)) {
    const near = project.matchStages(name);
    throw new UsageError(
      `no stage '${name}'${
        near.length
          ? `; did you mean ${near.slice(0, 5).join(", ")}?`
          : didYouMean(name, project.pipeline.stages.keys())
      }`,
    );
  }
  const st = await project.state(name);
  const ing = st.ingredients;
  const last = st.last;
  const changed = ing && last ? diffIngredients(last.ingredients, ing) : [];
  if (o.json) {
    o.out(
      JSON.stringify(
        {
          stage: name,
          state: st.state,
          reason: st.reason,
          key: st.key ?? null,
          ingredients: ing ?? null,
          last: last ?? null,
          changed,
        },
        null,
        1,
      ),
    );
    return 0;
  }
  const lines: string[] = [];
  lines.push(`stage ${name} (kind ${st.kind}): ${st.state}${st.reason ? ` (${st.reason})` : ""}`);
  lines.push(`key      ${st.key ?? "(unknown until upstream is fresh)"}`);
  if (!ing) {
    lines.push(`params   ${JSON.stringify(project.stage(name).params)}`);
  } else {
    const mark = (cond: boolean) => (cond ? "  ← changed" : "");
    const p = last?.ingredients;
    lines.push(`format   ${ing.format}${mark(!!p && p.format !== ing.format)}`);
    lines.push("code");
    for (const [f, d] of Object.entries(ing.code).sort()) {
      lines.push(`  ${f}  ${d.slice(0, 12)}${mark(!!p && p.code[f] !== d)}`);
    }
    if (Object.keys(ing.deps).length) lines.push("deps");
    for (const [s, v] of Object.entries(ing.deps).sort()) {
      lines.push(`  ${s} → ${v}${mark(!!p && p.deps[s] !== v)}`);
    }
    lines.push("params");
    for (const [k, v] of Object.entries(ing.params)) {
      lines.push(
        `  ${k} = ${JSON.stringify(v)}${
          mark(!!p && JSON.stringify(p.params[k]) !== JSON.stringify(v))
        }`,
      );
    }
    lines.push("inputs");
    for (const [a, i] of Object.entries(ing.inputs)) {
      lines.push(
        `  ${a} ← ${i.stage}${i.output ? `/${i.output}` : ""}  ${i.digest.slice(0, 12)}${
          mark(!!p && p.inputs[a]?.digest !== i.digest)
        }`,
      );
    }
    lines.push("env");
    for (const [k, v] of Object.entries(ing.env)) {
      lines.push(`  ${k} = ${v}${mark(!!p && p.env[k] !== v)}`);
    }
    lines.push("files (read by the stage, not another stage's output)");
    const files = Object.entries(ing.files ?? {});
    if (!files.length) lines.push("  (none)");
    for (const [f, d] of files) {
      lines.push(`  ${f}  ${d.slice(0, 12)}${mark(!!p && p.files?.[f] !== d)}`);
    }
  }
  if (!last) lines.push("last run: none recorded");
  else {
    lines.push(
      `last run: key ${last.key.slice(0, 12)}, ${last.finished}, ${
        formatDuration(last.duration_ms)
      }`,
    );
    if (ing) {
      lines.push(
        changed.length
          ? `changed since last run:\n${changed.map((c) => `  - ${c}`).join("\n")}`
          : cacheKey(ing) === last.key
          ? "unchanged since last run"
          : "unchanged ingredients",
      );
    }
  }
  o.out(lines.join("\n"));
  return 0;
}
