import assert from "node:assert/strict";
import { verifyAll, workspace } from "./fixtures/harness.ts";
import { registry } from "./fixtures/toy_kinds.ts";
import { Project } from "../../pipeline/project.ts";
import { runStages } from "../../pipeline/run.ts";
import { main } from "../../pipeline/cli.ts";

const BASE = `params:
  seed: x
  salt: ""
stages:
  s1:
    uses: source
    with: { seed: "\${{ params.seed }}", size: 3000 }
  s2:
    uses: source
    with: { seed: other, files: 3 }
  c1:
    uses: combine
    with: { salt: "\${{ params.salt }}" }
    inputs: { a: s1, b: s2/data.bin }
  c2:
    uses: combine
    inputs: { b: s2 }
`;

Deno.test("cache: hit when nothing changed; miss exactly when params or inputs change", async () => {
  await using ws = await workspace(BASE);
  let r = await ws.states("reproduce");
  assert.equal(r.code, 0);
  assert.deepEqual(r.states, { s1: "done", s2: "done", c1: "done", c2: "done" });
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "cached", c2: "cached" });
  // a param of s2 changes its output: s2 and both consumers re-run
  await ws.write(BASE.replace("seed: other, files: 3", "seed: other2, files: 3"));
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "cached", s2: "done", c1: "done", c2: "done" });
  // a param that does not change the output: s2 re-runs, its consumers' inputs are unchanged
  await ws.write(BASE.replace("seed: other, files: 3", "seed: other2, files: 3, wait_ms: 1"));
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "cached", s2: "done", c1: "cached", c2: "cached" });
  // back to the first pipeline: every object is still there
  await ws.write(BASE);
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "cached", c2: "cached" });
  assert.equal((await verifyAll(ws.artifacts)).length, 4 + 3 + 1);
});

Deno.test("--set changes the keys of exactly the stages that use the param (and their dependents)", async () => {
  await using ws = await workspace(BASE);
  await ws.states("reproduce");
  let r = await ws.states("reproduce", "--set", "salt=q");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "done", c2: "cached" });
  r = await ws.states("reproduce", "--set", "seed=y");
  assert.deepEqual(r.states, { s1: "done", s2: "cached", c1: "done", c2: "cached" });
  const keys = (s: typeof r) =>
    Object.fromEntries(s.summary.stages.map((x: { name: string; key: string }) => [x.name, x.key]));
  const a = keys(await ws.states("reproduce"));
  const b = keys(await ws.states("reproduce", "--set", "salt=q"));
  assert.equal(a.s1, b.s1);
  assert.equal(a.s2, b.s2);
  assert.equal(a.c2, b.c2);
  assert.notEqual(a.c1, b.c1);
  const bad = await ws.cli("reproduce", "--set", "salty=1");
  assert.equal(bad.code, 2);
  assert.match(
    bad.err,
    /--set salty=1: error: unknown param 'salty'; did you mean 'salt'\?; pipeline params: seed, salt/,
  );
});

