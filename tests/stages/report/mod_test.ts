import assert from "node:assert/strict";
import { kinds, reportKind } from "../../../stages/report/mod.ts";
import type { StageKind } from "../../../pipeline/types.ts";
import type { ReportModel } from "../../../stages/report/document.ts";
import { decodePng, inkStats } from "../../../stages/report/png.ts";
import { runKind } from "../../helpers/stage_context.ts";
import { fixtureInputs } from "../../fixtures/report/fixture.ts";
import { FIXTURE_PARAMS } from "../../fixtures/report/render_fixture.ts";

const kind = reportKind as unknown as StageKind;

Deno.test("kinds exports the report kind", () => {
  assert.deepEqual(kinds.map((k) => k.name), ["report"]);
});

Deno.test("report builds from the fixture set: tables, figures that are not blank, HTML", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "report-test-" });
  const run = await runKind(kind, {
    inputs: await fixtureInputs(tmp),
    params: FIXTURE_PARAMS,
    dir: await Deno.makeTempDir({ dir: tmp }),
  });
  const model: ReportModel = JSON.parse(await Deno.readTextFile(`${run.dir}/report.json`));
  assert.deepEqual(model.tables.map((t) => t.id), ["table1", "table2"]);
  assert.deepEqual(model.similarityTables.map((t) => t.id), ["table4-wiki", "table4-wiki-cnn"]);
  assert.equal(model.tables[0].rows.length, 13);
  assert.equal(model.claims.rows.length, 5);
  assert.deepEqual(model.figures.map((f) => f.id), [
    "fig2_wiki",
    "fig3_wiki-cnn",
    "fig5_wiki",
    "fig6_wiki",
  ]);
  assert.deepEqual(model.skippedFigures, []);
  assert.equal(model.lambdaSweep.filter((p) => p.method === "DSE-DS").length, 6);
  assert.equal(model.provenance.objects.length, 8);
  assert.equal(typeof run.provenance.versions, "object");

  const scale = 2;
  const panel = { width: 360, height: 260 }; // the default figure_size
  for (const f of model.figures) {
    const bytes = await Deno.readFile(`${run.dir}/${f.files.png}`);
    const svg = await Deno.readTextFile(`${run.dir}/${f.files.svg}`);
    assert.match(svg, /^<svg/, `${f.id}.svg`);
    const png = decodePng(bytes);
    assert.equal(png.width, f.width, `${f.id} width as recorded`);
    assert.equal(png.height, f.height, `${f.id} height as recorded`);
    // At least one panel wide and tall (plus axes), at most a sane poster.
    const minW = f.id.startsWith("fig6") ? 2 * 250 * scale : panel.width * scale;
    assert.ok(png.width > minW && png.width < 6000, `${f.id} width ${png.width}`);
    assert.ok(png.height > 210 * scale && png.height < 6000, `${f.id} height ${png.height}`);
    // Background is white at the corner; the middle of the plot has ink and colour.
    assert.deepEqual([...png.rgba.subarray(0, 4)], [255, 255, 255, 255], `${f.id} corner`);
    const all = inkStats(png);
    assert.ok(all.distinctColours >= 8, `${f.id}: ${all.distinctColours} colours`);
    const plot = inkStats(png, { region: [0.1, 0.15, 0.75, 0.85] });
    assert.ok(plot.inkFraction > 0.02, `${f.id}: plot area ink ${plot.inkFraction}`);
    assert.ok(plot.colouredPixels > 500, `${f.id}: ${plot.colouredPixels} coloured pixels`);
  }
  // Fig. 2 draws a line per method: 13 series, so many distinct hues in the PR panel.
  const fig2 = decodePng(await Deno.readFile(`${run.dir}/figures/fig2_wiki.png`));
  const hues = new Set<number>();
  for (let i = 0; i < fig2.rgba.length; i += 4) {
    const [r, g, b] = fig2.rgba.subarray(i, i + 3);
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) {
      hues.add((r >> 5) << 6 | (g >> 5) << 3 | b >> 5);
    }
  }
  assert.ok(hues.size >= 10, `fig2 hue buckets ${hues.size}`);

  const html = await Deno.readTextFile(`${run.dir}/report.html`);
  for (const id of ["table1", "table2", "table4-wiki", "table4-wiki-cnn", "claims", "provenance"]) {
    assert.match(html, new RegExp(`<table id="${id}">`), `HTML lacks ${id}`);
  }
  for (const f of model.figures) {
    assert.match(
      html,
      new RegExp(`<figure id="${f.id}"><img alt="Fig\\. ${f.number}" src="data:image/png;base64,`),
    );
  }
  assert.doesNotMatch(html, /src="figures\//, "HTML must be self-contained");
  const md = await Deno.readTextFile(`${run.dir}/report.md`);
  for (const t of [...model.tables, ...model.similarityTables]) {
    assert.ok(md.includes(`## ${t.title}`));
  }
  assert.match(md, /## Claims/);
  assert.match(md, /\| CCA \| cosine \| 0\.2435 \(0\.2649\) \| 0\.2436 \(0\.2650\) \| \+0\.0001/);
  assert.match(md, /Git commit: /);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("report: clear errors for inputs without results and bad params", async () => {
  const tmp = await Deno.makeTempDir();
  await Deno.mkdir(`${tmp}/x`);
  await assert.rejects(
    runKind(kind, { inputs: { x: `${tmp}/x` }, dir: tmp }),
    /none of the inputs \(x\) holds metrics\.json or check\.json/,
  );
  const m = new URL("../../fixtures/report/eval_cnn", import.meta.url).pathname;
  await assert.rejects(
    runKind(kind, { inputs: { m }, dir: tmp, params: { figure_size: { width: 0 } } }),
    /figure_size must be \{width, height\}/,
  );
  await assert.rejects(
    runKind(kind, { inputs: { m }, dir: tmp, params: { tables: [{ title: "x" }] } }),
    /tables\[0\] needs a "dataset"/,
  );
  await assert.rejects(
    runKind(kind, { inputs: { m }, dir: tmp, params: { formats: ["gif"] } }),
    /unknown figure format "gif"/,
  );
  await Deno.remove(tmp, { recursive: true });
});
