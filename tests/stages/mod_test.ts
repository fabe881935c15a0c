import assert from "node:assert/strict";
import { checkParam, loadPipeline } from "../../pipeline/spec.ts";
import { main } from "../../pipeline/cli.ts";
import { allKinds, optionChoices, registry } from "../../stages/mod.ts";

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

Deno.test("--backend: an unknown value is one usage error (exit 2) before anything runs", async () => {
  assert.deepEqual(optionChoices.backend, ["auto", "node-gpu", "node", "webgpu", "wasm", "cpu"]);
  const dir = await Deno.makeTempDir();
  try {
    const err: string[] = [];
    const code = await main(
      ["reproduce", "--backend", "gpu", "--pipeline", `${ROOT}/pipeline.yaml`, "--artifacts", dir],
      { registry, choices: optionChoices, stdout: () => {}, stderr: (l) => void err.push(l) },
    );
    assert.equal(code, 2);
    assert.deepEqual(err, [
      "error: unknown --backend 'gpu'; did you mean 'cpu', 'node-gpu' or 'webgpu'?; use one of " +
      "auto, node-gpu, node, webgpu, wasm, cpu (--help for usage)",
    ]);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
