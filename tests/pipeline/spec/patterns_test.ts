import assert from "node:assert/strict";
import {
  compilePattern,
  matchPattern,
  NameIndex,
  type Pattern,
} from "../../../pipeline/spec/patterns.ts";

function compiled(source: string): Pattern {
  const p = compilePattern(source);
  assert.ok(typeof p !== "string", `${source}: ${p}`);
  return p;
}

Deno.test("compilePattern: captures, listed values, the literal prefix", () => {
  const p = compiled("p-eval-{m}-{feat:alexnet|alexnet-pca}-*");
  assert.deepEqual(p.captures, ["m", "feat"]);
  assert.deepEqual(p.choices, { feat: ["alexnet", "alexnet-pca"] });
  assert.equal(p.prefix, "p-eval-");
  assert.equal(compiled("src-?").prefix, "src-");
  assert.equal(compiled("plain").prefix, "plain");
});

Deno.test("compilePattern: each malformed pattern says what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["a-{m", /'\{' at character 3 is not closed/],
    ["a-}", /'\}' without '\{' at character 3/],
    ["a-{}", /bad capture '\{\}'/],
    ["a-{1x}", /bad capture '\{1x\}'/],
    ["a-{m}-{m}", /capture \{m\} appears twice/],
    ["a-{m}{n}", /captures \{m\} and \{n\} touch: put a literal between them/],
    ["a-{m:}", /bad capture '\{m:\}': list the values as \{m:a\|b\}/],
    ["a-{m:x||y}", /bad capture/],
  ];
  for (const [src, want] of cases) {
    const p = compilePattern(src);
    assert.equal(typeof p, "string", src);
    assert.match(p as string, want, src);
  }
});

Deno.test("matchPattern: captures hyphenated values; ambiguity is reported, not guessed", () => {
  const one = compiled("eval-{m}-wiki");
  assert.deepEqual(matchPattern(one, "eval-pls-k9-wiki"), { captures: { m: "pls-k9" } });
  assert.equal(matchPattern(one, "eval-pls-k9-pascal"), undefined);
  assert.equal(matchPattern(one, "eval--wiki"), undefined, "a capture is never empty");
  const two = compiled("eval-{m}-{pca}-wiki");
  assert.deepEqual(matchPattern(two, "eval-scm-none-wiki"), {
    captures: { m: "scm", pca: "none" },
  });
  // gmmfa-std-none splits two ways: m=gmmfa/pca=std-none (lazy) and m=gmmfa-std/pca=none (greedy)
  assert.deepEqual(matchPattern(two, "eval-gmmfa-std-none-wiki"), {
    ambiguous: ["m=gmmfa, pca=std-none", "m=gmmfa-std, pca=none"],
  });
  // listing a capture's values removes the ambiguity
  const listed = compiled("eval-{m}-{pca:none|standard}-wiki");
  assert.deepEqual(matchPattern(listed, "eval-gmmfa-std-none-wiki"), {
    captures: { m: "gmmfa-std", pca: "none" },
  });
});

Deno.test("NameIndex: pipeline order, listed values in list order, memoised per pattern", () => {
  const names = ["eval-cca-wiki", "eval-blm-wiki", "eval-pls-k9-wiki", "other", "eval-x-pascal"];
  const index = new NameIndex(names);
  const all = index.match(compiled("eval-*-wiki")).hits.map((h) => h.name);
  assert.deepEqual(all, ["eval-cca-wiki", "eval-blm-wiki", "eval-pls-k9-wiki"]);
  const listed = index.match(compiled("eval-{m:pls-k9|cca|blm}-wiki")).hits;
  assert.deepEqual(listed.map((h) => h.captures.m), ["pls-k9", "cca", "blm"]);
  const p = compiled("eval-{m}-wiki");
  assert.equal(index.match(p), index.match(compiled("eval-{m}-wiki")), "same result object");
  assert.deepEqual(index.match(compiled("zzz-*")).hits, []);
});
