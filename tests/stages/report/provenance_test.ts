import assert from "node:assert/strict";
import { collectProvenance, gitState, lockedVersions } from "../../../stages/report/provenance.ts";

async function git(cwd: string, ...args: string[]): Promise<void> {
  const r = await new Deno.Command("git", { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

Deno.test("gitState: commit, clean and dirty, and outside a checkout", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal((await gitState(dir)).commit, undefined);
  await git(dir, "init", "-q");
  await Deno.writeTextFile(`${dir}/f.txt`, "a");
  await git(dir, "add", "f.txt");
  await git(dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x");
  const clean = await gitState(dir);
  assert.match(clean.commit!, /^[0-9a-f]{40}$/);
  assert.equal(clean.dirty, false);
  await Deno.writeTextFile(`${dir}/f.txt`, "b");
  assert.equal((await gitState(dir)).dirty, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("lockedVersions reads resolved npm versions from deno.lock", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/deno.lock`,
    JSON.stringify({
      version: "5",
      specifiers: {
        "npm:vega@^6.2.0": "6.4.0",
        "npm:@tensorflow/tfjs-backend-cpu@^4.22.0": "4.22.0_@tensorflow+tfjs-core@4.22.0",
        "npm:left-pad@1": "1.0.0",
      },
    }),
  );
  assert.deepEqual(await lockedVersions(`${dir}/deno.lock`), {
    vega: "6.4.0",
    "@tensorflow/tfjs-backend-cpu": "4.22.0",
  });
  assert.deepEqual(await lockedVersions(`${dir}/missing.lock`), {});
  const p = await collectProvenance([
    {
      alias: "a",
      dir,
      key: "k",
      holds: [],
      hasManifest: true,
      rowStages: [],
      backend: "wasm",
      seeds: 3,
      stage: "train",
      versions: { "tfjs-core": "4.22.0" },
    },
    { alias: "b", dir, key: "k2", holds: [], hasManifest: false, backend: "wasm", rowStages: [] },
  ], dir);
  assert.deepEqual(p.backends, ["wasm"]);
  assert.deepEqual(p.seeds, { train: 3 });
  assert.equal(p.versions.deno, Deno.version.deno);
  assert.equal(p.versions.vega, "6.4.0");
  assert.equal(p.versions["tfjs-core"], "4.22.0");
  await Deno.remove(dir, { recursive: true });
});
