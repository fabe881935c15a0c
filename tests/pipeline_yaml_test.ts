/**
 * The real pipeline.yaml: its size, and structural facts of its DAG that the paper and the
 * engine's pattern inputs guarantee. The stage counts were printed by the pipeline before it was
 * rewritten around patterns and shared declarations (the rewrite kept every stage name).
 */
import assert from "node:assert/strict";
import { loadPipeline, type Pipeline } from "../pipeline/spec.ts";
import { topoOrder, upstreamClosure } from "../pipeline/dag.ts";
import { registry } from "../stages/mod.ts";

const FILE = new URL("../pipeline.yaml", import.meta.url).pathname;

function closure(p: Pipeline, target: string): string[] {
  return topoOrder(p.graph, { only: upstreamClosure(p.graph, p.targets.get(target)!) });
}

function inputsOf(p: Pipeline, stage: string): Set<string> {
  return new Set(p.stages.get(stage)!.inputs.map((i) => i.stage));
}

function evaluations(p: Pipeline, names: string[]): string[] {
  return names.filter((n) => p.stages.get(n)!.kind === "evaluate");
}

Deno.test("pipeline.yaml is under 500 lines", async () => {
  const lines = (await Deno.readTextFile(FILE)).split("\n").length;
  assert.ok(lines < 500, `pipeline.yaml has ${lines} lines`);
});

Deno.test("pipeline.yaml: 453 stages; quick 77, paper 228, compare 171 with their upstream", async () => {
  const p = await loadPipeline(FILE, { registry });
  assert.equal(p.stages.size, 453);
  assert.equal(closure(p, "quick").length, 77);
  assert.equal(closure(p, "paper").length, 228);
  // compare: 8 trained methods × 5 seeds × (train + eval), the 10 classic baselines with their
  // evaluations, random, the data, check and report (105), and the recipes: the validation split,
  // the 32 candidates of grids/compare.yaml × (train + eval), the selection (66)
  assert.equal(closure(p, "compare").length, 171);
});

Deno.test("pipeline.yaml: checks and reports collect every evaluation of their target", async () => {
  const p = await loadPipeline(FILE, { registry });
  const quick = evaluations(p, closure(p, "quick"));
  assert.equal(
    quick.length,
    8 + 1 + 12 + 3 + 12,
    "§6 8, pls-k9, 6 standard × 2, 3 DSE, 12 λ points",
  );
  for (const stage of ["check-wiki", "report-quick"]) {
    const ins = inputsOf(p, stage);
    for (const e of quick) assert.ok(ins.has(e), `${e} is an input of ${stage}`);
  }
  const paper = evaluations(p, closure(p, "paper"));
  assert.equal(paper.length, 42 + 9 + 36 + 9, "baselines, DSE frozen, λ sweep, DSE end to end");
  const report = inputsOf(p, "report-paper"), check = inputsOf(p, "check-paper");
  for (const e of paper) {
    assert.ok(report.has(e), `${e} is an input of report-paper`);
    // Fig. 5's claims are LabelMe's: the other datasets' λ points are reported, not checked
    const sweepElsewhere = /^p-eval-sweep-.*-(wikiraw|pascal)$/.test(e);
    assert.equal(check.has(e), !sweepElsewhere, `${e} ${sweepElsewhere ? "is not" : "is"} checked`);
  }
  const compare = evaluations(p, closure(p, "compare")).filter((e) => e.startsWith("cmp-eval-"));
  assert.equal(compare.length, 40, "8 methods × 5 seeds");
  for (const stage of ["check-compare", "report-compare"]) {
    const ins = inputsOf(p, stage);
    for (const e of compare) assert.ok(ins.has(e), `${e} is an input of ${stage}`);
    for (const e of ins) assert.ok(!e.startsWith("cmp-val-"), `${stage} reads no validation run`);
  }
  // the recipe selection reads every validation evaluation, and only those
  const val = evaluations(p, closure(p, "compare")).filter((e) => e.startsWith("cmp-val-eval-"));
  assert.equal(val.length, 32, "the 32 candidates of grids/compare.yaml");
  assert.deepEqual(
    [...inputsOf(p, "cmp-recipes-wiki")].sort(),
    [...val, "cmp-val-split-wiki"].sort(),
  );
  // report-compare names each classic method's input by the method (captured from the stage name)
  const classic = p.stages.get("report-compare")!.inputs.filter((i) => i.captures);
  assert.deepEqual(classic.map((i) => `${i.alias}=${i.stage}`), [
    "cca=eval-cca-wiki",
    "pls-k9=eval-pls-k9-wiki",
    "blm=eval-blm-wiki",
    "gmmfa=eval-gmmfa-wiki",
    "scm=eval-scm-none-wiki",
    "sm=eval-sm-none-wiki",
    "gmlda=eval-gmlda-none-wiki",
    "gmmfa-std=eval-gmmfa-std-none-wiki",
    "msalg=eval-msalg-none-wiki",
    "lrbs=eval-lrbs-none-wiki",
  ]);
});

