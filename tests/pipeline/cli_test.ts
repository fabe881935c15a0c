import assert from "node:assert/strict";
import { verifyAll, workspace } from "./fixtures/harness.ts";

const TOY_CLI = new URL("./fixtures/toy_cli.ts", import.meta.url).pathname;

/** Spawns the toy CLI with stdout piped. */
function spawn(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", TOY_CLI, ...args],
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
}

/** Reads lines from a stream until `stop(line, count)` is true or the stream ends. */
async function readUntil(
  stream: ReadableStream<Uint8Array>,
  stop: (line: string, n: number) => boolean,
): Promise<{ lines: string[]; rest: Promise<void> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const lines: string[] = [];
  let buf = "";
  for (;;) {
    if (stop("", lines.length) && lines.length === 0) break;
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i: number;
    let hit = false;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (stop(line, lines.length)) hit = true;
    }
    if (hit) break;
  }
  const rest = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { lines, rest };
}

const KILL = `params:
  salt: a
  seeds: s
stages:
  src-{n}:
    uses: source
    matrix: { n: [a, b, c] }
    with: { seed: "\${{ params.seeds }}\${{ matrix.n }}", files: 4, wait_ms: 3, size: 20000 }
  mid-{n}:
    uses: combine
    matrix: { n: [a, b, c] }
    with: { wait_ms: 4, salt: "\${{ params.salt }}" }
    inputs: { x: "src-{n}" }
  top:
    uses: combine
    with: { wait_ms: 2, salt: "\${{ params.salt }}" }
    inputs: { a: mid-a, b: mid-b, c: mid-c/out.txt }
`;

Deno.test("kill -9 at random points (20 trials): each re-run finishes and every object verifies", async () => {
  await using ws = await workspace(KILL);
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let killedMidway = 0;
  for (let trial = 0; trial < 20; trial++) {
    // every trial has new work (salt); sources are shared between some trials (seeds)
    const set = ["--set", `salt=t${trial}`, "--set", `seeds=s${trial % 4}`];
    const child = spawn([
      "reproduce",
      "--pipeline",
      ws.pipeline,
      "--artifacts",
      ws.artifacts,
      ...set,
      "--jobs",
      String(1 + (trial % 3)),
    ]);
    const at = rand(12); // kill after this many output lines (0: at once)
    const { lines, rest } = await readUntil(child.stdout, (_l, n) => n >= at);
    let finished = false;
    try {
      child.kill("SIGKILL");
    } catch {
      finished = true; // it already exited
    }
    const status = await child.status;
    await rest;
    await child.stderr.cancel();
    if (
      !finished && status.signal === "SIGKILL" && lines.some((l) => l.startsWith("running")) &&
      !lines.some((l) => /^(ok|FAILED):/.test(l))
    ) {
      killedMidway++;
    }
    const r = await ws.states("reproduce", ...set);
    assert.equal(r.code, 0, `trial ${trial}: re-run failed: ${JSON.stringify(r.summary)}`);
    for (const s of r.summary.stages) assert.ok(s.state === "done" || s.state === "cached");
    await verifyAll(ws.artifacts);
    assert.deepEqual([...Deno.readDirSync(`${ws.artifacts}/tmp`)], [], `trial ${trial}: tmp left`);
    assert.deepEqual(
      [...Deno.readDirSync(`${ws.artifacts}/locks`)].filter((e) => e.name.endsWith(".lock")),
      [],
    );
  }
  assert.ok(killedMidway >= 10, `only ${killedMidway} of 20 kills landed while stages ran`);
});

Deno.test("two concurrent reproduce processes: every stage runs exactly once", async () => {
  await using ws = await workspace(KILL);
  const counter = `${ws.dir}/counter.txt`;
  const args = ["reproduce", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts, "--jobs", "2"];
  const a = spawn(args, { TOY_COUNTER: counter });
  const b = spawn(args, { TOY_COUNTER: counter });
  const [ra, rb] = await Promise.all([a.output(), b.output()]);
  const dec = new TextDecoder();
  assert.equal(ra.code, 0, dec.decode(ra.stdout) + dec.decode(ra.stderr));
  assert.equal(rb.code, 0, dec.decode(rb.stdout) + dec.decode(rb.stderr));
  const ran = (await Deno.readTextFile(counter)).trim().split("\n").sort();
  assert.deepEqual(ran, ["mid-a", "mid-b", "mid-c", "src-a", "src-b", "src-c", "top"]);
  assert.equal((await verifyAll(ws.artifacts)).length, 7);
  const both = dec.decode(ra.stdout) + dec.decode(rb.stdout);
  assert.equal(both.match(/^done /gm)?.length, 7);
  assert.equal(both.match(/^cached /gm)?.length, 7);
});