Deno.test("code change: editing a locally imported module changes the key, unrelated files do not", async () => {
  const dir = await Deno.makeTempDir();
  const fixtures = new URL("./fixtures/", import.meta.url);
  await Deno.writeTextFile(`${dir}/deno.json`, "{}");
  await Deno.copyFile(new URL("toy_kinds.ts", fixtures), `${dir}/kind.ts`);
  await Deno.copyFile(new URL("toy_util.ts", fixtures), `${dir}/toy_util.ts`);
  await Deno.mkdir(`${dir}/pipeline`);
  await Deno.copyFile(
    new URL("../../pipeline/types.ts", import.meta.url),
    `${dir}/pipeline/types.ts`,
  );
  const { registry } = await import("./fixtures/toy_kinds.ts");
  const moved = new Map(registry);
  moved.set("source", { ...registry.get("source")!, module: `file://${dir}/kind.ts` });
  // kind.ts imports ../../../pipeline/types.ts: make that path resolve inside dir too
  const text = await Deno.readTextFile(`${dir}/kind.ts`);
  await Deno.writeTextFile(
    `${dir}/kind.ts`,
    text.replace("../../../pipeline/types.ts", "./pipeline/types.ts"),
  );
  await using ws = await workspace(BASE, { registry: moved });
  let r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "done", s2: "done", c1: "done", c2: "done" });
  await Deno.writeTextFile(`${dir}/unrelated.ts`, "export const x = 1;\n");
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "cached", c2: "cached" });
  await Deno.writeTextFile(`${dir}/toy_util.ts`, "\n// a comment\n", { append: true });
  const ex = await ws.cli("status", "--explain", "s1");
  assert.match(ex.out, /^stage s1 \(kind source\): stale \(changed: code toy_util\.ts\)$/m);
  assert.match(ex.out, /toy_util\.ts {2}[0-9a-f]{12} {2}← changed/);
  assert.match(ex.out, /kind\.ts {2}[0-9a-f]{12}\n/);
  assert.doesNotMatch(ex.out, /types\.ts/);
  r = await ws.states("reproduce");
  // both sources re-run (same output: consumers stay cached)
  assert.deepEqual(r.states, { s1: "done", s2: "done", c1: "cached", c2: "cached" });
  // kind.ts imports pipeline/types.ts with `import type`: erased at run time, not an ingredient
  await Deno.writeTextFile(`${dir}/pipeline/types.ts`, "\n// x\n", { append: true });
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "cached", c2: "cached" });
  await Deno.remove(dir, { recursive: true });
});

const FAILING = `stages:
  s:
    uses: source
  f:
    uses: fail
    inputs: { a: s }
  after-f:
    uses: combine
    inputs: { f: f }
  g:
    uses: combine
    inputs: { a: s }
  lazy:
    uses: forgetful
`;

Deno.test("failure: dependents stop, others finish, error and log reported, nothing committed", async () => {
  await using ws = await workspace(FAILING);
  const r = await ws.cli("reproduce", "--jobs", "2");
  assert.equal(r.code, 1);
  assert.match(
    r.out,
    /^failed +f +\S+ +toy failure on purpose +\(log: .*\/logs\/f\.[0-9a-f]{12}\.log\)$/m,
  );
  assert.match(r.out, /^skipped +after-f +upstream f did not finish$/m);
  assert.match(r.out, /^done +g/m);
  assert.match(r.out, /^failed +lazy .*did not write its declared output 'missing\.txt'/m);
  const log = /\(log: (.*\/logs\/f\.[0-9a-f]+\.log)\)/.exec(r.out)![1];
  assert.match(await Deno.readTextFile(log), /toy failure on purpose/);
  assert.equal((await verifyAll(ws.artifacts)).length, 2); // s and g only
  assert.deepEqual([...Deno.readDirSync(`${ws.artifacts}/tmp`)], []);
});

Deno.test("verdict: object committed, run fails, also when served from the cache", async () => {
  await using ws = await workspace(
    `stages:\n  j:\n    uses: judge\n    with: { ok: false }\n  k:\n    uses: judge\n`,
  );
  let r = await ws.cli("reproduce");
  assert.equal(r.code, 1);
  assert.match(r.out, /done +j .*verdict FAIL: 3 rows out of tolerance/);
  assert.match(r.out, /verdict FAIL j: 3 rows out of tolerance/);
  r = await ws.cli("reproduce");
  assert.equal(r.code, 1);
  assert.match(r.out, /cached +j .*verdict FAIL: 3 rows out of tolerance/);
  assert.equal((await verifyAll(ws.artifacts)).length, 2); // j (failing verdict) and k
  const st = JSON.parse((await ws.cli("status", "--json")).out);
  const j = st.find((s: { stage: string }) => s.stage === "j");
  assert.equal(j.state, "fresh");
  assert.deepEqual(j.verdict, { ok: false, summary: "3 rows out of tolerance" });
  const m = JSON.parse(await Deno.readTextFile(`${j.object}/manifest.json`));
  assert.deepEqual(m.verdict, { ok: false, summary: "3 rows out of tolerance" });
  assert.equal((await ws.cli("stage", "k")).code, 0);
});

