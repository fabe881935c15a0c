import assert from "node:assert/strict";
import { applyRecipe, DSE_PARAMS, type DseParams } from "../../../stages/dse/train_params.ts";
import { trainDseKind } from "../../../stages/dse/train_kind.ts";
import { type RecipesFile, writeRecipes } from "../../../stages/formats/recipes.ts";
import { writeFeatureSet } from "../../../stages/formats/feature_set.ts";
import { fromRows } from "../../../stages/linalg/mod.ts";
import { selectBackend } from "../../../stages/nn/backend.ts";
import { runKind } from "../../helpers/stage_context.ts";

await selectBackend("cpu", { log: () => {} });

function params(over: Partial<DseParams>): DseParams {
  const p: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(DSE_PARAMS)) p[k] = (s as { default?: unknown }).default;
  return { ...p, ...over } as DseParams;
}

function recipes(values: Record<string, unknown>, loss = "cs"): RecipesFile {
  const r = { loss, chosen: "dse-cs.x", values, score: 0.3, candidates: [] };
  return {
    criterion: "avg",
    similarity: "cosine",
    split: { fraction: 0.2 },
    recipes: { "dse-cs": r },
  } as unknown as RecipesFile;
}

Deno.test("applyRecipe: the recipe's fields replace the params, the others stay", () => {
  const p = params({ loss: "cs", dim: 64, seed: 3, recipe: "dse-cs" });
  const q = applyRecipe(p, recipes({ lr: 3e-4, lambda: 0.1, batch: 64, epochs: 7 }));
  assert.deepEqual(
    [q.lr, q.lambda, q.batch, q.epochs, q.margin, q.dim, q.seed, q.loss],
    [3e-4, 0.1, 64, 7, p.margin, 64, 3, "cs"],
  );
  // without a recipe input and param: the params as they are
  assert.equal(applyRecipe(params({ loss: "cs" }), undefined).lr, 1e-3);
});

Deno.test("applyRecipe: unknown fields, wrong types, another loss and a missing method are errors", () => {
  const p = params({ loss: "cs", recipe: "dse-cs" });
  assert.throws(
    () => applyRecipe(p, recipes({ dim: 64 })),
    /recipes\.dse-cs\.values: unknown recipe field 'dim'; a recipe may set lr, margin/,
  );
  assert.throws(() => applyRecipe(p, recipes({ seed: 1 })), /unknown recipe field 'seed'/);
  assert.throws(
    () => applyRecipe(p, recipes({ batch: 32.5 })),
    /'batch' must be an integer ≥ 1, got 32\.5/,
  );
  assert.throws(
    () => applyRecipe(p, recipes({ lr: "1e-3" })),
    /'lr' must be a finite number ≥ 0, got "1e-3"/,
  );
  assert.throws(() => applyRecipe(p, recipes({ epochs: 0 })), /'epochs' must be an integer ≥ 1/);
  assert.throws(
    () => applyRecipe(p, recipes({ lr: 1e-3 }, "ds")),
    /chosen for loss ds, this stage trains cs/,
  );
  assert.throws(
    () => applyRecipe(params({ loss: "cs", recipe: "xu" }), recipes({})),
    /recipes\.json has no recipe for 'xu'; it has dse-cs/,
  );
  assert.throws(
    () => applyRecipe(params({ loss: "cs" }), recipes({})),
    /`recipe` input is wired but the `recipe` param does not name/,
  );
  assert.throws(
    () => applyRecipe(p, undefined),
    /recipe 'dse-cs' is named but no `recipe` input is wired/,
  );
});

Deno.test("train-dse with a recipe input trains with the recipe and records it", async () => {
  const dir = await Deno.makeTempDir();
  const y = Array.from({ length: 24 }, (_, i) => i % 3);
  const row = (i: number) => [y[i] + 0.1 * (i % 5), 1 - y[i], (i * 7) % 3];
  await writeFeatureSet((n) => `${dir}/${n}`, {
    img: { train: fromRows(y.map((_, i) => row(i))), test: fromRows([row(0), row(1), row(2)]) },
    txt: {
      train: fromRows(y.map((_, i) => row(i).slice(0, 2))),
      test: fromRows([[0, 1], [1, 0], [2, 1]]),
    },
    yTrain: y,
    yTest: [0, 1, 2],
    meta: { dataset: "toy" },
  });
  const file = `${await Deno.makeTempDir()}/recipes.json`;
  await writeRecipes(file, recipes({ lr: 3e-4, epochs: 3, batch: 6, lambda: 0.1 }));
  const run = await runKind(trainDseKind, {
    params: { loss: "cs", dim: 4, epochs: 9, batch: 8, recipe: "dse-cs" },
    inputs: { data: dir, recipe: file },
    options: { backend: "cpu" },
  });
  const emb = JSON.parse(await Deno.readTextFile(`${run.dir}/embedding.json`));
  assert.deepEqual(
    [emb.hyper.lr, emb.hyper.epochs_max, emb.hyper.batch, emb.hyper.lambda, emb.hyper.recipe],
    [3e-4, 3, 6, 0.1, "dse-cs.x"],
  );
  assert.equal(JSON.parse(await Deno.readTextFile(`${run.dir}/history.json`)).length, 3);
  assert.deepEqual(run.provenance.recipe, {
    method: "dse-cs",
    chosen: "dse-cs.x",
    values: { lr: 3e-4, epochs: 3, batch: 6, lambda: 0.1 },
  });
});
