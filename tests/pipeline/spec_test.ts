import assert from "node:assert/strict";
import { main } from "../../pipeline/cli.ts";
import { parsePipeline, parseSetValue, PipelineError } from "../../pipeline/spec.ts";
import { registry } from "./fixtures/toy_kinds.ts";

const MALFORMED = new URL("./malformed/", import.meta.url);

/** file → [line, col, a substring of the message]. */
const EXPECT: Record<string, [number, number, string]> = {
  bad_input_alias: [6, 15, "bad input alias 'a b'"],
  bad_interp_syntax: [4, 19, "bad interpolation"],
  bad_stage_name: [2, 3, "bad stage name 'bad name!'"],
  bad_version: [1, 10, "unsupported version 2"],
  cycle: [4, 18, "dependency cycle: a → b → a"],
  default_not_a_target: [6, 10, "default target 'paper' is not a target"],
  duplicate_after_matrix: [5, 3, "duplicate stage name 'x-1'"],
  empty_matrix: [4, 18, "has no values"],
  enum_violation: [4, 19, `must be one of "toy", "other", got "nope"`],
  input_not_string: [6, 18, "must be 'stage' or 'stage/output'"],
  input_glob_no_match: [6, 18, "input 'a' of stage 'c': the pattern 'sxr-*' matches no stage"],
  input_pattern_bad_capture: [7, 18, "bad pattern 'src-{1n}': bad capture '{1n}'"],
  input_pattern_unclosed: [6, 18, "bad pattern 'src-{n': '{' at character 5 is not closed"],
  input_pattern_ambiguous: [
    7,
    22,
    "the pattern 'eval-{m}-{pca}' matches 'eval-gmmfa-std-none' reads as m=gmmfa, pca=std-none or as m=gmmfa-std, pca=none",
  ],
  input_pattern_capture_no_match: [7, 22, "the pattern 'src-{n:c|d}' matches no stage"],
  input_alias_capture_unknown: [
    7,
    15,
    "the alias uses {m}, which the pattern 'src-{n}' does not capture (it captures {n})",
  ],
  input_alias_capture_plain_ref: [
    6,
    15,
    "alias 'x-{m}' of stage 'c' uses {m}, but 'src' is not a pattern",
  ],
  input_alias_collision: [
    7,
    15,
    "'src-a-x' and 'src-a-y' both become input 'in-a'; use more captures in the alias",
  ],
  include_missing: [4, 11, "!include no_such_params.yaml: cannot read"],
  kind_validate: [
    4,
    5,
    "stage 'r' (kind 'reader'): 'path' is empty: give the file to read",
  ],
  input_to_kind_without_inputs: [
    7,
    15,
    "unknown input 'a' of stage 's2': kind 'strict' takes no inputs",
  ],
  integer_param_float: [4, 19, "must be an integer, got number 1.5"],
  kind_validate_problem: [
    8,
    11,
    "param 'limits' of stage 's' (kind 'strict'): limits[1]: 3 is below n",
  ],
  matrix_key_not_in_name: [4, 13, "lacks {n}"],
  missing_required_param: [2, 3, "missing required param 'n'"],
  missing_uses: [2, 3, "has no `uses: <kind>`; known kinds: combine, envy, fail"],
  no_stages: [1, 1, "no `stages:` mapping"],
  param_type_via_interp: [7, 13, `must be an integer, got string "big"`],
  placeholder_not_in_matrix: [2, 3, "placeholder {m} but the matrix has no key 'm'"],
  placeholder_without_matrix: [2, 3, "the stage has no matrix"],
  self_cycle: [4, 19, "dependency cycle: a → a"],
  stage_not_mapping: [2, 8, "must be a mapping"],
  target_glob_no_match: [5, 11, "glob 'tr-*' in target 'quick' matches no stage"],
  target_self_reference: [6, 7, "includes itself"],
  target_unknown_entry: [5, 16, "lists 'nosuch', which is neither a stage nor a target"],
  top_is_list: [1, 1, "must be a mapping with `stages:`"],
  unknown_input_alias: [
    7,
    15,
    "unknown input 'upstream' of stage 'r': kind 'reader' takes 'up' (write inputs: { up: src })",
  ],
  unknown_input_stage: [
    6,
    18,
    "unknown input 'scr' (input 'a' of stage 'c'): no such stage; did you mean 'src'?",
  ],
  unknown_interp_param: [
    5,
    19,
    "unknown param 'sed' in ${{ params.sed }}; did you mean 'seed'?; pipeline params: seed",
  ],
  unknown_kind: [
    3,
    11,
    "unknown stage kind 'sourse' in stage 'src'; did you mean 'source'?; known kinds: combine, envy",
  ],
  unknown_matrix_interp: [5, 19, "unknown matrix key 'q'"],
  unknown_output: [7, 10, "stage 'src' has no output 'nope.bin'"],
  unknown_param: [
    4,
    13,
    "unknown param 'sed' for kind 'source' (stage 'src'); did you mean 'seed'?",
  ],
  unknown_stage_field: [4, 5, "unknown field 'input' in stage 'src'; did you mean 'inputs'?"],
  unknown_top_field: [2, 1, "unknown top-level field 'stagez'; did you mean 'stages'?"],
  uses_not_string: [3, 11, "`uses:` of 'src' must be a kind name"],
  with_not_mapping: [4, 11, "`with:` of 'src' must be a mapping"],
  wrong_param_type: [5, 13, `must be an integer, got string "big"`],
  yaml_bad_nesting: [3, 11, "YAML: Nested mappings are not allowed"],
  yaml_duplicate_stage_key: [4, 3, "YAML: Map keys must be unique"],
  yaml_tab_indent: [2, 1, "YAML: Tabs are not allowed"],
  yaml_unclosed_flow: [5, 3, "YAML: Flow sequence"],
  yaml_unclosed_quote: [4, 1, "YAML: Missing closing"],
  yaml_undefined_alias: [4, 19, "YAML: Unresolved alias"],
};

