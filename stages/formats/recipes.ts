/**
 * The Recipes artifact (`recipes.json`, written by `select-recipe`, read by `train-dse`'s optional
 * `recipe` input): per method, the training recipe chosen on a validation split, the criterion
 * value it reached there and every candidate's score, so that the choice is recorded with its
 * evidence. One reader ({@link readRecipes}) and one writer ({@link writeRecipes}).
 *
 * ```json
 * { "criterion": "avg", "similarity": "cosine", "split": { "fraction": 0.2, … },
 *   "recipes": { "dse-cs": { "loss": "cs", "chosen": "dse-cs-b", "values": { "lr": 0.001, "lambda": 0.1 },
 *                            "score": 0.31, "candidates": [{ "name": "dse-cs-a", "values": {…}, "score": 0.30 }, …] } } }
 * ```
 * @module
 */

/**
 * The fields a recipe may set (the tunable `train-dse` params) and their types: a recipe can set
 * nothing else (the model width, the data, the seed and the loss stay the stage's own).
 */
export const RECIPE_FIELDS = {
  lr: "number",
  margin: "number",
  temperature: "number",
  lambda: "number",
  batch: "integer",
  epochs: "integer",
} as const;

/** A tunable field's name. */
export type RecipeField = keyof typeof RECIPE_FIELDS;

/** The values of a recipe: a subset of {@link RECIPE_FIELDS}. */
export type RecipeValues = { [F in RecipeField]?: number };

/** One candidate of a method's grid and its validation score. */
export interface ScoredCandidate {
  /** The candidate's name (unique in the grid). */
  name: string;
  /** Its values. */
  values: RecipeValues;
  /** The validation criterion it reached. */
  score: number;
}

/** A method's chosen recipe. */
export interface Recipe {
  /** The `train-dse` loss the grid trained (a recipe is for that loss only). */
  loss: string;
  /** Name of the chosen candidate. */
  chosen: string;
  /** Its values (what the trainings of the method take). */
  values: RecipeValues;
  /** Its validation criterion. */
  score: number;
  /** Every candidate of the method, in grid order, with its score. */
  candidates: ScoredCandidate[];
}

/** The contents of `recipes.json`. */
export interface RecipesFile {
  /** The metrics field maximised (e.g. `avg`: mean of the two mAPs). */
  criterion: string;
  /** The similarity of the metrics rows compared. */
  similarity: string;
  /** Where the scores come from: the validation split (its stage, fraction, seed, sizes). */
  split: Record<string, unknown>;
  /** Per method (the compare target's method name). */
  recipes: Record<string, Recipe>;
}

/**
 * Check that `value` holds only recipe fields of the right type; throws naming `where`, the
 * field and what is allowed.
 * @param value parsed JSON or YAML
 * @param where what holds it, for the message (e.g. `recipes.json: recipes.dse-cs.values`)
 */
export function validateRecipeValues(value: unknown, where: string): RecipeValues {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where}: must be a mapping of recipe fields, got ${JSON.stringify(value)}`);
  }
  const out: RecipeValues = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(k in RECIPE_FIELDS)) {
      throw new Error(
        `${where}: unknown recipe field '${k}'; a recipe may set ${
          Object.keys(RECIPE_FIELDS).join(", ")
        }`,
      );
    }
    const type = RECIPE_FIELDS[k as RecipeField];
    const ok = typeof v === "number" && Number.isFinite(v) &&
      (type === "number" ? v >= 0 : Number.isInteger(v) && v >= 1);
    if (!ok) {
      throw new Error(
        `${where}: '${k}' must be ${
          type === "integer" ? "an integer ≥ 1" : "a finite number ≥ 0"
        }, got ${JSON.stringify(v)}`,
      );
    }
    out[k as RecipeField] = v as number;
  }
  return out;
}

function field<T>(o: Record<string, unknown>, k: string, type: string, where: string): T {
  if (typeof o[k] !== type || (type === "number" && !Number.isFinite(o[k]))) {
    throw new Error(`${where}: field '${k}' must be a ${type}, got ${JSON.stringify(o[k])}`);
  }
  return o[k] as T;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Check a parsed `recipes.json`; throws naming the file, the place and the field.
 * @param value parsed JSON
 * @param where the file, for the message
 */
export function validateRecipes(value: unknown, where: string): RecipesFile {
  if (!isMapping(value) || !isMapping(value.recipes) || !isMapping(value.split)) {
    throw new Error(
      `${where}: expected { "criterion", "similarity", "split": {...}, "recipes": {...} }`,
    );
  }
  const file: RecipesFile = {
    criterion: field(value, "criterion", "string", where),
    similarity: field(value, "similarity", "string", where),
    split: value.split,
    recipes: {},
  };
  for (const [method, r] of Object.entries(value.recipes)) {
    const at = `${where}: recipes.${method}`;
    if (!isMapping(r)) throw new Error(`${at}: must be a mapping`);
    if (!Array.isArray(r.candidates)) throw new Error(`${at}: field 'candidates' must be a list`);
    file.recipes[method] = {
      loss: field(r, "loss", "string", at),
      chosen: field(r, "chosen", "string", at),
      values: validateRecipeValues(r.values, `${at}.values`),
      score: field(r, "score", "number", at),
      candidates: r.candidates.map((c, i) => {
        const ci = `${at}.candidates[${i}]`;
        if (!isMapping(c)) throw new Error(`${ci}: must be a mapping`);
        return {
          name: field<string>(c, "name", "string", ci),
          values: validateRecipeValues(c.values, `${ci}.values`),
          score: field<number>(c, "score", "number", ci),
        };
      }),
    };
  }
  return file;
}

/** Write `recipes.json` (pretty JSON, methods in the order given). */
export async function writeRecipes(path: string, file: RecipesFile): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(file, null, 2) + "\n");
}

/**
 * Read and check a `recipes.json`.
 * @param path the file, or a directory (a `select-recipe` object) that holds it
 */
export async function readRecipes(path: string): Promise<RecipesFile> {
  let file = path;
  try {
    if ((await Deno.stat(path)).isDirectory) file = `${path.replace(/\/+$/, "")}/recipes.json`;
  } catch {
    // reported below
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new Error(`${path}: no recipes.json here; point at a \`select-recipe\` stage's object`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return validateRecipes(parsed, file);
}