Deno.test("pipeline.yaml: the compare recipes come from the grid, trained on the validation split only", async () => {
  const p = await loadPipeline(FILE, { registry });
  const grid = p.params.recipe_grid as Record<string, unknown>[];
  assert.deepEqual(p.stages.get("cmp-recipes-wiki")!.params.candidates, grid, "one grid");
  const vals = [...p.stages.values()].filter((s) => s.entry === "cmp-val-train-{cand}-wiki");
  assert.equal(vals.length, grid.length);
  for (const [i, s] of vals.entries()) {
    const { name: _n, method: _m, ...fields } = grid[i];
    for (const [k, v] of Object.entries(fields)) assert.equal(s.params[k], v, `${s.name}: ${k}`);
    assert.deepEqual(
      s.inputs.map((x) => x.stage),
      ["cmp-val-split-wiki"],
      `${s.name} trains on the split`,
    );
  }
  const split = p.stages.get("cmp-val-split-wiki")!;
  assert.equal(split.kind, "split-validation");
  assert.deepEqual(split.inputs.map((x) => x.stage), [p.params.compare_data]);
  // every seed of every method takes its method's recipe, from the one recipes.json
  const trains = [...p.stages.values()].filter((s) =>
    s.entry === "cmp-train-{method}-s{seed}-wiki"
  );
  assert.equal(trains.length, 40);
  const methods = new Set(grid.map((g) => g.method));
  for (const s of trains) {
    assert.ok(methods.has(s.params.recipe as string), `${s.name}: recipe ${s.params.recipe}`);
    const r = s.inputs.find((x) => x.alias === "recipe");
    assert.equal(`${r?.stage}/${r?.output}`, "cmp-recipes-wiki/recipes.json", s.name);
  }
});

Deno.test("pipeline.yaml: the DSE variants and the λ grid are declared once", async () => {
  const p = await loadPipeline(FILE, { registry });
  const trains = [...p.stages.values()].filter((s) => s.kind === "train-dse");
  const variants = p.params.dse_variants as { name: string; lambda: number }[];
  // the paper's λ per loss (Kang et al. 2017 §3.5): every main DSE training uses these pairs
  assert.deepEqual(variants, [
    { name: "s", lambda: 0 },
    { name: "cs", lambda: 0.01 },
    { name: "ds", lambda: 0.1 },
  ]);
  const main = trains.filter((s) => /^(p-)?train-dse-(e2e-)?[a-z]+-[a-z]+$/.test(s.name));
  assert.equal(main.length, 3 + 9 + 9);
  for (const s of main) {
    assert.ok(
      variants.some((v) => v.name === s.params.loss && v.lambda === s.params.lambda),
      `${s.name}: loss ${s.params.loss} with λ ${s.params.lambda}`,
    );
  }
  // one edit of the grid moves every sweep: training, evaluation (its row's λ field), and only them
  const q = await loadPipeline(FILE, { registry, set: ["lambda_grid=[0,0.5]"] });
  const sweeps = [...q.stages.values()].filter((s) => s.name.includes("sweep-dse-"));
  assert.equal(sweeps.length, 2 * 2 * 2 * (1 + 3), "2 variants × 2 λ × (train + eval) × 4 sets");
  for (const s of sweeps) {
    const lambda = s.kind === "train-dse"
      ? s.params.lambda
      : (s.params.sweep as { lambda?: number }).lambda;
    assert.ok(lambda === 0 || lambda === 0.5, `${s.name}: λ ${lambda}`);
    assert.ok(s.name.includes(`-lambda-${lambda}-`), `${s.name} is named by its λ`);
  }
  assert.equal(q.stages.size, 453 - 2 * 4 * 2 * 4, "the 4 other λ points of each sweep are gone");
});
