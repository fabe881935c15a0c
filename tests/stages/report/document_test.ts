import assert from "node:assert/strict";
import {
  gridHtml,
  gridMarkdown,
  htmlEscape,
  provenanceGrid,
  type ReportModel,
  toHtml,
  toMarkdown,
} from "../../../stages/report/document.ts";
import type { Grid } from "../../../stages/report/tables.ts";

const grid: Grid = {
  groups: [["", 1], ["Image query (I→T)", 2]],
  header: ["Method", "reported", "reproduced"],
  body: [["A|B", "0.1000", "0.2000✗"]],
};

Deno.test("gridMarkdown prefixes group names and escapes pipes", () => {
  const md = gridMarkdown(grid).split("\n");
  assert.equal(md[0], "| Method | Image query: reported | Image query: reproduced |");
  assert.equal(md[1], "| --- | --- | --- |");
  assert.equal(md[2], "| A\\|B | 0.1000 | 0.2000✗ |");
});

Deno.test("gridHtml: grouped header, numeric and failing cells marked", () => {
  const html = gridHtml(grid, "t1");
  assert.match(html, /<table id="t1">/);
  assert.match(html, /<th colspan="2" class="group">Image query \(I→T\)<\/th>/);
  assert.match(html, /<td class="num">0\.1000<\/td>/);
  assert.match(html, /<td class="bad">0\.2000✗<\/td>/);
  assert.equal(htmlEscape(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
});

function model(): ReportModel {
  return {
    title: "T <1>",
    tables: [],
    similarityTables: [],
    claims: {
      id: "claims",
      title: "Claims",
      rows: [{ claim: "x > y", holds: false, detail: "1 < 2", required: true }],
    },
    checkOk: { check: false },
    checkCounts: {
      check: {
        rows: {
          published: { ok: 2, total: 3 },
          anchor: { ok: 1, total: 1 },
          regression: { ok: 0, total: 0 },
        },
        claims: { ok: 0, total: 1, failedRequired: 1 },
      },
    },
    figures: [{
      id: "fig5_w",
      number: "5",
      title: "mAP against λ",
      caption: "cap",
      files: { png: "figures/fig5_w.png", svg: "figures/fig5_w.svg" },
      width: 20,
      height: 10,
    }],
    skippedFigures: ["Fig. 6: none"],
    lambdaSweep: [],
    provenance: {
      commit: "abc",
      dirty: true,
      versions: { deno: "2" },
      backends: ["cpu"],
      seeds: { s: 0 },
      objects: [{
        alias: "a",
        dir: "/x/k1",
        key: "k1",
        holds: ["metrics"],
        hasManifest: true,
        rowStages: ["eval-a", "eval-b"],
        wallSeconds: 90,
      }],
    },
    warnings: ["w1"],
  };
}

Deno.test("toMarkdown and toHtml carry claims, figures, provenance and warnings", () => {
  const m = model();
  const md = toMarkdown(m);
  assert.match(md, /^# T <1>/);
  // the same counts as the CLI, each kind on its own, and a legend that names the kinds
  const summary = "check: FAILED (published 2/3 · anchors 1/1 · claims 0/1)";
  assert.ok(md.includes(`**Summary:** ${summary}`), md.slice(0, 300));
  assert.match(md, /\*\*published\*\* \(printed in the paper.*\*\*anchor\*\*.*\*\*regression\*\*/);
  assert.match(md, /!\[Fig\. 5\]\(figures\/fig5_w\.png\)/);
  assert.match(md, /Git commit: abc \(dirty: uncommitted changes\)/);
  assert.match(md, /\| a \| – \| metrics \| k1 \| 1\.5 min \| – \| – \| eval-a, eval-b \|/);
  assert.match(md, /- Not drawn: Fig\. 6: none/);
  assert.match(md, /- w1/);
  const html = toHtml(m, { fig5_w: { png: new Uint8Array([137, 80, 78, 71]) } });
  assert.match(html, /<title>T &lt;1&gt;<\/title>/);
  assert.match(
    html,
    /<figure id="fig5_w"><img alt="Fig\. 5" src="data:image\/png;base64,iVBORw==" width="10">/,
  );
  // every table scrolls inside its own wrapper instead of widening the page
  assert.match(html, /<div class="table-wrap">\n<table id="claims">/);
  assert.match(html, /\.table-wrap \{ max-width: 100%; overflow-x: auto; \}/);
  assert.match(html, /<td class="bad">fails \(required: fails the run\)<\/td>/);
  assert.ok(html.includes(summary), "the HTML summary gives the same counts");
  assert.match(html, /<b>published<\/b> \(printed in the paper/);
  assert.ok(!html.includes("**"), "no Markdown emphasis left in the HTML");
  assert.match(html, /<table id="provenance">/);
  const svgOnly = toHtml(m, { fig5_w: { svg: `<?xml version="1.0"?><svg id="s"></svg>` } });
  assert.match(svgOnly, /<figure id="fig5_w"><svg id="s"><\/svg>/);
  assert.equal(provenanceGrid(m.provenance).body[0][4], "1.5 min");
});