Deno.test("corruption: a flipped byte is detected and rebuilt; --verify bypasses the stat cache", async () => {
  await using ws = await workspace(BASE);
  await ws.states("reproduce");
  const st = JSON.parse((await ws.cli("status", "--json")).out);
  const s1 = st.find((s: { stage: string }) => s.stage === "s1").object as string;
  const file = `${s1}/data.bin`;
  const bytes = await Deno.readFile(file);
  bytes[1234] ^= 0xff;
  await Deno.writeFile(file, bytes);
  const status = await ws.cli("status");
  assert.match(status.out, /s1 +│ stale +│ corrupt: data\.bin sha256/);
  let r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s1: "done", s2: "cached", c1: "cached", c2: "cached" });
  await verifyAll(ws.artifacts);
  // truncation: caught by the size check
  await Deno.truncate(`${s1}/meta.json`, 3);
  const tr = await ws.cli("reproduce");
  assert.match(
    tr.out,
    /corrupt +s1 +[0-9a-f]{12}: meta\.json has 3 bytes, manifest says \d+; rebuilding/,
  );
  // same size, mtime restored: the stat cache trusts it; --verify rehashes and catches it
  const info = await Deno.stat(file);
  const b2 = await Deno.readFile(file);
  b2[0] ^= 1;
  await Deno.writeFile(file, b2);
  await Deno.utime(file, info.atime!, info.mtime!);
  r = await ws.states("reproduce");
  assert.equal(r.states.s1, "cached");
  r = await ws.states("reproduce", "--verify");
  assert.equal(r.states.s1, "done");
  await verifyAll(ws.artifacts);
});

Deno.test("stage: name resolution, --force re-runs just that stage, --dry-run writes nothing", async () => {
  await using ws = await workspace(BASE + "  c3-x:\n    uses: combine\n    inputs: { a: s1 }\n");
  const dry = await ws.cli("reproduce", "--dry-run");
  assert.equal(dry.code, 0);
  assert.match(dry.out, /^would +s1 +run +[0-9a-f]{12} +never built$/m);
  assert.match(dry.out, /^would +c1 +run \(after s1, s2\)$/m);
  await assert.rejects(Deno.stat(ws.artifacts), Deno.errors.NotFound);
  let r = await ws.states("stage", "c1");
  assert.deepEqual(r.states, { s1: "done", s2: "done", c1: "done" });
  r = await ws.states("stage", "c1", "--force");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "done" });
  r = await ws.states("stage", "c*");
  assert.deepEqual(r.states, {
    s1: "cached",
    s2: "cached",
    c1: "cached",
    c2: "done",
    "c3-x": "done",
  });
  r = await ws.states("stage", "c3");
  assert.deepEqual(r.states, { s1: "cached", "c3-x": "cached" });
  const none = await ws.cli("stage", "zzz");
  assert.equal(none.code, 2);
  assert.match(none.err, /no stage matches 'zzz'/);
});

Deno.test("stage --force keeps the old object until the new one commits", async () => {
  await using ws = await workspace(BASE);
  await ws.states("reproduce");
  const before = await verifyAll(ws.artifacts);
  Deno.env.set("TOY_FAIL", "c1");
  let r;
  try {
    r = await ws.states("stage", "c1", "--force");
  } finally {
    Deno.env.delete("TOY_FAIL");
  }
  assert.equal(r.states.c1, "failed");
  assert.deepEqual(await verifyAll(ws.artifacts), before, "the old c1 object is still there");
  const st = await ws.cli("status");
  assert.match(st.out, /c1 +│ fresh/);
  assert.match(st.out, /4 fresh, 0 stale, 0 missing/);
  // a forced re-run that succeeds replaces the object in place
  r = await ws.states("stage", "c1", "--force");
  assert.equal(r.states.c1, "done");
  assert.deepEqual(await verifyAll(ws.artifacts), before);
  r = await ws.states("reproduce");
  assert.deepEqual(Object.values(r.states), ["cached", "cached", "cached", "cached"]);
});

