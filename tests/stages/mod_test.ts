import assert from "node:assert/strict";
import { checkParam, loadPipeline } from "../../pipeline/spec.ts";
import { allKinds, registry } from "../../stages/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("registry: every kind once, with a module, outputs and well-typed defaults", () => {
  assert.equal(registry.size, allKinds.length);
  for (const kind of allKinds) {
    assert.ok(kind.module.startsWith("file:"), `${kind.name}: module must be import.meta.url`);
    assert.ok(kind.description.length > 0, `${kind.name}: description`);
    for (const [name, spec] of Object.entries(kind.params)) {
      if (spec.default === undefined) continue;
      assert.equal(checkParam(spec.default, spec), undefined, `${kind.name}.${name} default`);
    }
  }
  for (
    const name of [
      "download",
      "features",
      "cca",
      "pls",
      "blm",
      "gmlda",
      "gmmfa",
      "sm",
      "scm",
      "msalg",
      "lrbs",
      "pca",
      "train-dse",
      "evaluate",
      "random",
      "check",
      "report",
    ]
  ) assert.ok(registry.has(name), `kind ${name} registered`);
});

Deno.test("pipeline.yaml validates against the real registry; quick reaches the check", async () => {
  const p = await loadPipeline(`${ROOT}pipeline.yaml`, { registry });
  assert.ok(p.targets.has("quick"));
  assert.ok(p.targets.has("paper"));
  const names = [...p.stages.keys()];
  for (const s of ["check-wiki", "report-quick", "train-dse-ds-wiki", "eval-dse-ds-wiki"]) {
    assert.ok(names.includes(s), `stage ${s}`);
  }
  // the design card's `deno task stage train-dse-ds` resolves by prefix to the Wikipedia stage
  assert.ok(names.filter((n) => n.startsWith("train-dse-ds-")).includes("train-dse-ds-wiki"));
});

Deno.test("compare: every registered loss trains on every seed, and each run is claimed > random", async () => {
  const { LOSS_NAMES } = await import("../../stages/dse/loss_registry.ts");
  const p = await loadPipeline(`${ROOT}pipeline.yaml`, { registry });
  assert.ok(p.targets.has("compare"));
  const trains = [...p.stages.values()].filter((s) =>
    s.entry === "cmp-train-{method}-s{seed}-wiki"
  );
  assert.deepEqual([...new Set(trains.map((s) => s.params.loss))].sort(), [...LOSS_NAMES].sort());
  const evals = [...p.stages.values()].filter((s) => s.entry === "cmp-eval-{method}-s{seed}-wiki");
  assert.equal(evals.length, trains.length, "one evaluation per training");
  const check = p.stages.get("check-compare")!;
  const claims = check.params.claims as { left: { method: string }; right: { method?: string } }[];
  for (const e of evals) {
    const label = e.params.label as string;
    assert.match(label, /^[a-z0-9-]+@seed=\d+$/);
    assert.ok(
      claims.some((c) => c.left.method === label && c.right.method === "random"),
      `check-compare claims ${label} > random`,
    );
  }
  // the report groups the seeds of every trained method
  assert.equal(
    (p.stages.get("report-compare")!.params.compare as { dataset: string }).dataset,
    "wiki",
  );
});
