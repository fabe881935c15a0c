import assert from "node:assert/strict";
import { main, usage } from "../../../pipeline/cli/mod.ts";
import type { RunOption } from "../../../pipeline/types.ts";
import { workspace } from "../fixtures/harness.ts";
import { registry } from "../fixtures/toy_kinds.ts";

const BACKEND: RunOption = {
  flag: "backend",
  value: "<name>",
  help: "compute backend",
  keyed: true,
  record: true,
};

Deno.test("--help lists the engine's commands, the domain's options and each flag's commands", () => {
  const text = usage({
    runOptions: [{ ...BACKEND, env: "MY_BACKEND", choices: ["cpu", "wasm"] }],
    commands: { metrics: { description: "rows", run: () => Promise.resolve(0) } },
  });
  for (const c of ["reproduce [target]", "stage <name>", "status [target]", "dag [target]", "gc"]) {
    assert.match(text, new RegExp(`^ {2}${c.replace(/[[\]]/g, "\\$&")} +\\S`, "m"), c);
  }
  assert.match(text, /^ {2}unlock \[stage\.\.\.\] +remove lock files/m);
  assert.match(text, /^ {2}kinds \[name\] +the stage kinds/m);
  assert.match(
    text,
    /^ {2}--backend <name> +compute backend \(default: \$MY_BACKEND; one of cpu, wasm; may enter cache keys\)$/m,
  );
  assert.match(text, /^ {2}--json +machine-readable output \(reproduce, stage, status\)$/m);
  assert.match(
    text,
    /^ {2}--jobs <n> +.*the CPU cores, at most one per GiB.* \(reproduce, stage\)$/m,
  );
  assert.match(text, /^ {2}--force +re-run the named stage even if fresh \(stage\)$/m);
  assert.match(text, /^ {2}--dot +Graphviz output \(dag\)$/m);
  assert.match(text, /^ {2}--pipeline <file> +pipeline file/m);
  assert.match(text, /domain commands:\n {2}metrics +rows$/);
  assert.doesNotMatch(usage({}), /--backend|--mirror/, "the engine declares no domain option");
});

Deno.test("a flag the command does not take: which commands take it, or the nearest one", async () => {
  await using ws = await workspace(`stages:\n  s:\n    uses: source\n`);
  let r = await ws.cli("dag", "--json");
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    "error: --json works with reproduce, stage, status, not dag (--help for usage)",
  );
  r = await ws.cli("reproduce", "--force");
  assert.equal(r.err, "error: --force works with stage, not reproduce (--help for usage)");
  r = await ws.cli("dag", "--dott");
  assert.equal(
    r.err,
    "error: unknown option --dott for dag; did you mean '--dot'? (--help for usage)",
  );
  r = await ws.cli("status", "--explain", "--json");
  assert.equal(r.code, 2, "a value that looks like a flag is the flag's value, not a flag");
  assert.match(r.err, /^error: Option '--explain' argument is ambiguous/);
  r = await ws.cli("dag", "--mirror", "/m", "--backend", "cpu");
  assert.equal(r.code, 0, "the domain's run options are taken by every command");
});

Deno.test("only keyed run options reach environment() and the keys; recorded ones reach the manifest", async () => {
  await using ws = await workspace(`stages:\n  e:\n    uses: envy\n`);
  const run = async (backend: RunOption, ...args: string[]) => {
    const out: string[] = [];
    const code = await main(
      ["reproduce", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts, "--json", ...args],
      { registry, runOptions: [backend], jobs: 1, stdout: (s) => out.push(s), tty: false },
    );
    assert.equal(code, 0);
    return JSON.parse(out.join("\n")).stages[0];
  };
  const unkeyed = { ...BACKEND, keyed: false, record: false };
  const a = await run(unkeyed);
  assert.equal(a.state, "done");
  const b = await run(unkeyed, "--backend", "wasm");
  assert.equal(b.state, "cached", "an option that is not keyed never changes a key");
  const env = JSON.parse(await Deno.readTextFile(`${b.objectDir}/env.json`));
  assert.deepEqual(env.env, { backend: "cpu" }, "environment() did not see it");
  const c = await run(BACKEND, "--backend", "wasm");
  assert.equal(c.state, "done", "a keyed option reaches environment(), hence the key");
  const m = JSON.parse(await Deno.readTextFile(`${c.objectDir}/manifest.json`));
  assert.deepEqual([m.env, m.options], [{ backend: "wasm" }, { backend: "wasm" }]);
  const mA = JSON.parse(await Deno.readTextFile(`${a.objectDir}/manifest.json`));
  assert.equal(mA.options, undefined, "nothing recorded when no recorded option is set");
});
