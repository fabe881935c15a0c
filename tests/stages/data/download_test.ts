import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { download } from "../../../stages/data/download.ts";
import { safeRelativePath } from "../../../stages/util/fs.ts";
import { fetchToFile } from "../../../stages/util/http.ts";
import { runKind } from "../../helpers/stage_context.ts";
import { startServer } from "../../helpers/http_server.ts";
import { parsePipeline, PipelineError } from "../../../pipeline/spec.ts";

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
const FAST = { retries: "4", retry_delay_ms: "0", stall_timeout_s: "5" };

async function tmp(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}

Deno.test("download: resumes after cut connections, and across a killed run", async () => {
  const body = bytes(200_000, 7);
  await using server = startServer({ files: { "/data/raw.bin": body } });
  server.plan("/data/raw.bin", [{ cutAfter: 50_000 }, { cutAfter: 30_000 }]);
  const scratch = await tmp("dl-scratch-");
  const lock = `${await tmp("dl-lock-")}/downloads.lock.json`;
  const params = {
    files: [{ name: "raw.bin", urls: [`${server.url}/data/raw.bin`], sha256: sha(body) }],
    lock,
  };
  // first run: no retries, so the cut connection fails the stage, leaving a .part in scratch
  await assert.rejects(
    runKind(download, { params, scratch, options: { ...FAST, retries: "0" } }),
    /raw.bin failed.*connection/s,
  );
  // second run (same scratch): resumes, survives one more cut, completes
  const run = await runKind(download, { params, scratch, options: FAST });
  assert.deepEqual(await Deno.readFile(`${run.dir}/files/raw.bin`), body);
  assert.deepEqual(server.requests.map((r) => [r.range, r.status]), [
    [undefined, 200],
    ["bytes=50000-", 206],
    ["bytes=80000-", 206],
  ]);
  const rec = (run.provenance.downloads as Record<string, { source: string; from: string }>)[
    "raw.bin"
  ];
  assert.equal(rec.source, "url");
  assert.equal(rec.from, `${server.url}/data/raw.bin`);
  assert.ok(run.logs.some((l) => /resumed from byte 50000/.test(l)), run.logs.join("\n"));
});

Deno.test("download: wrong checksum caches nothing and names file, expected, actual", async () => {
  const body = bytes(10_000, 3);
  await using server = startServer({ files: { "/f.bin": body } });
  const wrong = "0".repeat(64);
  const dir = await tmp("dl-out-");
  const scratch = await tmp("dl-scratch-");
  await assert.rejects(
    runKind(download, {
      dir,
      scratch,
      params: {
        files: [{ name: "f.bin", urls: [`${server.url}/f.bin`], sha256: wrong }],
        lock: "",
      },
      options: FAST,
    }),
    new RegExp(`download of f.bin failed.*sha256 ${sha(body)}, expected sha256 ${wrong}`, "s"),
  );
  assert.equal(await Deno.stat(`${dir}/files/f.bin`).catch(() => null), null);
  const leftovers = [...Deno.readDirSync(`${scratch}/download`)].map((e) => e.name);
  assert.deepEqual(leftovers, []);
  await assert.rejects(
    runKind(download, {
      params: {
        files: [{ name: "f.bin", urls: [`${server.url}/f.bin`], sha256: sha(body), size: 9_999 }],
        lock: "",
      },
      options: FAST,
    }),
    /f\.bin failed.*→ 10000 bytes, expected 9999/s,
  );
});

Deno.test("download: 404 names the URL without retrying; the next URL is tried", async () => {
  const body = bytes(5_000, 11);
  await using server = startServer({ files: { "/good.bin": body } });
  const missing = `${server.url}/gone/x.bin`;
  await assert.rejects(
    runKind(download, {
      params: { files: [{ name: "x.bin", urls: [missing], sha256: sha(body) }], lock: "" },
      options: FAST,
    }),
    new RegExp(`${missing.replaceAll(".", "\\.")} → HTTP 404 Not Found`),
  );
  assert.equal(server.requests.length, 1); // a 404 is not retried
  const run = await runKind(download, {
    params: {
      files: [{ name: "x.bin", urls: [missing, `${server.url}/good.bin`], sha256: sha(body) }],
      lock: "",
    },
    options: FAST,
  });
  assert.deepEqual(await Deno.readFile(`${run.dir}/files/x.bin`), body);
});

