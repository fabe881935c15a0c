import assert from "node:assert/strict";
import {
  checkEntries,
  detectFormat,
  extractArchive,
  extractKind,
  listArchive,
  UnsafeArchiveError,
} from "../../../stages/data/archive.ts";
import { type FixtureEntry, gzipBytes, tarBytes, zipBytes } from "../../helpers/fixtures_raw.ts";
import { runKind } from "../../helpers/stage_context.ts";

function assertRejectsWith(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  return assert.rejects(f, (e: unknown) => {
    if (!(e instanceof Error)) return false;
    assert.match(e.message, re);
    return true;
  });
}

const good: FixtureEntry[] = [
  { name: "root/" },
  { name: "root/a.txt", data: "hello" },
  { name: "root/sub/b.bin", data: new Uint8Array(1500).map((_, i) => i % 251) },
  { name: "root/" + "long/".repeat(30) + "c.txt", data: "deep" },
  { name: "root/link", type: "symlink", linkname: "sub/b.bin" },
  { name: "root/up", type: "symlink", linkname: "../root/a.txt" },
];

async function writeTmp(bytes: Uint8Array, ext: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "arch-" });
  const p = `${dir}/x${ext}`;
  await Deno.writeFile(p, bytes);
  return p;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const d of Deno.readDir(dir)) {
      n += d.isDirectory ? 1 + await countFiles(`${dir}/${d.name}`) : 1;
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
  return n;
}

async function checkGood(dest: string): Promise<void> {
  assert.deepStrictEqual(await Deno.readTextFile(`${dest}/root/a.txt`), "hello");
  const b = await Deno.readFile(`${dest}/root/sub/b.bin`);
  assert.deepStrictEqual(b.length, 1500);
  assert.deepStrictEqual(b[1000], 1000 % 251);
  assert.deepStrictEqual(
    await Deno.readTextFile(`${dest}/root/${"long/".repeat(30)}c.txt`),
    "deep",
  );
  assert.deepStrictEqual(await Deno.readLink(`${dest}/root/link`), "sub/b.bin");
  assert.deepStrictEqual((await Deno.readFile(`${dest}/root/link`)).length, 1500);
  assert.deepStrictEqual(await Deno.readTextFile(`${dest}/root/up`), "hello");
}

for (
  const [fmt, make] of [
    ["tar", (e: FixtureEntry[]) => Promise.resolve(tarBytes(e))],
    ["tar.gz", (e: FixtureEntry[]) => gzipBytes(tarBytes(e))],
    ["zip", (e: FixtureEntry[]) => zipBytes(e)],
  ] as const
) {
  Deno.test(`archive ${fmt}: lists and extracts files, long names and inner links`, async () => {
    const p = await writeTmp(await make(good), "." + fmt);
    assert.deepStrictEqual(await detectFormat(p), fmt);
    const entries = await listArchive(p);
    assert.deepStrictEqual(entries.map((e) => e.name).sort(), good.map((e) => e.name).sort());
    const dest = await Deno.makeTempDir();
    const res = await extractArchive(p, `${dest}/out`);
    assert.deepStrictEqual(res.files, 3);
    assert.deepStrictEqual(res.symlinks, 2);
    assert.deepStrictEqual(res.bytes, 5 + 1500 + 4);
    await checkGood(`${dest}/out`);
  });

  for (
    const [what, bad, re] of [
      ["dot-dot", { name: "root/../../evil.txt", data: "x" }, /holds '\.\.'/],
      ["absolute path", { name: "/tmp/evil.txt", data: "x" }, /is absolute/],
      ["escaping link", {
        name: "root/esc",
        type: "symlink",
        linkname: "../../etc/passwd",
      }, /points outside/],
      ["absolute link", {
        name: "root/esc",
        type: "symlink",
        linkname: "/etc/passwd",
      }, /absolute/],
    ] as [string, FixtureEntry, RegExp][]
  ) {
    Deno.test(`archive ${fmt}: refuses ${what} and extracts nothing`, async () => {
      // The bad entry comes last, so a one-pass extractor would already have written the rest.
      const p = await writeTmp(await make([...good, bad]), "." + fmt);
      const dest = await Deno.makeTempDir();
      await assertRejectsWith(() => extractArchive(p, `${dest}/out`), re);
      await assert.rejects(() => extractArchive(p, `${dest}/out`), UnsafeArchiveError);
      assert.deepStrictEqual(await countFiles(`${dest}/out`), 0);
      assert.deepStrictEqual(await countFiles(dest), 0);
    });
  }
}