Deno.test("Ctrl-C during stage --force leaves the stage fresh, with its old object", async () => {
  await using ws = await workspace(
    "stages:\n  s1:\n    uses: source\n  c1:\n    uses: combine\n" +
      "    with: { wait_ms: 300 }\n    inputs: { a: s1 }\n",
  );
  await ws.states("reproduce");
  const before = await verifyAll(ws.artifacts);
  const ac = new AbortController();
  const lines: string[] = [];
  // Ctrl-C once c1 runs (not after a fixed delay, which a loaded machine may reach before c1
  // starts or after it ends).
  const stdout = (l: string) => {
    lines.push(l);
    if (/^running +c1/.test(l)) setTimeout(() => ac.abort(new Error("cancelled")), 20);
  };
  const code = await main(
    ["stage", "c1", "--force", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts],
    { registry, signal: ac.signal, stdout, tty: false, env: () => undefined, jobs: 1 },
  );
  assert.equal(code, 130);
  assert.match(lines.join("\n"), /^cancelled +c1/m);
  assert.deepEqual(await verifyAll(ws.artifacts), before);
  const st = await ws.cli("status");
  assert.match(st.out, /c1 +│ fresh/);
});

Deno.test("a lock that cannot be taken (EACCES, EROFS, ENOSPC) fails the stage with its cause", async () => {
  await using ws = await workspace(BASE);
  const project = await Project.open({
    registry,
    pipeline: ws.pipeline,
    artifacts: ws.artifacts,
  });
  project.store.lock = () =>
    Promise.reject(new Deno.errors.PermissionDenied("Permission denied (os error 13): open 'x'"));
  const lines: string[] = [];
  const r = await runStages(project, ["s1"], { write: (s) => lines.push(s) });
  assert.equal(r.ok, false);
  assert.equal(r.stages[0].state, "failed");
  assert.match(r.stages[0].error!, /cannot take the lock .*Permission denied \(os error 13\)/);
  assert.match(lines.join("\n"), /^failed +s1 .*Permission denied/m);
});

Deno.test("usage errors: one line, exit 2, with a suggestion when a name is close", async () => {
  await using ws = await workspace(BASE + "targets:\n  quick: [c1]\n");
  for (const args of [["status", "quik"], ["dag", "quik"], ["reproduce", "quik"]]) {
    const r = await ws.cli(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.out, "");
    assert.equal(
      r.err,
      "error: unknown target 'quik'; did you mean 'quick'?; targets: quick, all (--help for usage)",
    );
  }
  let r = await ws.cli("stage", "c3");
  assert.equal(r.code, 2);
  assert.match(r.err, /^error: no stage matches 'c3' .*; did you mean 'c1' or 'c2'\?/);
  assert.equal(r.err.split("\n").length, 1);
  r = await ws.cli("statuss");
  assert.equal(r.code, 2);
  assert.match(r.err, /^error: unknown command 'statuss'; did you mean 'status'\?/);
  r = await ws.cli("status", "--explain", "s3");
  assert.match(r.err, /^error: no stage 's3'; did you mean 's1' or 's2'\?/);
  r = await ws.cli("unlock", "cc1");
  assert.match(r.err, /^error: no stage matches 'cc1'; did you mean 'c1'\?/);
  // the values the domain declares for an option: any other is refused before anything runs
  const err: string[] = [];
  const code = await main(
    ["reproduce", "--backend", "wsam", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts],
    {
      registry,
      runOptions: [{
        flag: "backend",
        value: "<name>",
        choices: ["cpu", "wasm"],
        help: "compute backend",
        keyed: true,
      }],
      stdout: () => {},
      stderr: (l) => void err.push(l),
      env: () => undefined,
    },
  );
  assert.equal(code, 2);
  assert.deepEqual(err, [
    "error: unknown --backend 'wsam'; did you mean 'wasm'?; use one of cpu, wasm (--help for usage)",
  ]);
  await assert.rejects(Deno.stat(ws.artifacts), Deno.errors.NotFound);
});

