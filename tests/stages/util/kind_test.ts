import assert from "node:assert/strict";
import type { ParamsOf, StageKind } from "../../../pipeline/types.ts";
import { defineKind, typedParam } from "../../../stages/util/kind.ts";

const kind = defineKind({
  name: "toy",
  description: "a kind for the types",
  module: import.meta.url,
  params: {
    n: { type: "integer", default: 1 },
    mode: { type: "string", default: "a", enum: ["a", "b"] },
    on: { type: "boolean", default: false },
    rows: typedParam<{ id: string }[]>({ type: "array", default: [] }),
    free: { type: "any", default: null },
  },
  outputs: ["x"],
  validate: (p) => (p.n >= 0 ? [] : ["n must be ≥ 0"]),
  run(ctx) {
    const n: number = ctx.params.n;
    const mode: "a" | "b" = ctx.params.mode;
    const id: string | undefined = ctx.params.rows[0]?.id;
    // @ts-expect-error: an enum param is its members, not any string
    const wrong: "a" = ctx.params.mode;
    // @ts-expect-error: a param the schema does not declare does not exist
    ctx.params.undeclared;
    void [n, mode, id, wrong, ctx.params.free satisfies unknown, ctx.params.on satisfies boolean];
    return Promise.resolve();
  },
});

Deno.test("defineKind: the params type is derived from the schema; the kind is unchanged", () => {
  type P = ParamsOf<typeof kind.params>;
  const p: P = { n: 2, mode: "b", on: true, rows: [{ id: "r" }], free: 3 };
  assert.deepStrictEqual(kind.validate!(p), []);
  assert.deepStrictEqual(kind.validate!({ ...p, n: -1 }), ["n must be ≥ 0"]);
  // A typed kind is a plain StageKind for the registry (no cast).
  const registered: StageKind = kind;
  assert.strictEqual(registered.params.rows.type, "array");
  assert.deepStrictEqual(Object.keys(registered.params), ["n", "mode", "on", "rows", "free"]);
  const spec = { type: "any" as const, doc: "d" };
  assert.strictEqual(typedParam<number>(spec), spec);
});
