/**
 * Each task of deno.json runs under the permissions it declares: the inspection tasks (no -A, no
 * network, no native code) against the real pipeline and an empty store inside `artifacts/`;
 * `reproduce` and `stage` (network only to the hosts `pipeline.yaml` downloads from, plus
 * loopback; writes only to `artifacts/` and the downloads lock) on a small pipeline that downloads
 * the Wikipedia feature release over loopback and trains a small DSE.
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { linalgBackend } from "../stages/linalg/backend.ts";
import { registry } from "../stages/mod.ts";
import { startServer } from "./helpers/http_server.ts";
import { WIKI_FEATURES_PARAMS, wikipediaDir } from "./helpers/shared_data.ts";

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

/** The flags a task declares ("deno run <flags> cli.ts <command>"). */
function taskFlags(task: string): string[] {
  const words = TASKS[task].split(/\s+/);
  return words.slice(2, words.indexOf("cli.ts"));
}

/** Runs `cli.ts` under `task`'s declared flags. */
async function runTask(task: string, args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...taskFlags(task), "cli.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Every `urls:`/`url:` string (and kinds' URL defaults) a download could fetch, as hosts. */
function downloadHosts(): Set<string> {
  const hosts = new Set<string>();
  const visit = (v: unknown, key = ""): void => {
    if (typeof v === "string") {
      if (/^urls?$/.test(key) && /^https?:\/\//.test(v)) hosts.add(new URL(v).hostname);
    } else if (Array.isArray(v)) v.forEach((x) => visit(x, key));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) visit(x, k);
    }
  };
  // `!include`d files (the check expectations) hold no URLs: their tags are left unresolved.
  visit(parse(Deno.readTextFileSync(`${ROOT}pipeline.yaml`), { logLevel: "silent" }));
  for (const kind of registry.values()) {
    for (const spec of Object.values(kind.params)) {
      const d = spec.default;
      if (typeof d === "string" && /^https?:\/\//.test(d)) hosts.add(new URL(d).hostname);
    }
  }
  return hosts;
}

Deno.test("reproduce and stage: no -A; network only to pipeline.yaml's download hosts and loopback", () => {
  const hosts = downloadHosts();
  assert.ok(
    hosts.has("raw.githubusercontent.com") && hosts.has("labelme.csail.mit.edu"),
    [
      ...hosts,
    ].join(),
  );
  for (const task of ["reproduce", "stage"]) {
    const flags = taskFlags(task);
    assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"), task);
    const net = flags.find((f) => f.startsWith("--allow-net="));
    assert.ok(net, `${task} must scope --allow-net to hosts: ${flags.join(" ")}`);
    const allowed = new Set(net.slice("--allow-net=".length).split(","));
    const missing = [...hosts].filter((h) => !allowed.has(h));
    assert.deepEqual(missing, [], `${task}: download hosts missing from --allow-net`);
    const write = flags.find((f) => f.startsWith("--allow-write="));
    assert.ok(
      write?.split("=")[1].split(",").every((p) => /^(artifacts|downloads\.lock\.json.*)$/.test(p)),
    );
  }
});

Deno.test({
  name: "reproduce runs under its declared permissions; a host outside them is a clear error",
  ignore: !wikipediaDir(),
  async fn() {
    const dir = wikipediaDir()!;
    await using server = startServer({ root: dir });
    const work = await Deno.makeTempDir({ prefix: "perm-reproduce-" });
    const store = `artifacts/.permissions-test-${Deno.pid}-reproduce`;
    const names = [
      "raw_features.mat",
      "trainset_txt_img_cat.list",
      "testset_txt_img_cat.list",
      "categories.list",
    ];
    const files = async (base: string) =>
      await Promise.all(names.map(async (name) => {
        const bytes = await Deno.readFile(`${dir}/${name}`);
        const sha = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        return {
          name,
          urls: [`${base}/${name}`],
          sha256: [...sha].map((b) => b.toString(16).padStart(2, "0")).join(""),
        };
      }));
    const pipeline = async (base: string) => ({
      version: 1,
      stages: {
        "wiki-download": { uses: "download", with: { files: await files(base) } },
      } as Record<string, unknown>,
    });
    try {
      const spec = await pipeline(server.url);
      Object.assign(spec.stages, {
        "wiki-data": {
          uses: "features",
          inputs: { raw: "wiki-download/files" },
          with: WIKI_FEATURES_PARAMS,
        },
        "cca-wiki": { uses: "cca", inputs: { features: "wiki-data" }, with: { k: 10 } },
        "dse-wiki": {
          uses: "train-dse",
          inputs: { data: "wiki-data" },
          with: { loss: "ds", lambda: 0.1, epochs: 2, dim: 16, seed: 0 },
        },
        "eval-cca": { uses: "evaluate", inputs: { emb: "cca-wiki" } },
        "eval-dse": { uses: "evaluate", inputs: { emb: "dse-wiki" } },
      });
      await Deno.writeTextFile(`${work}/pipeline.yaml`, JSON.stringify(spec));
      const ok = await runTask("reproduce", [
        "reproduce",
        "all",
        ...["--pipeline", `${work}/pipeline.yaml`, "--artifacts", store],
      ]);
      assert.doesNotMatch(ok.err, /NotCapable|PermissionDenied|Requires \w+ access/, ok.err);
      assert.equal(ok.code, 0, ok.err + ok.out);
      assert.ok(
        server.requests.some((r) => r.path === "/raw_features.mat"),
        "fetched over loopback",
      );
      // Native code loaded where it would with -A: LAPACK (--allow-ffi) when this machine has it.
      const manifests = [];
      for await (const e of Deno.readDir(`${ROOT}${store}/objects`)) {
        const m = `${ROOT}${store}/objects/${e.name}/manifest.json`;
        manifests.push(JSON.parse(await Deno.readTextFile(m)));
      }
      const cca = manifests.find((m) => m.stage === "cca-wiki");
      assert.equal(
        cca?.provenance?.linalg?.name,
        linalgBackend().name,
        "cca-wiki's linalg backend",
      );

      // 127.0.0.2 is loopback too, but not among the task's hosts: one located, actionable error.
      const far = await pipeline(server.url.replace("127.0.0.1", "127.0.0.2"));
      await Deno.writeTextFile(`${work}/far.yaml`, JSON.stringify(far));
      const denied = await runTask("stage", [
        "stage",
        "wiki-download",
        ...["--pipeline", `${work}/far.yaml`, "--artifacts", store],
      ]);
      assert.equal(denied.code, 1, denied.err + denied.out);
      assert.match(
        denied.err + denied.out,
        /net access to "127\.0\.0\.2:\d+" is not among this task's permissions: add it to the task's --allow-net=… in deno\.json/,
      );
    } finally {
      await Deno.remove(`${ROOT}${store}`, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
