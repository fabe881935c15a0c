import assert from "node:assert/strict";
import { checkRunOptions, parseGlobals, runOptionsHelp } from "../../../pipeline/cli/options.ts";
import type { RunOption } from "../../../pipeline/types.ts";
import { UsageError } from "../../../pipeline/usage.ts";

const OPTIONS: RunOption[] = [
  { flag: "mirror", value: "<dir>", env: "MY_MIRROR", help: "a mirror", keyed: false },
  {
    flag: "backend",
    value: "<name>",
    choices: ["cpu", "wasm"],
    help: "a backend",
    keyed: true,
    record: true,
  },
  { flag: "update-lock", help: "re-pin", keyed: false },
];

function parse(args: string[], env: Record<string, string> = {}) {
  return parseGlobals(args, { runOptions: OPTIONS, env: (n) => env[n] });
}

Deno.test("parseGlobals: engine flags and declared run options are taken out, the rest is left", () => {
  const { globals, rest } = parse([
    "quick",
    "--pipeline",
    "p.yaml",
    "--set",
    "a=1",
    "--set=b=2",
    "--mirror",
    "/m",
    "--backend=wasm",
    "--update-lock",
    "--verify",
    "--json",
    "--",
    "--mirror",
  ]);
  assert.deepEqual(globals, {
    pipeline: "p.yaml",
    artifacts: "artifacts",
    set: ["a=1", "b=2"],
    options: { mirror: "/m", backend: "wasm", update_lock: "1" },
    verify: true,
  });
  assert.deepEqual(rest, ["quick", "--json", "--", "--mirror"]);
});

Deno.test("parseGlobals: an undeclared flag is not a run option; the env var is only a default", () => {
  assert.deepEqual(parse(["--lock", "x"]).rest, ["--lock", "x"], "--lock is not declared here");
  assert.deepEqual(parse([], { MY_MIRROR: "/env" }).globals.options, { mirror: "/env" });
  assert.deepEqual(parse(["--mirror", "/cli"], { MY_MIRROR: "/env" }).globals.options, {
    mirror: "/cli",
  });
  assert.deepEqual(parse([], { MY_MIRROR: "" }).globals.options, {}, "an empty variable is unset");
  assert.deepEqual(parse(["--mirror", "/a", "--mirror", "/b"]).globals.options, { mirror: "/b" });
});

Deno.test("parseGlobals: bad values are usage errors that say what to do", () => {
  assert.throws(
    () => parse(["--backend", "wsam"]),
    (e) =>
      e instanceof UsageError &&
      e.message === "unknown --backend 'wsam'; did you mean 'wasm'?; use one of cpu, wasm",
  );
  assert.throws(() => parse(["--mirror"]), /--mirror needs a value/);
  assert.throws(() => parse(["--update-lock=yes"]), /--update-lock takes no value/);
  // choices apply to the environment default too
  assert.throws(
    () => parseGlobals([], { runOptions: [{ ...OPTIONS[1], env: "B" }], env: () => "gpu" }),
    /unknown --backend 'gpu'/,
  );
});

Deno.test("checkRunOptions refuses a flag declared twice, an engine flag, or a bad name", () => {
  checkRunOptions(OPTIONS);
  assert.throws(() => checkRunOptions([...OPTIONS, OPTIONS[0]]), /--mirror is declared twice/);
  assert.throws(
    () => checkRunOptions([{ flag: "set", help: "", keyed: false }]),
    /--set is declared twice or is the engine's/,
  );
  assert.throws(
    () => checkRunOptions([{ flag: "a", help: "", keyed: false, key: "mirror" }, OPTIONS[0]]),
    /key 'mirror' is declared twice/,
  );
  assert.throws(() => checkRunOptions([{ flag: "Big", help: "", keyed: false }]), /lower-case/);
});

Deno.test("runOptionsHelp shows each option's value, env default, choices and whether it is keyed", () => {
  assert.deepEqual(runOptionsHelp(OPTIONS), [
    ["--mirror <dir>", "a mirror (default: $MY_MIRROR)"],
    ["--backend <name>", "a backend (one of cpu, wasm; may enter cache keys)"],
    ["--update-lock", "re-pin"],
  ]);
});
