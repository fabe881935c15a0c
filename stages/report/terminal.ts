/**
 * `deno task report [target]`: print a built report's tables in the terminal (cli-table3) and the
 * path of its report.html. The CLI resolves the target's report stages to object directories and
 * calls {@link printReport}.
 * @module
 */
import { compareGrid } from "./compare.ts";
import Table from "cli-table3";
import type { ReportModel } from "./document.ts";
import { checkSummary, provenanceGrid, TABLE_LEGEND } from "./document.ts";
import { claimsGrid, type Grid, tableGrid } from "./tables.ts";

/** Wraps each line of `text` at spaces to at most `width` characters; longer words are split. */
export function wrapLines(text: string, width: number): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    let cur = "";
    for (let word of line.split(/ +/).filter(Boolean)) {
      while (word.length > width) {
        if (cur) out.push(cur);
        cur = "";
        out.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!cur) cur = word;
      else if (cur.length + 1 + word.length <= width) cur += ` ${word}`;
      else {
        out.push(cur);
        cur = word;
      }
    }
    out.push(cur);
  }
  return out.join("\n");
}

const widthOf = (cell: string) => Math.max(...cell.split("\n").map((l) => l.length));

/** Cache keys are shown as their first 12 hex digits, as `status` does. */
const shortKeys = (cell: string) => cell.replace(/\b([0-9a-f]{12})[0-9a-f]{4,}\b/g, "$1");

/** Natural width of each column of `g` (its widest cell). */
function columnWidths(g: Grid): number[] {
  return g.header.map((h, i) => Math.max(widthOf(h), ...g.body.map((r) => widthOf(r[i] ?? ""))));
}

/** Width of a table with these column widths: borders, and one space of padding each side. */
const tableWidth = (w: number[]) => w.reduce((a, b) => a + b + 3, 1);

/**
 * The grid as tables at most `width` columns wide. A grid with column groups that is too wide is
 * split into several tables, by group, each repeating the first group (the row labels); what is
 * still too wide gives way at its widest columns, whose cells wrap instead of being cut.
 */
function gridTable(g: Grid, color: boolean, width: number): string {
  const short: Grid = {
    groups: g.groups,
    header: g.header.map(shortKeys),
    body: g.body.map((r) => r.map(shortKeys)),
  };
  const w = columnWidths(short);
  if (tableWidth(w) <= width || g.groups.length < 3) return oneTable(short, color, width);
  const starts: number[] = [];
  let at = 0;
  for (const [, span] of g.groups) {
    starts.push(at);
    at += span;
  }
  const keySpan = g.groups[0][1];
  const keyCols = Array.from({ length: keySpan }, (_, i) => i);
  const colsOf = (j: number) => Array.from({ length: g.groups[j][1] }, (_, i) => starts[j] + i);
  const chunks: number[][] = [];
  let cur: number[] = [];
  for (let k = 1; k < g.groups.length; k++) {
    const next = [...cur, k];
    if (cur.length && tableWidth([...keyCols, ...next.flatMap(colsOf)].map((c) => w[c])) > width) {
      chunks.push(cur);
      cur = [k];
    } else cur = next;
  }
  if (cur.length) chunks.push(cur);
  return chunks.map((groups) => {
    const cols = [...keyCols, ...groups.flatMap(colsOf)];
    return oneTable(
      {
        groups: [g.groups[0], ...groups.map((j) => g.groups[j])],
        header: cols.map((c) => short.header[c]),
        body: short.body.map((r) => cols.map((c) => r[c] ?? "")),
      },
      color,
      width,
    );
  }).join("\n");
}

/** One table at most `width` wide: the widest columns give way first and their cells wrap. */
function oneTable(g: Grid, color: boolean, width: number): string {
  const style = color ? {} : { head: [], border: [] };
  const { header, body } = g;
  const n = header.length;
  const w = columnWidths(g);
  const room = width - (n + 1) - 2 * n; // borders, and one space of padding each side
  // First down to each column's longest word (so that cells wrap at spaces), then below it.
  const longestWord = (c: string) => Math.max(0, ...c.split(/\s+/).map((x) => x.length));
  const words = header.map((h, i) =>
    Math.min(16, Math.max(longestWord(h), ...body.map((r) => longestWord(r[i] ?? ""))))
  );
  for (const floor of [words, w.map(() => 6)]) {
    while (w.reduce((a, b) => a + b, 0) > room) {
      let i = -1;
      for (let j = 0; j < n; j++) if (w[j] > floor[j] && (i < 0 || w[j] > w[i])) i = j;
      if (i < 0) break;
      w[i]--;
    }
  }
  // deno-lint-ignore no-explicit-any
  const t = new (Table as any)({ style, colWidths: w.map((x) => x + 2) });
  if (g.groups.length) {
    let at = 0;
    t.push(g.groups.map(([content, colSpan]) => {
      const span = w.slice(at, at + colSpan).reduce((a, b) => a + b, 0) + 3 * (colSpan - 1);
      at += colSpan;
      return { content: wrapLines(content, span), colSpan, hAlign: "center" };
    }));
    t.push(header.map((h, i) => wrapLines(h, w[i])));
  } else {
    t.options.head = header.map((h, i) => wrapLines(h, w[i]));
  }
  for (const r of body) t.push(r.map((c, i) => wrapLines(c, w[i])));
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
  options: { color?: boolean; provenance?: boolean; width?: number } = {},
): Promise<string> {
  const width = Math.max(40, options.width ?? 100);
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
    const para = (text: string, indent = "") =>
      wrapLines(text, width - indent.length).split("\n").map((l, i) =>
        i === 0 ? l : `${" ".repeat(indent.length)}${l}`
      ).join("\n");
    out.push(para(model.title), "=".repeat(Math.min(model.title.length, width)), "");
    out.push(para(`Summary: ${checkSummary(model)}`), "");
    out.push(para(TABLE_LEGEND.replaceAll("**", "").replaceAll("`", "")), "");
    for (const t of [...model.tables, ...model.similarityTables]) {
      out.push(para(t.title));
      out.push(t.rows.length ? gridTable(tableGrid(t), !!options.color, width) : "(no rows)");
      for (const n of t.notes) out.push(`  - ${para(n, "    ")}`);
      out.push("");
    }
    if (model.compare) {
      out.push(para(model.compare.title));
      out.push(gridTable(compareGrid(model.compare), !!options.color, width));
      for (const n of model.compare.notes) out.push(para(`  - ${n}`, "    "));
      out.push("");
    }
    out.push(para(model.claims.title));
    out.push(
      model.claims.rows.length
        ? gridTable(claimsGrid(model.claims), !!options.color, width)
        : "(none)",
    );
    out.push("");
    if (options.provenance !== false) {
      const p = model.provenance;
      out.push(para(
        `Provenance: commit ${p.commit ?? "unknown"}${p.dirty ? " (dirty)" : ""}; backends ${
          p.backends.join(", ") || "none recorded"
        }; deno ${p.versions.deno ?? "?"}`,
      ));
      out.push(gridTable(provenanceGrid(p), !!options.color, width), "");
    }
    for (const f of model.skippedFigures) out.push(para(`Not drawn: ${f}`));
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
  options: { color?: boolean; provenance?: boolean; width?: number } = {},
): Promise<void> {
  console.log(
    await renderTerminalReport(dirs, {
      color: options.color ?? Deno.stdout.isTerminal(),
      width: Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 100,
      ...options,
    }),
  );
}
