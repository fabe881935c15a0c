/**
 * The layer rule of docs/architecture.md, checked on the import graph, and what it buys: cache keys
 * of the real pipeline.yaml that do not go stale across layers.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { loadPipeline, type Pipeline } from "../pipeline/spec.ts";
import { cacheKey, clearModuleCache, codeIngredients, ENGINE_FORMAT } from "../pipeline/key.ts";
import { canonicalJson } from "../pipeline/hash.ts";
import { downstreamClosure, topoOrder, upstreamClosure } from "../pipeline/dag.ts";
import { registry } from "../stages/mod.ts";
import { kinds as dataKinds } from "../stages/data/mod.ts";
import { kinds as dseKinds } from "../stages/dse/mod.ts";
import {
  type ImportEdge,
  importEdges,
  KIND_PACKAGES,
  LIBRARIES,
  localSpecifiers,
  ruleViolation,
} from "./helpers/import_graph.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const ROOT_URL = new URL("../", import.meta.url).href;

function violations(edges: readonly ImportEdge[]): string[] {
  return edges.flatMap((e) => {
    const v = ruleViolation(e);
    return v ? [`${e.from} -> ${e.to}: ${v}`] : [];
  });
}

Deno.test("layers: no import in stages/ or pipeline/ breaks the layer rule", () => {
  const edges = importEdges(ROOT, ["stages", "pipeline"]);
  // The graph is really read (a parser that finds nothing passes every rule).
  assert.ok(edges.length > 150, `only ${edges.length} edges found`);
  assert.ok(
    edges.some((e) =>
      e.from === "stages/data/image_features.ts" && e.to === "stages/nn/backend.ts"
    ),
  );
  assert.deepStrictEqual(violations(edges), []);
});

Deno.test("layers: planted bad edges are reported", () => {
  const bad: [ImportEdge, RegExp][] = [
    // the cycle the issue found: data ↔ dse
    [
      { from: "stages/data/image_features.ts", to: "stages/dse/backend.ts" },
      /stage-kind package data/,
    ],
    [{ from: "stages/baselines/lrbs.ts", to: "stages/eval/map.ts" }, /package baselines/],
    [{ from: "stages/nn/resnet_backbone.ts", to: "stages/dse/model.ts" }, /shared library nn/],
    [{ from: "stages/util/rng.ts", to: "stages/linalg/matrix.ts" }, /library order/],
    [{ from: "pipeline/run.ts", to: "stages/mod.ts" }, /engine \(pipeline\/\) imports nothing/],
    [{ from: "stages/report/build.ts", to: "pipeline/store.ts" }, /package report/],
    [{ from: "stages/mod.ts", to: "pipeline/cli.ts" }, /only pipeline\/types\.ts/],
    [{ from: "stages/scratch/x.ts", to: "stages/util/fs.ts" }, /in no layer/],
  ];
  for (const [edge, why] of bad) assert.match(ruleViolation(edge) ?? "(allowed)", why);
  // and allowed ones are allowed
  for (
    const edge of [
      { from: "stages/data/features.ts", to: "stages/util/fs.ts" },
      { from: "stages/dse/train.ts", to: "pipeline/types.ts" },
      { from: "stages/formats/metrics.ts", to: "stages/retrieval/map.ts" },
      { from: "stages/mod.ts", to: "stages/dse/mod.ts" },
    ]
  ) assert.strictEqual(ruleViolation(edge), undefined, `${edge.from} -> ${edge.to}`);
  assert.deepStrictEqual([...new Set([...LIBRARIES, ...KIND_PACKAGES])].length, 12);
});

Deno.test("layers: the parser sees every import form, type-only ones included", () => {
  const src = `import a from "./a.ts";
import type { B } from "../b.ts";
export { c } from "./c.ts";
export * from "./d.ts";
import "./e.ts";
const f = await import("./f.ts");
import {
  g,
  type H,
} from "./g.ts";
import x from "npm:x";
// "./not_an_import.ts"
`;
  assert.deepStrictEqual(localSpecifiers(src).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
  ]);
});

async function realPipeline(): Promise<Pipeline> {
  return await loadPipeline(join(ROOT, "pipeline.yaml"), { registry });
}

Deno.test("layers: code ingredients of the data stages of pipeline.yaml stay in data/ and the libraries", async () => {
  const p = await realPipeline();
  const data = new Set(dataKinds.map((k) => k.name));
  const stages = [...p.stages.values()].filter((s) => data.has(s.kind));
  assert.ok(stages.some((s) => s.name === "wiki-data"), "wiki-data is a data stage");
  assert.ok(stages.length >= 10, `only ${stages.length} data stages`);
  clearModuleCache();
  for (const s of stages) {
    const { code } = await codeIngredients(registry.get(s.kind)!.module);
    const foreign = Object.keys(code).filter((m) =>
      /^stages\/(dse|baselines|report|eval|check)\//.test(m)
    );
    assert.deepStrictEqual(foreign, [], `${s.name} (${s.kind})`);
  }
});

Deno.test("layers: no kind's code ingredients include an engine module (the contract is imported as types)", async () => {
  clearModuleCache();
  for (const kind of registry.values()) {
    const { code } = await codeIngredients(kind.module);
    assert.ok(Object.keys(code).length > 0, kind.name);
    const engine = Object.keys(code).filter((m) => m.startsWith("pipeline/"));
    assert.deepStrictEqual(engine, [], `kind ${kind.name}`);
  }
});

/**
 * Cache keys of the target's stages as the engine computes them ({@link codeIngredients},
 * {@link cacheKey}), with each input's digest replaced by its upstream key: an upstream whose key
 * changes must run again, so its output counts as changed (the worst case). `moduleOf` maps a
 * kind's module URL to the copy of the sources to hash.
 */
