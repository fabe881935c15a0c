import assert from "node:assert/strict";
import {
  cacheKey,
  clearModuleCache,
  codeIngredients,
  diffIngredients,
  ENGINE_FORMAT,
  importSpecifiers,
  type Ingredients,
} from "../../pipeline/key.ts";
import { sha256Hex } from "../../pipeline/hash.ts";

Deno.test("importSpecifiers: static, multi-line, re-exports, dynamic; type-only skipped", () => {
  const src = `import a from "./a.ts";
import type { T } from '../t.ts';
import {
  x,
  y as z,
} from "./multi.ts";
export { q } from "./q.ts";
export * from "./star.ts";
export type { S } from "./types_only.ts";
import "./side.ts";
const m = await import("./dyn.ts");
import { parse } from "yaml";
import process from "node:process";
const notAnImport = "import x from";`;
  assert.deepEqual(importSpecifiers(src).sort(), [
    "./a.ts",
    "./dyn.ts",
    "./multi.ts",
    "./q.ts",
    "./side.ts",
    "./star.ts",
    "node:process",
    "yaml",
  ]);
});

Deno.test("codeIngredients: local modules transitively, npm versions from deno.lock", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { yaml: "npm:yaml@^2.8.1", "lib/": "./lib/" } }),
  );
  await Deno.writeTextFile(
    `${dir}/deno.lock`,
    JSON.stringify({ version: "5", specifiers: { "npm:yaml@^2.8.1": "2.9.1" } }),
  );
  await Deno.mkdir(`${dir}/k`);
  await Deno.mkdir(`${dir}/lib`);
  await Deno.writeTextFile(
    `${dir}/k/kind.ts`,
    `import { h } from "../lib/h.ts";\nimport { parse } from "yaml";\nimport p from "node:process";\nimport "yaml/sub";\n`,
  );
  await Deno.writeTextFile(`${dir}/lib/h.ts`, `export * from "./deep.ts";\n`);
  await Deno.writeTextFile(`${dir}/lib/deep.ts`, `export const h = 1;\n`);
  await Deno.writeTextFile(`${dir}/lib/unused.ts`, `export const u = 1;\n`);
  const url = `file://${dir}/k/kind.ts`;
  const a = await codeIngredients(url);
  assert.deepEqual(Object.keys(a.code).sort(), ["k/kind.ts", "lib/deep.ts", "lib/h.ts"]);
  assert.equal(a.code["lib/deep.ts"], sha256Hex("export const h = 1;\n"));
  assert.deepEqual(a.deps, {
    yaml: "npm:yaml@2.9.1",
    "yaml/sub": "npm:yaml@2.9.1",
    "node:process": "node:process",
  });
  await Deno.writeTextFile(`${dir}/lib/deep.ts`, `export const h = 2;\n`);
  assert.deepEqual(await codeIngredients(url), a, "cached within a process until cleared");
  clearModuleCache();
  const b = await codeIngredients(url);
  assert.notEqual(b.code["lib/deep.ts"], a.code["lib/deep.ts"]);
  assert.equal(b.code["k/kind.ts"], a.code["k/kind.ts"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cacheKey is canonical; diffIngredients names what changed", () => {
  const base: Ingredients = {
    format: ENGINE_FORMAT,
    kind: "k",
    code: { "a.ts": "1" },
    deps: {},
    params: { lr: 0.1, n: 3 },
    inputs: { x: { stage: "s", digest: "d1" } },
    env: { backend: "cpu" },
  };
  const reordered = { ...base, params: { n: 3, lr: 0.1 } };
  assert.equal(cacheKey(base), cacheKey(reordered));
  assert.match(cacheKey(base), /^[0-9a-f]{64}$/);
  const changed: Ingredients = {
    ...base,
    code: { "a.ts": "2", "b.ts": "3" },
    params: { lr: 0.01, n: 3 },
    inputs: { x: { stage: "s", digest: "d2" } },
    env: { backend: "wasm" },
  };
  assert.notEqual(cacheKey(base), cacheKey(changed));
  assert.deepEqual(diffIngredients(base, changed), [
    "code a.ts",
    "code b.ts (new)",
    "params.lr: 0.1 → 0.01",
    "input x (s)",
    "env.backend: cpu → wasm",
  ]);
  assert.deepEqual(diffIngredients(base, reordered), []);
});

Deno.test("files: in the key by content; absent means the key of a stage that reads none", () => {
  const base: Ingredients = {
    format: ENGINE_FORMAT,
    kind: "k",
    code: {},
    deps: {},
    params: {},
    inputs: {},
    env: {},
  };
  assert.equal(cacheKey(base), cacheKey({ ...base, files: undefined }));
  const a = { ...base, files: { "/u/a.txt": "h1", "/u/b.txt": "h2" } };
  const b = { ...base, files: { "/u/a.txt": "h9", "/u/c.txt": "h3" } };
  assert.notEqual(cacheKey(a), cacheKey(base));
  assert.notEqual(cacheKey(a), cacheKey(b));
  assert.deepEqual(diffIngredients(a, b), [
    "file /u/a.txt (content)",
    "file /u/b.txt (gone)",
    "file /u/c.txt (new)",
  ]);
  assert.deepEqual(diffIngredients(a, { ...a, files: { ...a.files, "/u/b.txt": "(missing)" } }), [
    "file /u/b.txt (missing)",
  ]);
});
