/**
 * The S3 remote against a local moto server (skipped, saying why, without python3 + moto), and
 * against tiny fake servers for the answers moto does not give (no conditional writes, 409).
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../../pipeline/cli.ts";
import { S3Remote } from "../../../pipeline/remote/s3.ts";
import { Store } from "../../../pipeline/store.ts";
import { sha256Hex } from "../../../pipeline/hash.ts";
import { registry } from "../fixtures/toy_kinds.ts";
import { verifyAll, workspace } from "../fixtures/harness.ts";
import { motoMissing, startMoto } from "../../helpers/moto.ts";

const missing = await motoMissing();
if (missing) console.warn(`s3_test: moto tests skipped: ${missing}`);

const PIPE = `stages:
  s1:
    uses: source
    with: { seed: a, size: 5000, files: 3 }
  s2:
    uses: source
    with: { seed: b }
  join:
    uses: combine
    inputs: { a: s1, b: s2/data.bin }
`;

// deno-lint-ignore no-explicit-any
type Json = any;

async function cli(
  ws: { pipeline: string; artifacts: string },
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; summary: Json; err: string }> {
  const out: string[] = [], err: string[] = [];
  const code = await main([...args, "--pipeline", ws.pipeline, "--artifacts", ws.artifacts], {
    registry,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    env: (n) => env[n],
    tty: false,
  });
  let summary;
  try {
    summary = JSON.parse(out.join("\n"));
  } catch {
    throw new Error(`no JSON (exit ${code}):\n${out.join("\n")}\n${err.join("\n")}`);
  }
  return { code, summary, err: err.join("\n") };
}

function byName(summary: Json, field: string): Record<string, string> {
  return Object.fromEntries(summary.stages.map((s: Json) => [s.name, s[field]]));
}

Deno.test({
  name:
    "s3 (moto): a second machine (its own store, the same remote) reproduces entirely from the remote",
  ignore: !!missing,
  async fn() {
    await using moto = await startMoto();
    await moto.bucket("cache");
    await using a = await workspace(PIPE);
    await using b = await workspace(PIPE);
    const remote = ["--remote", "s3://cache/team/dse"];
    const ra = await cli(a, ["reproduce", "--json", ...remote], moto.env);
    assert.equal(ra.code, 0, ra.err);
    assert.deepEqual(byName(ra.summary, "state"), { s1: "done", s2: "done", join: "done" });
    assert.match(ra.err, /pushed +s1 +[0-9a-f]{12} to s3:\/\/cache\/team\/dse/);
    const rb = await cli(b, ["reproduce", "--json", ...remote], moto.env);
    assert.equal(rb.code, 0, rb.err);
    // nothing ran on the second machine: all three pulled
    assert.deepEqual(byName(rb.summary, "state"), { s1: "cached", s2: "cached", join: "cached" });
    assert.equal(
      rb.err.match(/^pulled +(s1|s2|join) +[0-9a-f]{12} from s3:\/\/cache\/team\/dse$/gm)?.length,
      3,
    );
    assert.doesNotMatch(rb.err, /^running/m);
    assert.deepEqual(byName(rb.summary, "key"), byName(ra.summary, "key"));
    assert.deepEqual(await verifyAll(b.artifacts), await verifyAll(a.artifacts));
    for (const key of await verifyAll(a.artifacts)) {
      const ma = JSON.parse(await Deno.readTextFile(`${a.artifacts}/objects/${key}/manifest.json`));
      const mb = JSON.parse(await Deno.readTextFile(`${b.artifacts}/objects/${key}/manifest.json`));
      assert.deepEqual(mb, ma); // the manifest as committed by the first machine
      for (const f of ma.files) {
        assert.deepEqual(
          await Deno.readFile(`${b.artifacts}/objects/${key}/${f.path}`),
          await Deno.readFile(`${a.artifacts}/objects/${key}/${f.path}`),
        );
      }
    }
  },
});

Deno.test({
  name: "s3 (moto): 16 concurrent commits of one key leave exactly one manifest",
  ignore: !!missing,
  async fn() {
    await using moto = await startMoto();
    await moto.bucket("race");
    await using ws = await workspace(PIPE);
    const r = await cli(ws, ["stage", "s1", "--json"], moto.env);
    assert.equal(r.code, 0);
    const store = await Store.open(ws.artifacts);
    const key = r.summary.stages[0].key;
    const m = (await store.readManifest(key))!;
    const remotes = Array.from(
      { length: 16 },
      () => S3Remote.fromUrl("s3://race/p", (n) => moto.env[n]),
    );
    // sixteen writers, each with its own manifest (a different host), all at once
    const results = await Promise.all(
      remotes.map((rem, i) => rem.push(store, { ...m, host: `writer-${i}` })),
    );
    assert.equal(results.filter((x) => x === "pushed").length, 1, results.join(" "));
    assert.equal(results.filter((x) => x === "theirs").length, 15);
    const winner = results.indexOf("pushed");
    const got = await moto.client.fetch(`${moto.endpoint}/race/p/manifests/${key}.json`);
    assert.equal((await got.json()).host, `writer-${winner}`);
    assert.equal(await remotes[0].probe(), undefined); // moto honours If-None-Match
  },
});

Deno.test({
  name: "s3 (moto): a corrupted remote blob is detected on pull, never used, rebuilt and re-pushed",
  ignore: !!missing,
  async fn() {
    await using moto = await startMoto();
    await moto.bucket("cache");
    await using a = await workspace(PIPE);
    await using b = await workspace(PIPE);
    const remote = ["--remote", "s3://cache/x"];
    const ra = await cli(a, ["reproduce", "--json", ...remote], moto.env);
    assert.equal(ra.code, 0, ra.err);
    const s2 = ra.summary.stages.find((s: Json) => s.name === "s2");
    const m = JSON.parse(await Deno.readTextFile(`${a.artifacts}/objects/${s2.key}/manifest.json`));
    const blob = m.files.find((f: Json) => f.path === "data.bin");
    const url = `${moto.endpoint}/cache/x/blobs/${blob.sha256}`;
    const good = await Deno.readFile(`${a.artifacts}/objects/${s2.key}/data.bin`);
    const bad = good.slice();
    bad[0] ^= 1; // one bit, same size
    const put = await moto.client.fetch(url, { method: "PUT", body: bad });
    assert.ok(put.ok);
    const rb = await cli(b, ["reproduce", "--json", ...remote], moto.env);
    assert.equal(rb.code, 0, rb.err);
    // s2 rebuilt; s1 and join pulled
    assert.deepEqual(rb.err.match(/^(running|pulled) +\S+/gm)?.sort(), [
      "pulled   join",
      "pulled   s1",
      "running  s2",
    ]);
    assert.match(
      rb.err,
      /warning +s2 +s3:\/\/cache\/x: blob of data.bin has sha256 .* not used; rebuilding/,
    );
    assert.deepEqual(byName(rb.summary, "state"), { s1: "cached", s2: "done", join: "cached" });
    assert.deepEqual(await Deno.readFile(`${b.artifacts}/objects/${s2.key}/data.bin`), good);
    assert.equal((await verifyAll(b.artifacts)).length, 3);
    // the push after the rebuild put the right bytes back under the blob's name
    const now = new Uint8Array(await (await moto.client.fetch(url)).arrayBuffer());
    assert.equal(sha256Hex(now), blob.sha256);
  },
});

/** A fake S3 answering every PUT with the next status of `puts` (then 200); GET/HEAD 404. */
function fakeS3(puts: number[]): { url: string; seen: string[]; close(): Promise<void> } {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    seen.push(
      `${req.method} ${new URL(req.url).pathname} ${req.headers.get("if-none-match") ?? ""}`,
    );
    if (req.method === "PUT") return new Response(null, { status: puts.shift() ?? 200 });
    if (req.method === "DELETE") return new Response(null, { status: 204 });
    return new Response(null, { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

function fakeRemote(endpoint: string): S3Remote {
  return new S3Remote({
    bucket: "b",
    prefix: "p",
    endpoint,
    accessKeyId: "k",
    secretAccessKey: "s",
  });
}

Deno.test("s3: a server that ignores If-None-Match is detected by the probe and reported", async () => {
  const ignoring = fakeS3([]);
  try {
    const w = await fakeRemote(ignoring.url).probe();
    assert.match(w!, /ignores conditional writes .* the last writer wins/);
    assert.match(ignoring.seen[0], /^PUT \/b\/p\/probes\/[0-9a-f-]+ \*$/);
  } finally {
    await ignoring.close();
  }
  const honouring = fakeS3([200, 412]);
  try {
    assert.equal(await fakeRemote(honouring.url).probe(), undefined);
  } finally {
    await honouring.close();
  }
});

Deno.test("s3: a manifest PUT answered 409 is retried; 412 keeps theirs", async () => {
  await using ws = await workspace(PIPE);
  const r = await cli(ws, ["stage", "s2", "--json"], {});
  const store = await Store.open(ws.artifacts);
  const m = (await store.readManifest(r.summary.stages[0].key))!;
  // two blob PUTs (data.bin, meta.json), then the manifest: 409, 409, 200
  assert.equal(m.files.length, 2);
  const conflicted = fakeS3([200, 200, 409, 409, 200]);
  try {
    assert.equal(await fakeRemote(conflicted.url).push(store, m), "pushed");
    assert.equal(conflicted.seen.filter((s) => s.includes("/manifests/")).length, 3);
  } finally {
    await conflicted.close();
  }
  const taken = fakeS3([200, 200, 412]);
  try {
    assert.equal(await fakeRemote(taken.url).push(store, m), "theirs");
  } finally {
    await taken.close();
  }
  const usage = await cli(ws, ["reproduce", "--json", "--remote", "s3://bkt/p"], {}).catch((e) =>
    String(e)
  );
  assert.match(String(usage), /set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
});
