/**
 * Each inspection task of deno.json runs under the permissions it declares (no -A, no network,
 * no native code) against the real pipeline and an empty store inside `artifacts/`.
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const TASKS: Record<string, string> = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;

/** task → [arguments, expected exit code]. */
const RUNS: Record<string, [string[], number]> = {
  status: [["status"], 0],
  dag: [["dag"], 0],
  metrics: [["metrics"], 0],
  report: [["report"], 1], // nothing built: says so, exit 1
  gc: [["gc", "--apply"], 0],
  unlock: [["unlock"], 0],
};

Deno.test("inspection tasks declare no -A, network or native code", () => {
  for (const task of Object.keys(RUNS)) {
    const line = TASKS[task];
    assert.ok(line?.startsWith("deno run "), `${task}: ${line}`);
    assert.doesNotMatch(line, / -A | --allow-all| --allow-net| --allow-ffi/, `${task}: ${line}`);
    assert.match(line, / cli\.ts /, task);
  }
});

Deno.test("each inspection task runs under its declared permissions", async () => {
  const store = `artifacts/.permissions-test-${Deno.pid}`;
  try {
    await Promise.all(
      Object.entries(RUNS).map(async ([task, [args, want]]) => {
        // "deno run <flags> cli.ts <command>": the flags as declared, the command's arguments ours
        const words = TASKS[task].split(/\s+/);
        const flags = words.slice(2, words.indexOf("cli.ts"));
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--quiet", ...flags, "cli.ts", ...args, "--artifacts", store],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const err = new TextDecoder().decode(r.stderr);
        assert.doesNotMatch(
          err,
          /NotCapable|PermissionDenied|Requires \w+ access/,
          `${task}: ${err}`,
        );
        assert.equal(r.code, want, `${task} exit code; stderr:\n${err}`);
      }),
    );
  } finally {
    await Deno.remove(`${ROOT}${store}`, { recursive: true }).catch(() => {});
  }
});
