import assert from "node:assert/strict";
import {
  readRecipes,
  type RecipesFile,
  validateRecipes,
  validateRecipeValues,
  writeRecipes,
} from "../../../stages/formats/recipes.ts";

const FILE: RecipesFile = {
  criterion: "avg",
  similarity: "cosine",
  split: { dataset: "wiki", fraction: 0.2, seed: 0, n_train: 1738, n_val: 435 },
  recipes: {
    "dse-cs": {
      loss: "cs",
      chosen: "dse-cs.b",
      values: { lr: 3e-4, lambda: 0.1, batch: 32, epochs: 20 },
      score: 0.31,
      candidates: [
        { name: "dse-cs.a", values: { lr: 1e-3, lambda: 0.1, batch: 32, epochs: 20 }, score: 0.3 },
        { name: "dse-cs.b", values: { lr: 3e-4, lambda: 0.1, batch: 32, epochs: 20 }, score: 0.31 },
      ],
    },
  },
};

Deno.test("recipes.json round-trips through the one writer and reader (file or object dir)", async () => {
  const dir = await Deno.makeTempDir();
  await writeRecipes(`${dir}/recipes.json`, FILE);
  assert.deepEqual(await readRecipes(`${dir}/recipes.json`), FILE);
  assert.deepEqual(await readRecipes(dir), FILE);
  await assert.rejects(
    readRecipes(`${dir}/none`),
    /no recipes\.json here; point at a `select-recipe`/,
  );
  await Deno.writeTextFile(`${dir}/recipes.json`, "{");
  await assert.rejects(readRecipes(dir), /recipes\.json: not valid JSON/);
});

Deno.test("recipe values: only the tunable fields, each of its type", () => {
  assert.deepEqual(validateRecipeValues({ lr: 0.001, margin: 0, batch: 8 }, "x"), {
    lr: 0.001,
    margin: 0,
    batch: 8,
  });
  assert.throws(
    () => validateRecipeValues({ dim: 8 }, "at"),
    /^Error: at: unknown recipe field 'dim'; a recipe may set lr, margin, temperature, lambda, batch, epochs$/,
  );
  assert.throws(
    () => validateRecipeValues({ epochs: 1.5 }, "at"),
    /'epochs' must be an integer ≥ 1, got 1\.5/,
  );
  assert.throws(
    () => validateRecipeValues({ lr: -1 }, "at"),
    /'lr' must be a finite number ≥ 0, got -1/,
  );
  assert.throws(
    () => validateRecipeValues({ lambda: null }, "at"),
    /'lambda' must be a finite number ≥ 0, got null/,
  );
  assert.throws(() => validateRecipeValues([1], "at"), /at: must be a mapping of recipe fields/);
});

Deno.test("recipes.json: malformed files name the place", () => {
  assert.throws(
    () => validateRecipes({ ...FILE, split: "20%" }, "f"),
    /f: expected \{ "criterion"/,
  );
  assert.throws(
    () => validateRecipes({ ...FILE, criterion: 1 }, "f"),
    /f: field 'criterion' must be a string, got 1/,
  );
  const r = FILE.recipes["dse-cs"];
  assert.throws(
    () => validateRecipes({ ...FILE, recipes: { "dse-cs": { ...r, score: "high" } } }, "f"),
    /f: recipes\.dse-cs: field 'score' must be a number, got "high"/,
  );
  assert.throws(
    () =>
      validateRecipes({
        ...FILE,
        recipes: { "dse-cs": { ...r, candidates: [{ name: "a", values: { seed: 1 }, score: 0 }] } },
      }, "f"),
    /f: recipes\.dse-cs\.candidates\[0\]\.values: unknown recipe field 'seed'/,
  );
});