Deno.test("status fits 100 columns when not a terminal, with 12-hex keys and wrapped reasons", async () => {
  const long = "a-stage-name-that-is-rather-long-for-a-table-column-of-a-status";
  await using ws = await workspace(
    BASE + `  ${long}:\n    uses: combine\n    inputs: { a: c1, b: c2, c: s1, d: s2 }\n`,
  );
  await ws.states("stage", "c1");
  const st = await ws.cli("status", "--set", "salt=a-salt-long-enough-to-make-the-reason-wrap");
  const lines = st.out.split("\n");
  const widest = Math.max(...lines.map((l) => l.length));
  assert.ok(widest <= 100, `status is ${widest} columns wide:\n${st.out}`);
  assert.ok(widest >= 90, "the reason column takes the room there is");
  assert.match(st.out, /│ [0-9a-f]{12} │/);
  assert.doesNotMatch(st.out, /[0-9a-f]{13}/);
  assert.doesNotMatch(st.out, /…/, "nothing truncated");
  // every word of the long name and the reason is there, wrapped
  const text = lines.map((l) => l.replace(/[│┌┐└┘├┤┬┴┼─]/g, " ")).join("\n");
  assert.match(text, /a-stage-name-that/);
  assert.match(text, /a-salt-long-enough/);
});

Deno.test("a store that cannot be used is one line with its cause and path, exit 1", async () => {
  await using ws = await workspace(BASE);
  await Deno.mkdir(ws.artifacts);
  await Deno.writeTextFile(`${ws.artifacts}/locks`, "not a directory");
  const r = await ws.cli("reproduce");
  assert.equal(r.code, 1);
  assert.equal(r.err, `error: Not a directory (os error 20): readdir '${ws.artifacts}/locks'`);
});

Deno.test("status, --explain, dag and gc", async () => {
  await using ws = await workspace(BASE);
  let st = await ws.cli("status");
  assert.match(st.out, /s1 +│ missing +│ never built/);
  assert.match(st.out, /c1 +│ missing +│ upstream not fresh: s1, s2/);
  await ws.states("reproduce");
  st = await ws.cli("status", "--set", "salt=z");
  assert.match(st.out, /c1 +│ stale +│ changed: params.salt: "" → "z"/);
  assert.match(st.out, /3 fresh, 1 stale, 0 missing, 0 running/);
  const ex = await ws.cli("status", "--explain", "c1", "--set", "salt=z");
  assert.match(ex.out, /salt = "z" {2}← changed/);
  assert.match(ex.out, /a ← s1 {2}[0-9a-f]{12}\n/);
  assert.match(ex.out, /changed since last run:\n {2}- params.salt: "" → "z"/);
  const dag = await ws.cli("dag");
  assert.equal(
    dag.out,
    [
      "s1 [source]",
      "└── c1 [combine]",
      "s2 [source]",
      "├── c1 ↑",
      "└── c2 [combine]",
      "(4 stages; ↑ = shown above)",
    ].join("\n"),
  );
  const dot = await ws.cli("dag", "--dot");
  assert.match(dot.out, /"s2" -> "c1" \[label="b \(data\.bin\)"\];/);
  await ws.states("reproduce", "--set", "salt=z");
  // after the second run, the first c1 object is still the one the default params reach
  let gc = await ws.cli("gc", "--set", "salt=z");
  assert.match(gc.out, /would remove 1 object\(s\)/);
  assert.equal((await verifyAll(ws.artifacts)).length, 5);
  gc = await ws.cli("gc", "--apply", "--set", "salt=z");
  assert.match(gc.out, /removed [0-9a-f]{12} {2}c1 /);
  assert.equal((await verifyAll(ws.artifacts)).length, 4);
  const r = await ws.states("reproduce", "--set", "salt=z");
  assert.deepEqual(r.states, { s1: "cached", s2: "cached", c1: "cached", c2: "cached" });
  // scratch left by a kill between commit and scratch removal: gc removes it
  const key = r.summary.stages.find((s: { name: string }) => s.name === "c1").key;
  await Deno.mkdir(`${ws.artifacts}/scratch/${key}`, { recursive: true });
  await Deno.writeTextFile(`${ws.artifacts}/scratch/${key}/ckpt`, "x");
  gc = await ws.cli("gc", "--set", "salt=z");
  assert.match(gc.out, new RegExp(`would remove scratch/${key.slice(0, 12)}`));
  gc = await ws.cli("gc", "--apply", "--set", "salt=z");
  await assert.rejects(Deno.stat(`${ws.artifacts}/scratch/${key}`), Deno.errors.NotFound);
});