Deno.test("resume: a killed training resumes from its last checkpoint in scratch", async () => {
  await using ws = await workspace(
    `stages:\n  train:\n    uses: trainer\n    with: { epochs: 5, block_at: 2 }\n`,
  );
  const env = { TOY_TRACE: `${ws.dir}/trace.txt`, TOY_GO: `${ws.dir}/go` };
  const args = ["reproduce", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts];
  const child = spawn(args, env);
  const { rest } = await readUntil(child.stdout, (l) => l === "trainer epoch 1");
  child.kill("SIGKILL");
  await child.status;
  await rest;
  await child.stderr.cancel();
  assert.equal(await Deno.readTextFile(env.TOY_TRACE), "start 0\nepoch 0\nepoch 1\n");
  assert.equal((await verifyAll(ws.artifacts)).length, 0);
  await Deno.writeTextFile(env.TOY_GO, "");
  const again = await spawn(args, env).output();
  assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
  assert.equal(
    await Deno.readTextFile(env.TOY_TRACE),
    "start 0\nepoch 0\nepoch 1\nstart 2\nepoch 2\nepoch 3\nepoch 4\n",
  );
  const st = JSON.parse((await ws.cli("status", "--json")).out)[0];
  assert.equal(st.state, "fresh");
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${st.object}/model.json`)), { acc: 15 });
  assert.deepEqual([...Deno.readDirSync(`${ws.artifacts}/scratch`)], []); // removed after commit
});

Deno.test("unlock removes a stale lock; a dead owner's lock is reclaimed by the next run", async () => {
  await using ws = await workspace(`stages:\n  s:\n    uses: source\n`);
  const dry = JSON.parse((await ws.cli("reproduce", "--dry-run", "--json")).out);
  const key = dry.stages[0].key as string;
  // a lock owned by a process that has exited
  const dead = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
  await dead.status;
  await Deno.mkdir(`${ws.artifacts}/locks`, { recursive: true });
  const owner = {
    pid: dead.pid,
    host: (await import("node:os")).hostname(),
    stage: "s",
    since: "x",
  };
  await Deno.writeTextFile(`${ws.artifacts}/locks/${key}.lock`, JSON.stringify(owner));
  const r = await ws.states("reproduce");
  assert.deepEqual(r.states, { s: "done" });
  await Deno.writeTextFile(`${ws.artifacts}/locks/${key}.lock`, JSON.stringify(owner));
  const un = await ws.cli("unlock", "s");
  assert.match(un.out, new RegExp(`unlocked ${key.slice(0, 12)} \\(s, pid ${dead.pid} on `));
  assert.deepEqual(
    [...Deno.readDirSync(`${ws.artifacts}/locks`)].filter((e) => e.name.endsWith(".lock")),
    [],
  );
});

Deno.test("domain commands get the engine API: targets, states, object dirs of fresh stages", async () => {
  const { main } = await import("../../pipeline/cli.ts");
  const { registry } = await import("./fixtures/toy_kinds.ts");
  await using ws = await workspace(
    `stages:\n  s:\n    uses: source\n  j:\n    uses: judge\n    inputs: { s: s }\ntargets:\n  quick: [j]\n`,
  );
  const out: string[] = [];
  const metrics = {
    description: "prints fresh objects",
    async run(args: string[], api: import("../../pipeline/cli.ts").EngineApi) {
      const project = await api.open();
      const names = project.targetStages(args[0]);
      for (const st of await project.states(names)) {
        const dir = await project.objectDir(st.name);
        api.stdout(
          `${st.name} ${st.state} ${dir ? (await Deno.stat(`${dir}/manifest.json`)).isFile : "-"}`,
        );
      }
      return args.includes("--fail") ? 3 : 0;
    },
  };
  const run = (...a: string[]) =>
    main([...a, "--pipeline", ws.pipeline, "--artifacts", ws.artifacts], {
      registry,
      commands: { metrics },
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
    });
  assert.equal(await run("metrics", "quick"), 0);
  assert.deepEqual(out.splice(0), ["s missing -", "j missing -"]);
  assert.equal(await run("reproduce", "quick"), 0);
  out.splice(0);
  assert.equal(await run("metrics", "quick", "--fail"), 3);
  assert.deepEqual(out.splice(0), ["s fresh true", "j fresh true"]);
  assert.equal(await run("--help"), 0);
  assert.match(out.join("\n"), /domain commands:\n {2}metrics +prints fresh objects/);
});