Deno.test("download: 503 and a stalled transfer are retried, resuming", async () => {
  const body = bytes(40_000, 5);
  await using server = startServer({ files: { "/s.bin": body } });
  server.plan("/s.bin", [{ status: 503 }, { stallAfter: 12_345 }]);
  const run = await runKind(download, {
    params: {
      files: [{ name: "s.bin", urls: [`${server.url}/s.bin`], sha256: sha(body) }],
      lock: "",
    },
    options: { ...FAST, stall_timeout_s: "0.3" },
  });
  assert.deepEqual(await Deno.readFile(`${run.dir}/files/s.bin`), body);
  assert.deepEqual(server.requests.map((r) => r.range ?? null), [null, null, "bytes=12345-"]);
});

Deno.test("download: mirror hit uses no network; a corrupt mirror copy is named", async () => {
  const body = bytes(3_000, 9);
  await using server = startServer({ files: { "/m.bin": body } });
  const mirror = await tmp("dl-mirror-");
  await Deno.mkdir(`${mirror}/ds`, { recursive: true });
  await Deno.writeFile(`${mirror}/ds/m.bin`, body);
  const files = [{
    name: "m.bin",
    urls: [`${server.url}/m.bin`],
    sha256: sha(body),
    mirror_path: "ds/m.bin",
  }];
  const run = await runKind(download, { params: { files, lock: "" }, options: { mirror } });
  assert.deepEqual(await Deno.readFile(`${run.dir}/files/m.bin`), body);
  assert.equal(server.requests.length, 0);
  const rec = (run.provenance.downloads as Record<string, { source: string }>)["m.bin"];
  assert.equal(rec.source, "mirror");
  await Deno.writeFile(`${mirror}/ds/m.bin`, bytes(3_000, 10));
  await assert.rejects(
    runKind(download, { params: { files, lock: "" }, options: { mirror } }),
    /m.bin: mirror copy .*ds\/m.bin has sha256 [0-9a-f]{64}, expected sha256/,
  );
  // a mirror without the file falls through to the URL
  await Deno.remove(`${mirror}/ds/m.bin`);
  const viaUrl = await runKind(download, { params: { files, lock: "" }, options: { mirror } });
  assert.deepEqual(await Deno.readFile(`${viaUrl.dir}/files/m.bin`), body);
  assert.equal(server.requests.length, 1);
});

Deno.test("download: sha256 null records into the lock file, then verifies, --update-lock refreshes", async () => {
  const v1 = bytes(2_000, 21);
  const v2 = bytes(2_000, 22);
  await using server = startServer({ files: { "/w.h5": v1 } });
  const lock = `${await tmp("dl-lock-")}/downloads.lock.json`;
  const params = {
    files: [{
      name: "w.h5",
      urls: [`${server.url}/w.h5`],
      sha256: null,
      mirror_path: "keras/w.h5",
    }],
    lock,
  };
  const first = await runKind(download, { params, options: FAST });
  const recorded = JSON.parse(await Deno.readTextFile(lock));
  assert.deepEqual(recorded, {
    version: 1,
    files: { "keras/w.h5": { sha256: sha(v1), size: 2000, source: `${server.url}/w.h5` } },
  });
  assert.equal(
    (first.provenance.downloads as Record<string, { check: string }>)["w.h5"].check,
    "recorded",
  );
  const again = await runKind(download, { params, options: FAST });
  assert.equal(
    (again.provenance.downloads as Record<string, { check: string }>)["w.h5"].check,
    "lock",
  );
  server.set("/w.h5", v2);
  await assert.rejects(
    runKind(download, { params, options: FAST }),
    new RegExp(`sha256 ${sha(v2)}, sha256 ${sha(v1)} recorded in .*--update-lock`, "s"),
  );
  await runKind(download, { params, options: { ...FAST, update_lock: "1" } });
  assert.equal(JSON.parse(await Deno.readTextFile(lock)).files["keras/w.h5"].sha256, sha(v2));
  // the lock path can also come from the run options
  const lock2 = `${await tmp("dl-lock-")}/other.lock.json`;
  await runKind(download, { params: { ...params, lock: "" }, options: { ...FAST, lock: lock2 } });
  assert.equal(JSON.parse(await Deno.readTextFile(lock2)).files["keras/w.h5"].sha256, sha(v2));
});

