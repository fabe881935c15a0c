import assert from "node:assert/strict";
import { isMap, LineCounter, parseDocument, type YAMLMap } from "yaml";
import { Diagnostics } from "../../../pipeline/spec/diagnostics.ts";

/** `n` stages whose params merge one anchor and name another: the shape of pipeline.yaml. */
function aliasedYaml(n: number): string {
  const lines = ["shared:", "  base: &base { a: 1, b: [x, y] }", "  list: &list [p, q]", "stages:"];
  for (let i = 0; i < n; i++) lines.push(`  s${i}: { <<: *base, i: ${i}, l: *list }`);
  return lines.join("\n") + "\n";
}

/** Converts every stage with `Diagnostics.js`; counts walks over the document (reads of its root). */
function convertAll(n: number) {
  const doc = parseDocument(aliasedYaml(n), { merge: true, uniqueKeys: false });
  const diag = new Diagnostics("x.yaml", new LineCounter());
  let walks = 0;
  const contents = doc.contents;
  Object.defineProperty(doc, "contents", {
    get: () => (walks++, contents),
    configurable: true,
  });
  const stages = (contents as YAMLMap).get("stages") as YAMLMap;
  assert.ok(isMap(stages));
  walks = 0;
  const values = stages.items.map((p) => diag.js(doc, p.value));
  return { values, walks, doc, stages };
}

Deno.test("Diagnostics.js is node.toJS(doc), aliases and merges included", () => {
  const { values, doc, stages } = convertAll(5);
  assert.deepEqual(values[3], { a: 1, b: ["x", "y"], i: 3, l: ["p", "q"] });
  for (const [k, p] of stages.items.entries()) {
    assert.deepEqual(values[k], (p.value as YAMLMap).toJS(doc));
  }
  // each conversion gets its own objects, as with toJS
  assert.notEqual((values[0] as { l: string[] }).l, (values[1] as { l: string[] }).l);
});

Deno.test("Diagnostics.js walks a document once for its aliases, not once per conversion", () => {
  // node.toJS(doc) walks the whole document for every value holding an alias: n walks of an
  // n-stage document, quadratic in all
  const { walks } = convertAll(200);
  assert.ok(walks <= 1, `${walks} walks over the document for 200 conversions`);
});
