import assert from "node:assert/strict";
import { checkParam, loadPipeline } from "../../pipeline/spec.ts";
import { main } from "../../pipeline/cli.ts";
import { allKinds, optionChoices, registry, runOptions } from "../../stages/mod.ts";

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

Deno.test("inputs: every kind declares its input aliases; a wrong alias is a located exit-2 error naming them", async () => {
  for (const kind of allKinds) {
    if (kind.name === "download") {
      assert.equal(kind.inputs, undefined, "download takes no inputs");
      continue;
    }
    assert.ok(kind.inputs !== undefined, `${kind.name}: declare inputs (or "any")`);
    if (kind.inputs === "any") {
      assert.ok(["check", "report"].includes(kind.name), `${kind.name} takes any alias`);
    } else {
      for (const [alias, doc] of Object.entries(kind.inputs)) {
        assert.ok(doc.length > 10, `${kind.name}.inputs.${alias}: say what it must be`);
      }
    }
  }
  const dir = await Deno.makeTempDir();
  const file = `${dir}/mine.yaml`;
  await Deno.writeTextFile(
    file,
    `stages:
  feats:
    uses: features
    with: { dataset: d, img_train: a.npy, img_test: b.npy, txt_train: c.npy, txt_test: d.npy,
            labels_train: y.txt, labels_test: z.txt }
  cca-x: { uses: cca, inputs: { data: feats } }
  dse-x: { uses: train-dse, with: { loss: ds }, inputs: { features: feats } }
  chk: { uses: check, inputs: { whatever: cca-x } }
  half:
    uses: features
    with: { dataset: d, img_train: a.npy, img_test: b.npy, labels_train: y.txt, labels_test: z.txt }
`,
  );
  const err: string[] = [];
  const { main } = await import("../../pipeline/cli.ts");
  const code = await main(["status", "--pipeline", file, "--artifacts", `${dir}/art`], {
    registry,
    stdout: () => {},
    stderr: (s) => err.push(s),
  });
  await Deno.remove(dir, { recursive: true });
  assert.equal(code, 2);
  const text = err.join("\n");
  assert.ok(
    text.includes(
      `${file}:6:33: error: unknown input 'data' of stage 'cca-x': kind 'cca' takes 'features' ` +
        `(write inputs: { features: feats })`,
    ),
    text,
  );
  assert.ok(
    text.includes(
      `${file}:7:59: error: unknown input 'features' of stage 'dse-x': kind 'train-dse' takes ` +
        `'data', 'backbone'`,
    ),
    text,
  );
  assert.ok(!text.includes("chk"), "check takes any alias");
  // a kind's own check of its params as a whole runs at load time too
  assert.ok(
    text.includes(
      `${file}:11:5: error: stage 'half' (kind 'features'): missing txt_train, txt_test: give ` +
        `img_train, img_test, txt_train, txt_test, labels_train and labels_test, or img, txt, ` +
        `labels and a split`,
    ),
    text,
  );
});

Deno.test("docs/kinds.md is generated from the kinds' schemas and in sync (regenerate: deno task kinds --markdown > docs/kinds.md)", async () => {
  const { kindsMarkdown } = await import("../../pipeline/kinds.ts");
  const page = await Deno.readTextFile(`${ROOT}docs/kinds.md`);
  assert.equal(page, kindsMarkdown(registry), "docs/kinds.md is stale: regenerate it");
  assert.match(await Deno.readTextFile(`${ROOT}README.md`), /\]\(docs\/kinds\.md\)/);
});

Deno.test("--backend: an unknown value is one usage error (exit 2) before anything runs", async () => {
  assert.deepEqual(optionChoices.backend, ["auto", "node-gpu", "node", "webgpu", "wasm", "cpu"]);
  const dir = await Deno.makeTempDir();
  try {
    const err: string[] = [];
    const code = await main(
      ["reproduce", "--backend", "gpu", "--pipeline", `${ROOT}/pipeline.yaml`, "--artifacts", dir],
      { registry, runOptions, stdout: () => {}, stderr: (l) => void err.push(l) },
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
  const claims = check.params.claims as {
    left: { method: string; seed?: number | "*" };
    right: { method?: string };
  }[];
  for (const e of evals) {
    // one row per seed: the seed is the row's `seed` field, the method the embedding's own; a
    // claim names that seed or every seed (`seed: "*"`, stages/check/check.ts)
    const seed = (e.params.sweep as { seed?: number }).seed;
    assert.equal(seed, e.matrix.seed, `${e.name}: sweep.seed`);
    const method = (e.matrix.method as { name: string }).name;
    assert.ok(
      claims.some((c) =>
        c.left.method === method && (c.left.seed === seed || c.left.seed === "*") &&
        c.right.method === "random"
      ),
      `check-compare claims ${method} (seed ${seed}) > random`,
    );
  }
  // the report groups the seeds of every trained method
  assert.equal(
    (p.stages.get("report-compare")!.params.compare as { dataset: string }).dataset,
    "wiki",
  );
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

/** The heavy packages that load with the stage that needs them, never with the CLI. */
const HEAVY_PACKAGES = [
  "sharp",
  "h5wasm",
  "h5wasm/node",
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-cpu",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-backend-webgpu",
  "vega",
  "vega-lite",
  "@resvg/resvg-js",
];

Deno.test("start-up: loading cli.ts loads no heavy package: sharp, h5wasm, tfjs, vega, vega-lite, resvg (they load with the stage)", async () => {
  const pkgs = await staticPackages(`${ROOT}cli.ts`);
  assert.ok(pkgs.has("yaml"), `the walk finds the engine's packages: ${[...pkgs]}`);
  for (const heavy of HEAVY_PACKAGES) {
    assert.ok(!pkgs.has(heavy), `${heavy} is imported statically from cli.ts`);
  }
  // the walk does see them where they are imported statically
  const dse = await staticPackages(`${ROOT}stages/dse/train.ts`);
  assert.ok(dse.has("@tensorflow/tfjs-core"), `train.ts loads tfjs: ${[...dse]}`);
  console.log(`packages cli.ts loads: ${[...pkgs].sort().join(", ")}`);
});