Deno.test("--jobs > 1 runs stages in worker threads: console goes to the log, provenance and verdicts come back", async () => {
  await using ws = await workspace(
    `stages:\n  j-{n}:\n    uses: judge\n    matrix: { n: [1, 2, 3] }\n`,
  );
  const r = await ws.states("reproduce", "--jobs", "3");
  assert.equal(
    r.code,
    0,
    JSON.stringify(
      r.summary.stages.map((
        s: { name: string; state: string; error?: string },
      ) => [s.name, s.state, s.error]),
    ),
  );
  for (const s of r.summary.stages) {
    const out = JSON.parse(await Deno.readTextFile(`${s.objectDir}/verdict.json`));
    assert.deepEqual(out, { ok: true, worker: true });
    const m = JSON.parse(await Deno.readTextFile(`${s.objectDir}/manifest.json`));
    assert.deepEqual(m.provenance, { worker: true });
    assert.deepEqual(m.verdict, { ok: true, summary: "all good" });
    assert.match(
      await Deno.readTextFile(`${s.objectDir}/stage.log`),
      /judge j-\d says hello from a worker/,
    );
  }
  await ws.write(`stages:\n  j:\n    uses: judge\n    with: { ok: false }\n`);
  const f = await ws.states("reproduce", "--jobs", "2", "--in-process");
  assert.equal(f.code, 1);
  const out = JSON.parse(await Deno.readTextFile(`${f.summary.stages[0].objectDir}/verdict.json`));
  assert.deepEqual(out, { ok: false, worker: false });
});

