/**
 * `deno task report [target]`: print a built report's tables in the terminal (cli-table3) and the
 * path of its report.html. The CLI resolves the target's report stages to object directories and
 * calls {@link printReport}.
 * @module
 */
import { compareGrid } from "./compare.ts";
import Table from "cli-table3";
import type { ReportModel } from "./document.ts";
import { provenanceGrid } from "./document.ts";
import { claimsGrid, type Grid, tableGrid } from "./tables.ts";

function gridTable(g: Grid, color: boolean, wrapLast = 0): string {
  const style = color ? {} : { head: [], border: [] };
  const opts: Record<string, unknown> = { style };
  if (wrapLast > 0) {
    // Long reference texts wrap instead of widening the table past the terminal.
    opts.wordWrap = true;
    opts.colWidths = g.header.map((_, i) => (i === g.header.length - 1 ? wrapLast : null));
  }
  // deno-lint-ignore no-explicit-any
  const t = new (Table as any)(opts);
  if (g.groups.length) {
    t.push(g.groups.map(([content, colSpan]) => ({ content, colSpan, hAlign: "center" })));
    t.push(g.header);
  } else {
    t.options.head = g.header;
  }
  for (const r of g.body) t.push(r);
  return t.toString();
}

/**
 * Render the report(s) held in `dirs` (report object directories) as terminal text.
 * @param dirs object directories of `report` stages
 * @param options `color`: keep cli-table3's colours (default false); `provenance`: include the
 * per-input provenance table (default true)
 * @throws if no directory holds a report.json, naming the directories tried
 */
export async function renderTerminalReport(
  dirs: string[],
  options: { color?: boolean; provenance?: boolean } = {},
): Promise<string> {
  const out: string[] = [];
  let found = 0;
  const skipped: string[] = [];
  for (const dir of dirs) {
    let model: ReportModel;
    try {
      model = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        skipped.push(dir);
        continue;
      }
      throw new Error(
        `${dir}/report.json: unreadable (${(e as Error).message}); rebuild the report`,
      );
    }
    found++;
    out.push(model.title, "=".repeat(Math.min(model.title.length, 100)), "");
    for (const t of [...model.tables, ...model.similarityTables]) {
      out.push(t.title);
      out.push(t.rows.length ? gridTable(tableGrid(t), !!options.color, 36) : "(no rows)");
      for (const n of t.notes) out.push(`  - ${n}`);
      out.push("");
    }
    if (model.compare) {
      out.push(model.compare.title);
      out.push(gridTable(compareGrid(model.compare), !!options.color, 40));
      for (const n of model.compare.notes) out.push(`  - ${n}`);
      out.push("");
    }
    out.push(model.claims.title);
    out.push(
      model.claims.rows.length ? gridTable(claimsGrid(model.claims), !!options.color) : "(none)",
    );
    out.push("");
    if (options.provenance !== false) {
      const p = model.provenance;
      out.push(
        `Provenance: commit ${p.commit ?? "unknown"}${p.dirty ? " (dirty)" : ""}; backends ${
          p.backends.join(", ") || "none recorded"
        }; deno ${p.versions.deno ?? "?"}`,
      );
      out.push(gridTable(provenanceGrid(p), !!options.color, 40), "");
    }
    for (const f of model.skippedFigures) out.push(`Not drawn: ${f}`);
    out.push(`Figures: ${model.figures.map((f) => `Fig. ${f.number}`).join(", ") || "none"}`);
    out.push(`HTML report: ${dir.replace(/\/+$/, "")}/report.html`, "");
  }
  if (!found) {
    throw new Error(
      `no report.json in ${
        dirs.length ? dirs.join(", ") : "(no directories)"
      }: the target has no built report stage; run \`deno task reproduce <target>\` first`,
    );
  }
  return out.join("\n");
}

/**
 * Print the report(s) in `dirs` to stdout (see {@link renderTerminalReport}).
 */
export async function printReport(
  dirs: string[],
  options: { color?: boolean; provenance?: boolean } = {},
): Promise<void> {
  console.log(
    await renderTerminalReport(dirs, {
      color: options.color ?? Deno.stdout.isTerminal(),
      ...options,
    }),
  );
}
