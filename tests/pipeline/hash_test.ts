import assert from "node:assert/strict";
import {
  canonicalJson,
  digestOfFiles,
  hashFile,
  hashTree,
  sha256File,
  sha256Hex,
  StatCache,
} from "../../pipeline/hash.ts";

async function subtleHex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("sha256: known vectors, and files larger than one chunk", async () => {
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/empty`, new Uint8Array());
  assert.deepEqual(await sha256File(`${dir}/empty`), {
    sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    size: 0,
  });
  const big = new Uint8Array((4 << 20) * 2 + 12345);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 255;
  await Deno.writeFile(`${dir}/big`, big);
  assert.deepEqual(await sha256File(`${dir}/big`), {
    sha256: await subtleHex(big),
    size: big.length,
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("StatCache: hit while size+mtime+inode match, miss after a change, persists", async () => {
  const dir = await Deno.makeTempDir();
  const f = `${dir}/f.txt`;
  await Deno.writeTextFile(f, "hello");
  const cache = await StatCache.load(`${dir}/cache.json`);
  const a = await hashFile(f, { cache });
  assert.equal(a.cached, false);
  assert.equal(a.sha256, sha256Hex("hello"));
  assert.equal((await hashFile(f, { cache })).cached, true);
  assert.equal((await hashFile(f, { cache, verify: true })).cached, false);
  await cache.save();
  const again = await StatCache.load(`${dir}/cache.json`);
  assert.equal((await hashFile(f, { cache: again })).cached, true);
  const old = await Deno.stat(f);
  await Deno.writeTextFile(f, "jello");
  await Deno.utime(f, old.atime!, new Date(old.mtime!.getTime() + 5));
  const b = await hashFile(f, { cache: again });
  assert.equal(b.cached, false);
  assert.equal(b.sha256, sha256Hex("jello"));
  // a corrupt cache file is ignored
  await Deno.writeTextFile(`${dir}/cache.json`, "{not json");
  assert.equal(
    (await hashFile(f, { cache: await StatCache.load(`${dir}/cache.json`) })).cached,
    false,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("canonicalJson sorts keys at every level; digestOfFiles ignores order", async () => {
  assert.equal(
    canonicalJson({ b: 1, a: [{ d: null, c: "x" }], u: undefined }),
    '{"a":[{"c":"x","d":null}],"b":1}',
  );
  assert.throws(() => canonicalJson({ x: NaN }), /non-finite/);
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/sub`);
  await Deno.writeTextFile(`${dir}/z.txt`, "z");
  await Deno.writeTextFile(`${dir}/sub/a.txt`, "a");
  await Deno.writeTextFile(`${dir}/manifest.json`, "{}");
  const files = await hashTree(dir, { exclude: new Set(["manifest.json"]) });
  assert.deepEqual(files.map((f) => f.path), ["sub/a.txt", "z.txt"]);
  assert.equal(digestOfFiles(files), digestOfFiles([...files].reverse()));
  assert.notEqual(digestOfFiles(files), digestOfFiles(files.slice(1)));
  await Deno.remove(dir, { recursive: true });
});
