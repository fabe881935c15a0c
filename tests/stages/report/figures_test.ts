import assert from "node:assert/strict";
import * as vegaLite from "vega-lite";
import {
  curvesSpec,
  lambdaSpec,
  scatterSpec,
  type VlSpec,
  zeroPosition,
} from "../../../stages/report/figures.ts";

function compiles(spec: VlSpec): void {
  // deno-lint-ignore no-explicit-any
  const out = vegaLite.compile(spec as any);
  assert.ok(out.spec.marks && out.spec.marks.length > 0);
}

const size = { width: 200, height: 150 };

Deno.test("curvesSpec: two panels, one series per method, random in grey", () => {
  const spec = curvesSpec("t", [
    { label: "Random", pr: { recall: [0, 1], precision: [0.2, 0.1] } },
    {
      label: "DSE-DS",
      emphasis: true,
      pr: { recall: [0, 1], precision: [0.6, 0.1] },
      scope: { n: [10, 20], precision: [0.5, 0.4] },
    },
  ], { size });
  compiles(spec);
  // deno-lint-ignore no-explicit-any
  const [pr, scope] = spec.hconcat as any[];
  assert.equal(pr.data.values.length, 4);
  assert.equal(scope.data.values.length, 2);
  assert.deepEqual(pr.encoding.color.scale.domain, ["Random", "DSE-DS"]);
  assert.equal(pr.encoding.color.scale.range[0], "#8c8c8c");
  assert.equal(pr.data.values[2].w, 3);
  // baselines recede: faint lines, the paper's methods opaque
  assert.deepEqual(pr.data.values.map((v: { o: number }) => v.o), [0.5, 0.5, 1, 1]);
  assert.deepEqual(pr.encoding.strokeOpacity, {
    field: "o",
    type: "quantitative",
    scale: null,
    legend: null,
  });
});

Deno.test("lambdaSpec: λ = 0 is drawn one decade left of the smallest positive λ", () => {
  assert.equal(zeroPosition([0, 1e-4, 1e-3, 1]), 1e-5);
  assert.equal(zeroPosition([0, 0.03]), 1e-3);
  const points = [0, 1e-4, 1e-2, 1].map((lambda, i) => ({
    method: "DSE-DS",
    similarity: "cosine",
    lambda,
    map: 0.2 + i / 100,
  }));
  const spec = lambdaSpec("t", points, { size });
  compiles(spec);
  // deno-lint-ignore no-explicit-any
  const layers = spec.layer as any[];
  assert.equal(layers.length, 3); // line for λ > 0, square for λ = 0, dashed break
  assert.equal(layers[1].mark.shape, "square");
  // deno-lint-ignore no-explicit-any
  const zero = (spec.data as any).values.find((v: any) => v.lambda === 0);
  assert.equal(zero.x, 1e-5);
  assert.deepEqual(layers[0].encoding.x.axis.values, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  assert.match(layers[0].encoding.x.axis.labelExpr, /'0'/);
  // Without λ = 0 there is no square layer and no break.
  const noZero = lambdaSpec("t", points.slice(1), { size });
  assert.equal((noZero.layer as unknown[]).length, 1);
});

Deno.test("scatterSpec: facets variant × space, centers as a separate layer", () => {
  const pts = ["raw", "unit-normalised"].flatMap((space) => [
    { variant: "DSE-S", space, x: 0, y: 1, cls: "a", modality: "image" },
    { variant: "DSE-S", space, x: 1, y: 0, cls: "b", modality: "text" },
    { variant: "DSE-S", space, x: 0.5, y: 0.5, cls: "a", modality: "class center" },
  ]);
  const spec = scatterSpec("t", pts, {
    size,
    classes: ["a", "b"],
    variants: ["DSE-S"],
    spaces: ["raw", "unit-normalised"],
  });
  compiles(spec);
  // deno-lint-ignore no-explicit-any
  const s = spec as any;
  assert.equal(s.facet.row.field, "variant");
  assert.equal(s.facet.column.field, "space");
  assert.equal(s.spec.layer.length, 2);
  assert.deepEqual(s.spec.layer[0].encoding.shape.scale.range, [
    "circle",
    "triangle-up",
    "diamond",
  ]);
});

Deno.test("DSE variants keep their colour whichever of them are present", () => {
  const emphasis = ["DSE-S", "DSE-CS", "DSE-DS"];
  const pr = { recall: [0, 1], precision: [0.5, 0.1] };
  const spec = curvesSpec("t", [
    { label: "CCA", pr },
    { label: "DSE-DS", emphasis: true, pr },
  ], { size, emphasis });
  // deno-lint-ignore no-explicit-any
  const scale = (spec.hconcat as any[])[0].encoding.color.scale;
  assert.deepEqual(scale.domain, ["CCA", "DSE-DS"]);
  assert.deepEqual(scale.range, ["#4e79a7", "#000000"]);
  // deno-lint-ignore no-explicit-any
  const dashes = (spec.hconcat as any[])[0].data.values.map((v: any) => v.dash.join(","));
  assert.deepEqual([...new Set(dashes)], ["6,3", "1,0"]);
  const lam = lambdaSpec("t", [{ method: "DSE-DS", similarity: "cosine", lambda: 0.1, map: 0.3 }], {
    size,
    emphasis,
  });
  // deno-lint-ignore no-explicit-any
  assert.deepEqual((lam.layer as any[])[0].encoding.color.scale.range, ["#000000"]);
});

Deno.test("six DSE series (frozen and end-to-end) get six distinct colours", () => {
  const pr = { recall: [0, 1], precision: [0.5, 0.1] };
  const labels = ["S", "CS", "DS"].flatMap((v) => [`DSE-${v} (frozen)`, `DSE-${v} (end-to-end)`]);
  const spec = curvesSpec("t", labels.map((label) => ({ label, emphasis: true, pr })), { size });
  // deno-lint-ignore no-explicit-any
  const range: string[] = (spec.hconcat as any[])[0].encoding.color.scale.range;
  assert.equal(new Set(range).size, 6);
});