async function keys(
  p: Pipeline,
  names: readonly string[],
  moduleOf: (url: string) => string,
): Promise<Map<string, string>> {
  clearModuleCache();
  const out = new Map<string, string>();
  for (const name of names) {
    const s = p.stages.get(name)!;
    const kind = registry.get(s.kind)!;
    const { code, deps } = await codeIngredients(moduleOf(kind.module));
    const inputs = Object.fromEntries(
      s.inputs.map((
        i,
      ) => [i.alias, { stage: i.stage, output: i.output, digest: out.get(i.stage)! }]),
    );
    out.set(
      name,
      cacheKey({
        format: ENGINE_FORMAT,
        kind: kind.name,
        code,
        deps,
        params: s.params,
        inputs,
        env: {},
      }),
    );
  }
  return out;
}

Deno.test("layers: a comment in stages/dse/train.ts makes only DSE training and its downstream stale (paper target)", async () => {
  const p = await realPipeline();
  const roots = p.targets.get("paper");
  assert.ok(roots, "pipeline.yaml has a paper target");
  const names = topoOrder(p.graph, { only: upstreamClosure(p.graph, roots) });
  const copy = await Deno.makeTempDir({ prefix: "layers_" });
  try {
    for (const x of ["deno.json", "deno.lock", "stages", "pipeline"]) {
      cpSync(join(ROOT, x), join(copy, x), { recursive: true });
    }
    const before = await keys(p, names, (u) => u.replace(ROOT_URL, `file://${copy}/`));
    const train = join(copy, "stages/dse/train.ts");
    await Deno.writeTextFile(train, `${await Deno.readTextFile(train)}\n// a comment\n`);
    const after = await keys(p, names, (u) => u.replace(ROOT_URL, `file://${copy}/`));
    const changed = names.filter((n) => before.get(n) !== after.get(n)).sort();

    const dse = new Set(dseKinds.map((k) => k.name));
    const training = names.filter((n) => dse.has(p.stages.get(n)!.kind));
    assert.ok(training.length >= 3, `DSE training stages in paper: ${training}`);
    const inTarget = new Set(names);
    const expected = new Set(training);
    for (const t of training) {
      for (const d of downstreamClosure(p.graph, t)) if (inTarget.has(d)) expected.add(d);
    }
    assert.ok(expected.size < names.length / 2, "most of the paper target is not DSE");
    assert.deepStrictEqual(changed, [...expected].sort());
    // The source copy is really hashed: without the comment the keys are those of the real tree.
    const real = await keys(p, names, (u) => u);
    assert.strictEqual(canonicalJson([...real]), canonicalJson([...before]));
  } finally {
    clearModuleCache();
    await Deno.remove(copy, { recursive: true });
  }
});
