import assert from "node:assert/strict";
import { renderFigure, renderVersions, svgToPng } from "../../../stages/report/render.ts";
import { decodePng, inkStats } from "../../../stages/report/png.ts";

Deno.test("renderFigure: Vega-Lite → SVG → PNG of the expected size, with ink and colour", async () => {
  const spec = {
    width: 200,
    height: 100,
    padding: 0,
    autosize: "none",
    config: { background: "white", view: { stroke: null } },
    data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
    mark: { type: "line", color: "#ff0000", strokeWidth: 4 },
    encoding: {
      x: { field: "x", type: "quantitative", axis: null },
      y: { field: "y", type: "quantitative", axis: null },
    },
  };
  const r = await renderFigure(spec, { scale: 2 });
  assert.match(r.svg, /^<svg/);
  assert.equal(r.width, 400);
  assert.equal(r.height, 200);
  const png = decodePng(r.png);
  assert.equal(png.width, 400);
  assert.equal(png.height, 200);
  const ink = inkStats(png);
  assert.ok(ink.colouredPixels > 300, `red pixels ${ink.colouredPixels}`);
  // The diagonal runs bottom-left to top-right: the top-left corner stays blank.
  assert.equal(inkStats(png, { region: [0, 0, 0.3, 0.3] }).inkFraction, 0);
  const mid = (100 * 400 + 200) * 4;
  assert.ok(png.rgba[mid] > 200 && png.rgba[mid + 1] < 80, "centre pixel is red");
});

Deno.test("svgToPng renders text with a system font", async () => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">` +
    `<text x="4" y="28" font-family="sans-serif" font-size="24">Fig 2</text></svg>`;
  const r = await svgToPng(svg, { scale: 1 });
  const ink = inkStats(decodePng(r.png));
  assert.ok(
    ink.inkFraction > 0.02,
    "no glyphs drawn: install a font (Debian: apt-get install fonts-dejavu-core)",
  );
});

Deno.test("renderVersions names vega and vega-lite", async () => {
  const v = await renderVersions();
  assert.match(v.vega, /^6\./);
  assert.match(v["vega-lite"], /^6\./);
});