Deno.test("download: file:// URLs, bad names and bad params are refused clearly", async () => {
  const src = await tmp("dl-src-");
  const body = bytes(100, 1);
  await Deno.writeFile(`${src}/mine.csv`, body);
  const run = await runKind(download, {
    params: {
      files: [{ name: "user/mine.csv", urls: [`file://${src}/mine.csv`], sha256: sha(body) }],
      lock: "",
    },
  });
  assert.deepEqual(await Deno.readFile(`${run.dir}/files/user/mine.csv`), body);
  assert.throws(() => safeRelativePath("../etc/passwd"), /relative path without '\.\.'/);
  assert.throws(() => safeRelativePath("/abs"), /relative path/);
  assert.equal(safeRelativePath("./a//b"), "a/b");
  await assert.rejects(
    runKind(download, {
      params: { files: [{ name: "a", urls: ["ftp://x"], sha256: null }], lock: "" },
    }),
    /URL 'ftp:\/\/x' must be http\(s\):\/\/ or file:\/\//,
  );
  await assert.rejects(
    runKind(download, { params: { files: [{ name: "a", urls: [], sha256: "abc" }], lock: "" } }),
    /sha256 must be 64 hex digits or null/,
  );
  await assert.rejects(
    runKind(download, {
      params: { files: [{ name: "a", urls: [], sha256: "a".repeat(64) }], lock: "" },
    }),
    /download of a failed: no mirror set .*, and it has no URL$/,
  );
  // a file no URL serves says how to get it by hand, and where to put it
  await assert.rejects(
    runKind(download, {
      params: {
        files: [{
          name: "train.mat",
          urls: [],
          sha256: null,
          mirror_path: "pascal/train.mat",
          howto: "ask the authors",
        }],
        lock: "",
      },
    }),
    /download of train.mat failed: no mirror set .*, and it has no URL\. To get it by hand: ask the authors \(then put it at pascal\/train.mat under --mirror\)$/,
  );
  await assert.rejects(
    runKind(download, {
      params: { files: [{ name: "a", urls: [], sha256: null, howto: 3 }], lock: "" },
    }),
    /\.howto must be a string/,
  );
});

Deno.test("fetchToFile: a server that ignores Range restarts cleanly", async () => {
  const body = bytes(8_000, 4);
  await using server = startServer({ files: { "/r.bin": body } });
  server.plan("/r.bin", [{ cutAfter: 3_000 }, { ignoreRange: true }]);
  const dir = await tmp("dl-fetch-");
  const r = await fetchToFile(`${server.url}/r.bin`, `${dir}/r.part`, { retryDelayMs: 0 });
  assert.equal(r.attempts, 2);
  assert.deepEqual(await Deno.readFile(`${dir}/r.part`), body);
  assert.equal(server.requests[1].range, "bytes=3000-");
  assert.equal(server.requests[1].status, 200);
});

Deno.test("download: bad name and mirror_path are spec errors, located at the stage (exit 2)", () => {
  const registry = new Map([["download", download]]);
  const spec = (file: string) =>
    `stages:\n  get:\n    uses: download\n    with:\n      files:\n${file}`;
  const problem = (file: string) => {
    try {
      parsePipeline(spec(file), { file: "p.yaml", registry });
    } catch (e) {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.diagnostics.length, 1);
      return e.message;
    }
    return "";
  };
  assert.equal(problem("        - { name: a.mat, urls: [], sha256: null }\n"), "");
  assert.match(
    problem("        - { name: ../a.mat, urls: [], sha256: null }\n"),
    /^p\.yaml:\d+:\d+: error: .*files.*'\.\.\/a\.mat' must be a relative path without '\.\.'/,
  );
  assert.match(
    problem("        - { name: a.mat, urls: [], sha256: null, mirror_path: /abs/a.mat }\n"),
    /'\/abs\/a\.mat' must be a relative path/,
  );
  assert.match(
    problem("        - { name: a, sha256: null }\n        - { name: a, sha256: null }\n"),
    /files\[1\]: name 'a' appears twice/,
  );
});
