import assert from "node:assert/strict";
import { hostname } from "node:os";
import { type Manifest, Store, toolVersions } from "../../pipeline/store.ts";
import { ENGINE_FORMAT } from "../../pipeline/key.ts";
import { sha256Hex } from "../../pipeline/hash.ts";

function base(key: string, outputs: string[]): Omit<Manifest, "files" | "digest"> {
  return {
    format: ENGINE_FORMAT,
    key,
    stage: "s",
    kind: "k",
    params: {},
    inputs: {},
    env: {},
    provenance: {},
    tools: toolVersions(),
    host: hostname(),
    started: "",
    finished: "",
    duration_ms: 0,
    outputs,
    ingredients: { format: 1, kind: "k", code: {}, deps: {}, params: {}, inputs: {}, env: {} },
  };
}

Deno.test("commit: only with every declared output, by rename; verify finds damage", async () => {
  const dir = await Deno.makeTempDir();
  const store = await Store.open(`${dir}/artifacts`);
  const key = "a".repeat(64);
  const tmp = await store.makeTmp(key);
  await Deno.writeTextFile(`${tmp}/x.txt`, "x");
  await assert.rejects(
    store.commit(tmp, base(key, ["x.txt", "y/z.txt"])),
    /did not write its declared output 'y\/z\.txt'/,
  );
  assert.deepEqual(await store.listObjects(), []);
  await Deno.mkdir(`${tmp}/y`);
  await Deno.writeTextFile(`${tmp}/y/z.txt`, "zz");
  const m = await store.commit(tmp, base(key, ["x.txt", "y/z.txt"]));
  assert.deepEqual(m.files.map((f) => [f.path, f.size]), [["x.txt", 1], ["y/z.txt", 2]]);
  await assert.rejects(Deno.stat(tmp), Deno.errors.NotFound);
  assert.equal((await store.verify(key)).status, "ok");
  assert.deepEqual(await store.verify("b".repeat(64)), { status: "missing" });
  await Deno.writeTextFile(`${store.objectDir(key)}/y/z.txt`, "zZ");
  assert.deepEqual(await store.verify(key), {
    status: "corrupt",
    problem: `y/z.txt sha256 ${sha256Hex("zZ").slice(0, 12)}… ≠ manifest ${
      m.files[1].sha256.slice(0, 12)
    }…`,
  });
  await Deno.remove(`${store.objectDir(key)}/manifest.json`);
  assert.deepEqual(await store.verify(key), {
    status: "corrupt",
    problem: "manifest.json is missing",
  });
  await store.removeObject(key);
  assert.deepEqual(await store.listObjects(), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("locks: exclusive, released, dead owners reclaimed, foreign hosts respected", async () => {
  const dir = await Deno.makeTempDir();
  const a = await Store.open(`${dir}/artifacts`);
  const b = await Store.open(`${dir}/artifacts`);
  const key = "c".repeat(64);
  const l1 = await a.tryLock(key, "s");
  assert.ok("release" in l1);
  const l2 = await b.tryLock(key, "s");
  assert.ok(!("release" in l2));
  assert.equal(l2.pid, Deno.pid);
  assert.equal((await b.isLocked(key))?.pid, Deno.pid);
  await l1.release();
  assert.equal(await b.isLocked(key), undefined);
  const l3 = await b.tryLock(key, "s");
  assert.ok("release" in l3);
  await l3.release();
  // an exited process's lock is reclaimed
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
  await child.status;
  const lockFile = `${dir}/artifacts/locks/${key}.lock`;
  await Deno.writeTextFile(
    lockFile,
    JSON.stringify({ pid: child.pid, host: hostname(), stage: "s", since: "" }),
  );
  const l4 = await a.tryLock(key, "s");
  assert.ok("release" in l4);
  await l4.release();
  // a zombie (exited, never reaped by its parent) is dead: `sleep 0` below is never waited for
  const parent = new Deno.Command("sh", {
    args: ["-c", "sleep 0 & echo $!; exec sleep 30"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const zombie = Number((await reader.read()).value!.trim());
    reader.releaseLock();
    // `cat`, not Deno.readTextFile: Deno lets only -A read /proc/<pid>/*, and `deno task test`
    // runs without it.
    const state = () => {
      const r = new Deno.Command("cat", { args: [`/proc/${zombie}/stat`], stdout: "piped" })
        .outputSync();
      const st = new TextDecoder().decode(r.stdout);
      return st.slice(st.lastIndexOf(")") + 2)[0];
    };
    for (let i = 0; i < 200 && state() !== "Z"; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(state(), "Z");
    await Deno.writeTextFile(
      lockFile,
      JSON.stringify({ pid: zombie, host: hostname(), stage: "s", since: "" }),
    );
    const lz = await a.tryLock(key, "s");
    assert.ok("release" in lz, "a zombie's lock is reclaimed");
    await lz.release();
  } finally {
    parent.kill("SIGKILL");
    await parent.status;
    await parent.stdout.cancel().catch(() => {});
  }
  // another host's lock cannot be checked: it is respected
  await Deno.writeTextFile(
    lockFile,
    JSON.stringify({ pid: 1, host: "elsewhere", stage: "s", since: "" }),
  );
  const l5 = await a.tryLock(key, "s");
  assert.ok(!("release" in l5));
  assert.equal(l5.host, "elsewhere");
  const removed = await a.unlock();
  assert.deepEqual(removed.map((r) => [r.key, r.owner?.host]), [[key, "elsewhere"]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("commit: a second commit of the same key keeps the verified object and drops its tmp", async () => {
  const dir = await Deno.makeTempDir();
  const store = await Store.open(`${dir}/artifacts`);
  const key = sha256Hex("same-key");
  const first = await store.makeTmp(key);
  await Deno.writeTextFile(`${first}/x.txt`, "one");
  const m1 = await store.commit(first, base(key, ["x.txt"]));
  const second = await store.makeTmp(key);
  await Deno.writeTextFile(`${second}/x.txt`, "one");
  const m2 = await store.commit(second, base(key, ["x.txt"]));
  assert.equal(m2.digest, m1.digest);
  await assert.rejects(Deno.stat(second), Deno.errors.NotFound);
  assert.equal((await store.verify(key, { verify: true })).status, "ok");
  // a damaged existing object is not silently accepted
  await Deno.writeTextFile(`${store.objectDir(key)}/x.txt`, "two");
  const third = await store.makeTmp(key);
  await Deno.writeTextFile(`${third}/x.txt`, "one");
  await assert.rejects(store.commit(third, base(key, ["x.txt"])));
  await Deno.remove(dir, { recursive: true });
});
