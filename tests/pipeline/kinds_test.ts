import assert from "node:assert/strict";
import { describeKind, kindOutputs, kindsMarkdown, listKinds } from "../../pipeline/kinds.ts";
import { main } from "../../pipeline/cli.ts";
import { reader, registry, strict } from "./fixtures/toy_kinds.ts";

Deno.test("kinds: one kind's purpose, inputs, outputs and params come from its schema", () => {
  const text = describeKind(reader);
  assert.match(text, /^reader: reads user files\n\ninputs\n {2}up {2}anything \(optional\)\n/);
  assert.match(text, /\noutputs\n {2}out.txt\n/);
  assert.match(
    text,
    /\n {2}path {4}string; required; a file: its content is in the cache key\n {10}a file to read\n/,
  );
  assert.match(text, /\n {2}more {4}object; default \{"files":\[\]\}\n/);
  assert.match(text, /files outside the store: read from paths in its params; in the cache key/);
  // outputs that depend on params are shown at the defaults, or none when a param is required
  assert.deepEqual(kindOutputs(strict), { names: [], dynamic: true });
  assert.match(describeKind(strict), /inputs\n {2}\(none\)\n/);
  assert.match(describeKind(registry.get("combine")!), /inputs\n {2}\(any alias\) {2}every input/);
  assert.match(
    describeKind(registry.get("trainer")!),
    /kind {6}string; default "toy"; one of "toy", "other"/,
  );
  const list = listKinds(registry);
  assert.match(list, /^source {5}writes deterministic bytes$/m);
  assert.equal(list.split("\n").length, registry.size);
});

Deno.test("kinds: the Markdown page has a section per kind", () => {
  const page = kindsMarkdown(registry);
  for (const name of registry.keys()) assert.match(page, new RegExp(`\\n## ${name}\\n`));
  assert.match(
    page,
    /- `path` \(string, \*\*required\*\*, a file: its content is in the cache key\): a file to read/,
  );
  assert.match(page, /- `seed` \(string, default `"s"`\)/);
  assert.match(page, /## combine\n\ncombines inputs\n\n\*\*Inputs:\*\*\n\n- any alias: /);
});

Deno.test("kinds: the CLI lists, describes, writes the page; an unknown kind is exit 2", async () => {
  const run = async (...args: string[]) => {
    const out: string[] = [], err: string[] = [];
    const code = await main(args, {
      registry,
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  assert.equal((await run("kinds")).out, listKinds(registry));
  assert.equal((await run("kinds", "reader")).out, describeKind(reader));
  assert.equal((await run("kinds", "--markdown")).out + "\n", kindsMarkdown(registry));
  const bad = await run("kinds", "raeder");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /no stage kind 'raeder'; known kinds: source, combine/);
});
