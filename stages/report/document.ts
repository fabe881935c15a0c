/**
 * The report model (what report.json stores) and its Markdown and self-contained HTML renderings.
 * @module
 */
import { type CheckCounts, summaryLine } from "../formats/check_result.ts";
import type { LambdaPoint } from "./figures.ts";
import type { Provenance } from "./provenance.ts";
import { compareGrid, type CompareTable } from "./compare.ts";
import { claimsGrid, type ClaimsTable, type Grid, type ResultTable, tableGrid } from "./tables.ts";

/** One figure of the report. */
export interface FigureEntry {
  /** Stable id, e.g. `fig2_wiki`. */
  id: string;
  /** Paper numbering, e.g. `2` or `5b`. */
  number: string;
  /** Title drawn in the figure. */
  title: string;
  /** Caption under it (how to read it, what was chosen). */
  caption: string;
  /** Paths relative to the report: `figures/<id>.png` / `.svg`, for the formats written. */
  files: { png?: string; svg?: string };
  /** PNG size in pixels (when a PNG was written). */
  width?: number;
  /** PNG height in pixels. */
  height?: number;
}

/** Everything in report.json. */
export interface ReportModel {
  /** Report title. */
  title: string;
  /** Tables 1–3. */
  tables: ResultTable[];
  /** Table 4 (one per dataset with both similarities). */
  similarityTables: ResultTable[];
  /** The comparison over methods and seeds (`compare` param), if any. */
  compare?: CompareTable;
  /** The claims. */
  claims: ClaimsTable;
  /** Each check's overall verdict (alias → ok). */
  checkOk: Record<string, boolean>;
  /** Each check's counts per kind of expected number (alias → counts). */
  checkCounts: Record<string, CheckCounts>;
  /** Figures written. */
  figures: FigureEntry[];
  /** Figures not drawn, with the reason. */
  skippedFigures: string[];
  /** The λ-sweep points behind Fig 5. */
  lambdaSweep: LambdaPoint[];
  /** Provenance. */
  provenance: Provenance;
  /** Inputs skipped or ambiguous. */
  warnings: string[];
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A {@link Grid} as a GitHub Markdown table (group names prefix the column headers). */
export function gridMarkdown(g: Grid): string {
  const header: string[] = [];
  if (g.groups.length) {
    let col = 0;
    for (const [name, span] of g.groups) {
      for (let i = 0; i < span; i++) {
        const short = name.replace(/ \(.*\)$/, "");
        header.push(name ? `${short}: ${g.header[col]}` : g.header[col]);
        col++;
      }
    }
  } else header.push(...g.header);
  const lines = [
    `| ${header.map(mdEscape).join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...g.body.map((r) => `| ${r.map(mdEscape).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** Escape text for HTML. */
export function htmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** A {@link Grid} as an HTML table with a grouped header. */
export function gridHtml(g: Grid, id: string): string {
  // A wrapper that scrolls sideways, so a wide table never widens the page past its 1400 px.
  const out = [`<div class="table-wrap">`, `<table id="${htmlEscape(id)}">`, "<thead>"];
  if (g.groups.length) {
    out.push(
      "<tr>" +
        g.groups.map(([n, s]) => `<th colspan="${s}" class="group">${htmlEscape(n)}</th>`).join(
          "",
        ) + "</tr>",
    );
  }
  out.push("<tr>" + g.header.map((h) => `<th>${htmlEscape(h)}</th>`).join("") + "</tr>");
  out.push("</thead>", "<tbody>");
  for (const r of g.body) {
    out.push(
      "<tr>" +
        r.map((c) => {
          const cls = c.includes("✗") || c.startsWith("fails")
            ? ' class="bad"'
            : c === "holds"
            ? ' class="good"'
            : /^[-+–0-9. ()†]+$/.test(c)
            ? ' class="num"'
            : "";
          return `<td${cls}>${htmlEscape(c)}</td>`;
        }).join("") + "</tr>",
    );
  }
  out.push("</tbody>", "</table>", "</div>");
  return out.join("\n");
}

/** How to read the results tables (`a (b)`, Δ, ✗, kinds of expected values); Markdown. */
export const TABLE_LEGEND =
  "Values are mAP over the whole ranked test gallery. `a (b)`: a without PCA, b with PCA on the " +
  "image side, as in the paper. Δ = reproduced − expected; ✗ marks a cell outside the check's " +
  "tolerance. Each expected value is one of three kinds, named in the Reference column: " +
  "**published** (printed in the paper or the data release, with table, row and column), " +
  "**anchor** (an independent implementation's number) or **regression** (our own earlier " +
  "run, kept to catch drift). A row without an expected value names where its reference comes " +
  "from.";

/** One line per check of the report: its verdict and its counts, as the CLI prints them. */
export function checkSummary(m: ReportModel): string {
  const checks = Object.entries(m.checkCounts ?? {});
  if (!checks.length) return "no check among the inputs";
  return checks.map(([alias, counts]) =>
    `${alias}: ${m.checkOk[alias] === false ? "FAILED" : "ok"} (${summaryLine(counts)})`
  ).join("; ");
}

function fmtSeconds(s: number | undefined): string {
  if (s === undefined) return "–";
  return s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

function listShort(xs: string[], max = 4): string {
  if (!xs.length) return "–";
  return xs.length <= max
    ? xs.join(", ")
    : `${xs.slice(0, max).join(", ")} +${xs.length - max} more`;
}

/** Provenance as a grid: one row per input object. */
export function provenanceGrid(p: Provenance): Grid {
  return {
    groups: [],
    header: ["Input", "Stage", "Holds", "Cache key", "Wall time", "Backend", "Seed", "Rows from"],
    body: p.objects.map((o) => [
      o.alias,
      o.stage ?? "–",
      o.holds.join(", ") || "–",
      o.hasManifest ? o.key : `${o.key} (directory name; no manifest)`,
      fmtSeconds(o.wallSeconds),
      o.backend ?? "–",
      o.seeds === undefined ? "–" : JSON.stringify(o.seeds),
      listShort(o.rowStages ?? []),
    ]),
  };
}

function provenanceLines(p: Provenance): string[] {
  const commit = p.commit
    ? `${p.commit}${
      p.dirty ? " (dirty: uncommitted changes)" : p.dirty === false ? " (clean)" : ""
    }`
    : `unknown (${p.gitNote ?? "no git"})`;
  const total = p.objects.reduce((s, o) => s + (o.wallSeconds ?? 0), 0);
  return [
    `Git commit: ${commit}`,
    `Backends: ${p.backends.length ? p.backends.join(", ") : "none recorded"}`,
    `Versions: ${Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `Seeds: ${
      Object.keys(p.seeds).length
        ? Object.entries(p.seeds).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")
        : "none recorded"
    }`,
    `Wall time of the inputs (sum of recorded): ${fmtSeconds(total || undefined)}`,
  ];
}

function allTables(m: ReportModel): { id: string; title: string; grid: Grid; notes: string[] }[] {
  return [
    ...[...m.tables, ...m.similarityTables].map((t) => ({
      id: t.id,
      title: t.title,
      grid: tableGrid(t),
      notes: t.notes,
    })),
    ...(m.compare
      ? [{
        id: m.compare.id,
        title: m.compare.title,
        grid: compareGrid(m.compare),
        notes: m.compare.notes,
      }]
      : []),
    { id: m.claims.id, title: m.claims.title, grid: claimsGrid(m.claims), notes: [] },
  ];
}

/** Render report.md (figures referenced as files under `figures/`). */
export function toMarkdown(m: ReportModel): string {
  const out = [`# ${m.title}`, "", `**Summary:** ${checkSummary(m)}`, "", TABLE_LEGEND, ""];
  for (const t of allTables(m)) {
    out.push(`## ${t.title}`, "");
    out.push(t.grid.body.length ? gridMarkdown(t.grid) : "_No rows._", "");
    for (const n of t.notes) out.push(`- ${n}`);
    if (t.notes.length) out.push("");
  }
  out.push("## Figures", "");
  for (const f of m.figures) {
    out.push(`### Fig. ${f.number}: ${f.title}`, "");
    if (f.files.png) out.push(`![Fig. ${f.number}](${f.files.png})`, "");
    else if (f.files.svg) out.push(`![Fig. ${f.number}](${f.files.svg})`, "");
    out.push(f.caption, "");
  }
  for (const s of m.skippedFigures) out.push(`- Not drawn: ${s}`);
  if (m.skippedFigures.length) out.push("");
  out.push("## Provenance", "");
  for (const l of provenanceLines(m.provenance)) out.push(`- ${l}`);
  out.push("", gridMarkdown(provenanceGrid(m.provenance)), "");
  if (m.warnings.length) {
    out.push("## Warnings", "");
    for (const w of m.warnings) out.push(`- ${w}`);
    out.push("");
  }
  return out.join("\n");
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const CSS = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 1400px;
  padding: 0 1rem; color: #222; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
td { overflow-wrap: anywhere; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } th.group { text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.bad { color: #b00020; font-weight: bold; } td.good { color: #1b7f3b; font-weight: bold; }
figure { margin: 1.5rem 0; } figure img, figure svg { max-width: 100%; height: auto;
  border: 1px solid #ddd; }
figcaption { font-size: 0.9rem; color: #444; max-width: 60rem; }
.summary { background: #f7f7f0; border: 1px solid #ddd; padding: 0.5rem 1rem; }
`;

/**
 * Render a self-contained report.html: tables inline, figures embedded (PNG as base64 when
 * written, else the SVG inline).
 * @param figureBytes figure id → PNG bytes and/or SVG text
 */
export function toHtml(
  m: ReportModel,
  figureBytes: Record<string, { png?: Uint8Array; svg?: string }>,
): string {
  const out = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${htmlEscape(m.title)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>${htmlEscape(m.title)}</h1>`,
    `<p class="summary"><b>Summary:</b> ${htmlEscape(checkSummary(m))}</p>`,
    `<p>${
      htmlEscape(TABLE_LEGEND).replace(/`([^`]+)`/g, "<code>$1</code>").replace(
        /\*\*([^*]+)\*\*/g,
        "<b>$1</b>",
      )
    }</p>`,
  ];
  for (const t of allTables(m)) {
    out.push(`<h2 id="h-${htmlEscape(t.id)}">${htmlEscape(t.title)}</h2>`);
    out.push(t.grid.body.length ? gridHtml(t.grid, t.id) : `<p id="${t.id}"><i>No rows.</i></p>`);
    if (t.notes.length) {
      out.push("<ul>" + t.notes.map((n) => `<li>${htmlEscape(n)}</li>`).join("") + "</ul>");
    }
  }
  out.push("<h2>Figures</h2>");
  for (const f of m.figures) {
    const b = figureBytes[f.id] ?? {};
    const body = b.png
      ? `<img alt="Fig. ${htmlEscape(f.number)}" src="data:image/png;base64,${base64(b.png)}"${
        f.width ? ` width="${Math.round(f.width / 2)}"` : ""
      }>`
      : b.svg
      ? b.svg.replace(/^<\?xml[^>]*>/, "")
      : "<p><i>(no image written)</i></p>";
    out.push(
      `<figure id="${htmlEscape(f.id)}">${body}<figcaption><b>Fig. ${htmlEscape(f.number)}: ${
        htmlEscape(f.title)
      }.</b> ${htmlEscape(f.caption)}</figcaption></figure>`,
    );
  }
  if (m.skippedFigures.length) {
    out.push(
      "<ul>" + m.skippedFigures.map((s) => `<li>Not drawn: ${htmlEscape(s)}</li>`).join("") +
        "</ul>",
    );
  }
  out.push("<h2>Provenance</h2><ul>");
  for (const l of provenanceLines(m.provenance)) out.push(`<li>${htmlEscape(l)}</li>`);
  out.push("</ul>", gridHtml(provenanceGrid(m.provenance), "provenance"));
  if (m.warnings.length) {
    out.push(
      "<h2>Warnings</h2><ul>" + m.warnings.map((w) => `<li>${htmlEscape(w)}</li>`).join("") +
        "</ul>",
    );
  }
  out.push("</body></html>");
  return out.join("\n");
}