Deno.test("archive: refuses writing through a link, even one pointing inside", async () => {
  const p = await writeTmp(
    tarBytes([
      { name: "d/" },
      { name: "d/l", type: "symlink", linkname: "." },
      { name: "d/l/x.txt", data: "x" },
    ]),
    ".tar",
  );
  const dest = await Deno.makeTempDir();
  await assertRejectsWith(() => extractArchive(p, `${dest}/o`), /goes through the link d\/l/);
  assert.deepStrictEqual(await countFiles(dest), 0);
});

Deno.test("archive: checkEntries catches link chains and overwrites", () => {
  const probs = checkEntries([
    { name: "a/b/", type: "dir", size: 0 },
    { name: "a/b/up", type: "symlink", size: 0, linkname: "../.." },
    { name: "c", type: "symlink", size: 0, linkname: "a/b/up/.." },
    { name: "a/b/up", type: "file", size: 1 },
  ]);
  assert.deepStrictEqual(probs.length, 2, probs.join("\n"));
  assert.match(probs.join("\n"), /through another link/);
  assert.match(probs.join("\n"), /overwrite a link/);
  assert.deepStrictEqual(
    checkEntries([{ name: "x", type: "hardlink", size: 0, linkname: "nope" }]).length,
    1,
  );
  assert.throws(() => {
    throw new UnsafeArchiveError("a.tar", ["p"]);
  }, /nothing was extracted/);
});

Deno.test("archive: strip drops leading components; corrupt archive is reported", async () => {
  const p = await writeTmp(tarBytes(good), ".tar");
  const dest = await Deno.makeTempDir();
  // With one component stripped, root/up -> ../root/a.txt escapes the target.
  await assertRejectsWith(() => extractArchive(p, `${dest}/o`, { strip: 1 }), /root\/up/);
  const p2 = await writeTmp(tarBytes(good.filter((e) => e.name !== "root/up")), ".tar");
  await extractArchive(p2, `${dest}/o`, { strip: 1 });
  assert.deepStrictEqual(await Deno.readTextFile(`${dest}/o/a.txt`), "hello");
  const bytes = tarBytes(good);
  bytes[600] ^= 0xff; // inside the second header
  const q = await writeTmp(bytes, ".tar");
  await assertRejectsWith(() => extractArchive(q, `${dest}/o2`), /checksum/);
  const z = await zipBytes(good);
  const zq = await writeTmp(z.subarray(0, z.length - 30), ".zip");
  await assertRejectsWith(() => listArchive(zq), /end-of-central-directory/);
});

Deno.test("extract kind: unpacks every archive of a directory into data/", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/one.tar`, tarBytes([{ name: "VOC/A/1.txt", data: "1" }]));
  await Deno.writeFile(`${dir}/two.zip`, await zipBytes([{ name: "VOC/B/2.txt", data: "2" }]));
  await Deno.writeTextFile(`${dir}/readme.txt`, "not an archive");
  const run = await runKind(extractKind, { inputs: { archive: dir } });
  assert.deepStrictEqual(await Deno.readTextFile(`${run.dir}/data/VOC/A/1.txt`), "1");
  assert.deepStrictEqual(await Deno.readTextFile(`${run.dir}/data/VOC/B/2.txt`), "2");
  assert.deepStrictEqual(run.provenance.archives, ["one.tar", "two.zip"]);
  await assertRejectsWith(
    () => runKind(extractKind, { inputs: { archive: dir }, params: { files: ["three.tar"] } }),
    /three\.tar is not in/,
  );
});
