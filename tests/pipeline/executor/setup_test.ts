import assert from "node:assert/strict";
import { engineArgs } from "../../../pipeline/executor/setup.ts";
import { openRemote } from "../../../pipeline/remote/mod.ts";
import { UsageError } from "../../../pipeline/usage.ts";

Deno.test("engineArgs: a job gets absolute --pipeline/--artifacts and every run option by its flag", () => {
  const runOptions = [
    { flag: "mirror", value: "<dir>", help: "", keyed: false },
    { flag: "backend", value: "<name>", help: "", keyed: true },
    { flag: "lock", value: "<file>", help: "", keyed: false },
    { flag: "update-lock", help: "", keyed: false },
  ];
  const args = engineArgs({
    pipeline: "pipeline.yaml",
    artifacts: "/shared/store",
    set: ["seed=3", "lr=0.1"],
    options: { mirror: "/data", backend: "wasm", update_lock: "1" },
    verify: true,
  }, runOptions);
  assert.deepEqual(args, [
    "--pipeline",
    `${Deno.cwd()}/pipeline.yaml`,
    "--artifacts",
    "/shared/store",
    "--set",
    "seed=3",
    "--set",
    "lr=0.1",
    "--mirror",
    "/data",
    "--backend",
    "wasm",
    "--update-lock",
    "--verify",
  ]);
});

Deno.test("openRemote: only s3:// URLs, a valid bucket, and credentials", async () => {
  const env = (n: string) => ({ AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" })[n];
  await assert.rejects(openRemote("gs://b/p", env), UsageError);
  await assert.rejects(openRemote("s3://B_/p", env), /expected s3:\/\/bucket\/prefix/);
  await assert.rejects(openRemote("s3://bucket/p", () => undefined), /set AWS_ACCESS_KEY_ID/);
  assert.equal((await openRemote("s3://bucket/team/x/", env)).url, "s3://bucket/team/x");
});
