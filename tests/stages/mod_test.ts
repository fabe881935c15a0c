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

/** npm packages reachable from `file` through static, non-type imports (what loading it loads). */
async function staticPackages(file: string): Promise<Set<string>> {
  const STATIC_RE =
    /(?:^|[^\w$.])(?:import|export)\s+(type\s+)?(?:[\w*${},\s]+?\s+from\s+)?["']([^"'\n]+)["']/g;
  const seen = new Set<string>(), packages = new Set<string>();
  const walk = async (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const text = await Deno.readTextFile(path);
    for (const m of text.matchAll(STATIC_RE)) {
      if (m[1]) continue; // `import type` is erased
      const spec = m[2];
      if (spec.startsWith(".")) await walk(new URL(spec, `file://${path}`).pathname);
      else if (!spec.startsWith("node:")) packages.add(spec);
    }
  };
  await walk(file);
  return packages;
}

Deno.test("start-up: loading cli.ts loads neither sharp nor h5wasm (they load with the stage)", async () => {
  const pkgs = await staticPackages(`${ROOT}cli.ts`);
  assert.ok(pkgs.has("yaml"), `the walk finds the engine's packages: ${[...pkgs]}`);
  for (const heavy of ["sharp", "h5wasm", "h5wasm/node"]) {
    assert.ok(!pkgs.has(heavy), `${heavy} is imported statically from cli.ts`);
  }
  // Still loaded at start-up: tfjs (the DSE and CNN kinds' environment() and code) and vega/resvg
  // (the report kind); see the README, "Start-up".
  console.log(`packages cli.ts loads: ${[...pkgs].sort().join(", ")}`);
});