Deno.test("environment: --backend is in the key and the manifest, --mirror and --lock reach ctx.options only", async () => {
  await using ws = await workspace(`stages:\n  e:\n    uses: envy\n`);
  let r = await ws.states("reproduce", "--mirror", "/data/one", "--lock", "/tmp/l.json");
  assert.deepEqual(r.states, { e: "done" });
  const dir = r.summary.stages[0].objectDir;
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/env.json`)), {
    env: { backend: "cpu" },
    mirror: "/data/one",
    lock: "/tmp/l.json",
  });
  r = await ws.states("reproduce", "--mirror", "/data/two");
  assert.deepEqual(r.states, { e: "cached" });
  r = await ws.states("reproduce", "--backend", "wasm");
  assert.deepEqual(r.states, { e: "done" });
  const m = JSON.parse(await Deno.readTextFile(`${r.summary.stages[0].objectDir}/manifest.json`));
  assert.equal(m.backend, undefined, "the store writes no domain field");
  assert.deepEqual(m.options, { backend: "wasm" }, "the option the domain records");
  assert.deepEqual(m.env, { backend: "wasm" });
  const ex = await ws.cli("status", "--explain", "e");
  assert.match(ex.out, /env\n {2}backend = cpu {2}← changed/);
  assert.match(ex.out, /- env\.backend: wasm → cpu/);
});

Deno.test("progress: periodic lines when not a TTY", async () => {
  await using ws = await workspace(
    `stages:\n  train:\n    uses: trainer\n    with: { epochs: 4 }\n`,
  );
  let r = await ws.cli("reproduce");
  assert.equal(r.code, 0);
  // the first report is printed at once, without an ETA (no rate yet); later ones at most
  // every 10 s
  assert.match(r.out, /^ {2}… train 25% \(1\/4\) acc 1$/m);
  assert.doesNotMatch(r.out, /eta 0ms/);
  assert.match(r.out, /^running +train +[0-9a-f]{12} {2}\[stage 1\/1\]$/m);
  assert.match(r.out, /^done +train/m);
  // the next run estimates what is left from the recorded durations
  const state = `${ws.artifacts}/state/train.json`;
  const rec = JSON.parse(await Deno.readTextFile(state));
  await Deno.writeTextFile(state, JSON.stringify({ ...rec, duration_ms: 125_000 }));
  r = await ws.cli("stage", "train", "--force");
  assert.match(
    r.out,
    /^running +train +[0-9a-f]{12} {2}\[stage 1\/1, ~2m05s left by recorded times\]$/m,
  );
});

Deno.test("files a stage reads outside the store are in its key, by content (stat cache)", async () => {
  await using ws = await workspace("stages: {}\n");
  const labels = `${ws.dir}/user/labels.txt`, names = `${ws.dir}/user/names.txt`;
  await Deno.mkdir(`${ws.dir}/user`);
  await Deno.writeTextFile(labels, "1 2 3\n");
  await Deno.writeTextFile(names, "a b c\n");
  await ws.write(`stages:
  r:
    uses: reader
    with: { path: ${labels}, more: { files: [${names}] } }
  c:
    uses: combine
    inputs: { a: r }
  other:
    uses: source
`);
  let r = await ws.states("reproduce");
  assert.deepEqual(r.states, { r: "done", c: "done", other: "done" });
  const status = async () => {
    const j = JSON.parse((await ws.cli("status", "--json")).out);
    return Object.fromEntries(
      j.map((s: { stage: string; state: string; reason: string }) => [
        s.stage,
        `${s.state}${s.reason ? `: ${s.reason}` : ""}`,
      ]),
    );
  };
  // the label file changes in place (same size): the reader and its dependent are stale
  await Deno.writeTextFile(labels, "3 2 1\n");
  assert.deepEqual(await status(), {
    r: `stale: changed: file ${labels} (content)`,
    c: "stale: upstream not fresh: r",
    other: "fresh",
  });
  const ex = await ws.cli("status", "--explain", "r");
  assert.match(ex.out, /\nfiles \(read by the stage, not another stage's output\)\n/);
  assert.match(ex.out, new RegExp(`\\n {2}${names} {2}[0-9a-f]{12}\\n`));
  assert.match(ex.out, new RegExp(`${labels} {2}[0-9a-f]{12} {2}← changed`));
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { r: "done", c: "done", other: "cached" });
  assert.equal(
    await Deno.readTextFile(`${ws.artifacts}/objects/${r.summary.stages[0].key}/out.txt`),
    "3 2 1\n|a b c\n",
  );
  // touched (mtime only): rehashed, same content, still fresh
  await Deno.utime(labels, new Date(), new Date(Date.now() + 5000));
  assert.deepEqual(await status(), { r: "fresh", c: "fresh", other: "fresh" });
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { r: "cached", c: "cached", other: "cached" });
  // a file named by the kind's files() hook counts too
  await Deno.writeTextFile(names, "a b c d\n");
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { r: "done", c: "done", other: "cached" });
  // back to the first contents: the first objects serve again
  await Deno.writeTextFile(labels, "1 2 3\n");
  await Deno.writeTextFile(names, "a b c\n");
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { r: "cached", c: "cached", other: "cached" });
  // a file edited while the stage runs: the object is not committed
  const yaml = await Deno.readTextFile(ws.pipeline);
  await ws.write(yaml.replace("more: {", 'append: "4 ", more: {'));
  r = await ws.states("reproduce");
  assert.equal(r.code, 1);
  assert.equal(r.states.r, "failed");
  assert.match(
    JSON.stringify(r.summary),
    new RegExp(`${labels} changed while the stage ran; nothing was committed: run it again`),
  );
  await ws.write(yaml);
  await Deno.writeTextFile(labels, "1 2 3\n");
  r = await ws.states("reproduce");
  assert.deepEqual(r.states, { r: "cached", c: "cached", other: "cached" });
  // a missing file: stale, says so, and the run fails
  await Deno.remove(names);
  assert.equal((await status()).r, `stale: changed: file ${names} (missing)`);
  r = await ws.states("reproduce");
  assert.equal(r.code, 1);
  assert.equal(r.states.r, "failed");
});