Deno.test("malformed corpus: every file gives a located error, exit 2, nothing written", async () => {
  const files = [...Deno.readDirSync(MALFORMED)].map((e) => e.name).filter((n) =>
    n.endsWith(".yaml.txt")
  ).sort();
  assert.ok(files.length >= 30, `only ${files.length} malformed files`);
  assert.deepEqual(files.map((f) => f.slice(0, -9)), Object.keys(EXPECT).sort());
  const tmp = await Deno.makeTempDir();
  for (const f of files) {
    const path = new URL(f, MALFORMED).pathname;
    const [line, col, text] = EXPECT[f.slice(0, -9)];
    for (const cmd of ["reproduce", "status"]) {
      const err: string[] = [];
      const code = await main([cmd, "--pipeline", path, "--artifacts", `${tmp}/art`], {
        registry,
        stdout: () => {},
        stderr: (s) => err.push(s),
      });
      assert.equal(code, 2, `${f}: exit code`);
      const want = `${path}:${line}:${col}: error: `;
      const hit = err.find((l) => l.startsWith(want));
      assert.ok(hit, `${f}: expected an error at ${line}:${col}, got:\n${err.join("\n")}`);
      assert.ok(
        err.some((l) => l.startsWith(want) && l.includes(text)),
        `${f}: expected "${text}" at ${line}:${col}, got:\n${err.join("\n")}`,
      );
    }
  }
  assert.deepEqual([...Deno.readDirSync(tmp)], [], "nothing may be written");
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("a tab: the first error with a source excerpt and a caret, follow-on errors capped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stages = Array.from(
      { length: 12 },
      (_, i) => `  s${i}:\n    uses: source\n    with: { seed: x${i} }\n`,
    );
    stages[1] = stages[1].replace("    uses", "\tuses");
    await Deno.writeTextFile(`${dir}/p.yaml`, `stages:\n${stages.join("")}`);
    const err: string[] = [];
    const code = await main(
      ["status", "--pipeline", `${dir}/p.yaml`, "--artifacts", `${dir}/art`],
      { registry, stdout: () => {}, stderr: (s) => err.push(s) },
    );
    assert.equal(code, 2);
    assert.match(err[0], /p\.yaml:6:1: error: YAML: Tabs are not allowed as indentation$/);
    assert.equal(err[1], "  6 | →uses: source");
    assert.equal(err[2], "    | ^  (→ is a tab: indent with spaces)");
    assert.match(err[3], /^\.\.\. and \d+ more error\(s\), most of them caused by this one/);
    assert.match(err[4], /^pipeline invalid: \d+ error\(s\); nothing was run$/);
    assert.equal(err.length, 5);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["p.yaml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const GOOD = `version: 1
params:
  seed: abc
  lr: 0.5
  flag: true
  sizes: [10, 20]
stages:
  src-{n}:
    uses: source
    matrix: { n: "\${{ params.sizes }}" }
    with: { seed: "\${{ params.seed }}-x", size: "\${{ matrix.n }}" }
  comb-{lam}-{ds}:
    uses: combine
    foreach: { lam: [1e-4, 0.5, 2], ds: [{ name: wiki, x: 1 }] }
    with: { scale: "\${{ matrix.lam }}", salt: "ds=\${{ matrix.ds }}" }
    inputs: { a: src-10, b: "src-20/data.bin" }
  t:
    uses: trainer
    with: { epochs: 3 }
targets:
  quick: ["comb-*-wiki"]
  paper: [quick, t]
default: paper
`;

Deno.test("parsePipeline: matrix expansion, typed interpolation, inputs, targets", () => {
  const p = parsePipeline(GOOD, { file: "good.yaml", registry });
  assert.deepEqual([...p.stages.keys()], [
    "src-10",
    "src-20",
    "comb-0.0001-wiki",
    "comb-0.5-wiki",
    "comb-2-wiki",
    "t",
  ]);
  const s10 = p.stages.get("src-10")!;
  assert.equal(s10.params.size, 10); // exact interpolation keeps the number type
  assert.equal(s10.params.seed, "abc-x");
  assert.deepEqual(s10.paramRefs, ["seed", "sizes"]);
  assert.deepEqual(s10.outputs, ["data.bin", "meta.json"]);
  const c = p.stages.get("comb-0.0001-wiki")!;
  assert.equal(c.params.scale, 0.0001);
  assert.equal(c.params.salt, `ds={"name":"wiki","x":1}`);
  assert.deepEqual(c.inputs, [
    { alias: "a", stage: "src-10", output: undefined },
    { alias: "b", stage: "src-20", output: "data.bin" },
  ]);
  assert.deepEqual(p.graph.get("comb-2-wiki"), ["src-10", "src-20"]);
  assert.deepEqual(p.stages.get("t")!.params, { epochs: 3, block_at: -1, kind: "toy" });
  assert.deepEqual(p.targets.get("quick"), ["comb-0.0001-wiki", "comb-0.5-wiki", "comb-2-wiki"]);
  assert.deepEqual(p.targets.get("paper"), [
    "comb-0.0001-wiki",
    "comb-0.5-wiki",
    "comb-2-wiki",
    "t",
  ]);
  assert.equal(p.targets.get("all")!.length, 6);
  assert.equal(p.defaultTarget, "paper");
});

Deno.test("parsePipeline: a glob input is one input per matching stage, in pipeline order", () => {
  const p = parsePipeline(
    `stages:
  src-{n}:
    uses: source
    matrix: { n: [b, a, c] }
  other:
    uses: source
  all:
    uses: combine
    inputs: { first: src-b, srcs: "src-*", out: "src-?/meta.json" }
`,
    { file: "g.yaml", registry },
  );
  assert.deepEqual(p.stages.get("all")!.inputs, [
    { alias: "first", stage: "src-b", output: undefined },
    { alias: "srcs:src-b", stage: "src-b", output: undefined },
    { alias: "srcs:src-a", stage: "src-a", output: undefined },
    { alias: "srcs:src-c", stage: "src-c", output: undefined },
    { alias: "out:src-b", stage: "src-b", output: "meta.json" },
    { alias: "out:src-a", stage: "src-a", output: "meta.json" },
    { alias: "out:src-c", stage: "src-c", output: "meta.json" },
  ]);
  assert.deepEqual(p.graph.get("all"), ["src-b", "src-a", "src-c"]);
});

Deno.test("--set: typed values, unknown names and wrong types are errors", () => {
  assert.equal(parseSetValue("1e-4"), 0.0001);
  assert.equal(parseSetValue("true"), true);
  assert.deepEqual(parseSetValue("[1,2]"), [1, 2]);
  assert.equal(parseSetValue("abc"), "abc");
  assert.equal(parseSetValue('"12"'), "12");
  const p = parsePipeline(GOOD, { file: "g", registry, set: ["sizes=[10,20]", "seed=zz"] });
  assert.equal(p.stages.get("src-20")!.params.seed, "zz-x");
  assert.equal(p.params.seed, "zz");
  assert.throws(
    () => parsePipeline(GOOD, { file: "g", registry, set: ["sed=1"] }),
    (e: unknown) =>
      e instanceof PipelineError &&
      e.diagnostics[0].file === "--set sed=1" &&
      e.diagnostics[0].message.includes(
        "unknown param 'sed'; did you mean 'seed'?; pipeline params: seed, lr, flag, sizes",
      ),
  );
  assert.throws(
    () => parsePipeline(GOOD, { file: "g", registry, set: ["lr=fast"] }),
    /param 'lr' is a number \(0.5\), got string "fast"/,
  );
  const small =
    `params: { n: 3 }\nstages:\n  s:\n    uses: source\n    with: { size: "\${{ params.n }}" }\n`;
  assert.equal(parsePipeline(small, { file: "g", registry }).stages.get("s")!.params.size, 3);
  assert.throws(
    () => parsePipeline(small, { file: "g", registry, set: ["n=1.5"] }),
    /g:5:19: error: param 'size' of stage 's' \(kind 'source'\) must be an integer, got number 1.5 \(after --set n\)/,
  );
  assert.throws(
    () => parsePipeline(GOOD, { file: "g", registry, set: ["novalue"] }),
    /expected --set key=value/,
  );
});

Deno.test("parsePipeline: a capture pattern names inputs by what it captured, listed values in order", () => {
  const p = parsePipeline(
    `stages:
  eval-{m}-{pca}:
    uses: source
    matrix: { m: [cca, pls-k9, gmmfa-std], pca: [none, standard] }
  all:
    uses: combine
    inputs:
      plain: "eval-{m}-none"
      "{m}": ["eval-{m:pls-k9|cca}-none", "eval-{m:gmmfa-std}-standard"]
      "by-{m}-{pca}": "eval-{m}-{pca:none|standard}"
`,
    { file: "c.yaml", registry },
  );
  const inputs = p.stages.get("all")!.inputs;
  assert.deepEqual(
    inputs.slice(0, 3),
    [
      { alias: "plain:eval-cca-none", stage: "eval-cca-none", captures: { m: "cca" } },
      { alias: "plain:eval-pls-k9-none", stage: "eval-pls-k9-none", captures: { m: "pls-k9" } },
      {
        alias: "plain:eval-gmmfa-std-none",
        stage: "eval-gmmfa-std-none",
        captures: { m: "gmmfa-std" },
      },
    ].map((i) => ({ ...i, output: undefined })),
  );
  // a list of patterns: each in turn; listed values in the order written
  assert.deepEqual(inputs.slice(3, 6).map((i) => [i.alias, i.stage]), [
    ["pls-k9", "eval-pls-k9-none"],
    ["cca", "eval-cca-none"],
    ["gmmfa-std", "eval-gmmfa-std-standard"],
  ]);
  assert.deepEqual(inputs.slice(6).map((i) => i.alias), [
    "by-cca-none",
    "by-pls-k9-none",
    "by-gmmfa-std-none",
    "by-cca-standard",
    "by-pls-k9-standard",
    "by-gmmfa-std-standard",
  ]);
  assert.equal(p.graph.get("all")!.length, 6, "deduplicated upstream stages");
});

Deno.test("parsePipeline: uses and with from the matrix, templates merged, !include read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/trainer.yaml`, "epochs: 7\nkind: other\n");
    const text = `templates:
  small: &small { size: 3 }
params: { n: 2 }
stages:
  "{m}-x":
    uses: "\${{ matrix.m.kind }}"
    matrix:
      m: [{ name: a, kind: source, with: { <<: *small, seed: five } }, { name: b, kind: source, with: { seed: "s\${{ params.n }}" } }]
    with: "\${{ matrix.m.with }}"
  t:
    uses: trainer
    with: !include trainer.yaml
`;
    const p = parsePipeline(text, { file: `${dir}/p.yaml`, registry });
    assert.deepEqual(p.stages.get("a-x")!.params, { seed: "five", size: 3, files: 1, wait_ms: 0 });
    assert.equal(p.stages.get("b-x")!.params.seed, "s2");
    assert.equal(p.stages.get("b-x")!.kind, "source");
    assert.deepEqual(p.stages.get("t")!.params, { epochs: 7, block_at: -1, kind: "other" });
    // an included file's problems are located at the tag, naming the file's line and column
    await Deno.writeTextFile(`${dir}/trainer.yaml`, "epochs: [1\n");
    assert.throws(
      () => parsePipeline(text, { file: `${dir}/p.yaml`, registry }),
      (e: unknown) =>
        e instanceof PipelineError && e.diagnostics.length === 1 &&
        e.diagnostics[0].line === 12 && e.diagnostics[0].col === 11 &&
        e.diagnostics[0].message.includes(`!include trainer.yaml: ${dir}/trainer.yaml:`),
    );
    // a kind chosen by the matrix is type-checked per stage
    await Deno.writeTextFile(`${dir}/trainer.yaml`, "epochs: 7\n");
    const bad = text.replace("kind: source, with: { <<", "kind: sourse, with: { <<");
    assert.throws(
      () => parsePipeline(bad, { file: `${dir}/p.yaml`, registry }),
      /p\.yaml:6:11: error: unknown stage kind 'sourse' in stage '\{m\}-x'; did you mean 'source'\?/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
