/**
 * The Slurm executor against fake `sbatch`/`squeue`/`scancel` scripts (./fake_slurm) that run
 * each job script in the background and report its state as Slurm 22.05's `squeue --json` does.
 * The jobs run the toy CLI (`run-one`) in real subprocesses against the test's store.
 * @module
 */
import assert from "node:assert/strict";
import { parseSacct, parseSqueue, resourceFlags } from "../../../pipeline/executor/slurm.ts";
import { clusterCli, type ClusterRun, TOY_JOB_CLI } from "../fixtures/cluster_cli.ts";
import { verifyAll, workspace } from "../fixtures/harness.ts";

const FAKE = new URL("./fake_slurm", import.meta.url).pathname;

// Three toy stages and a GPU one: s1, s2 independent; join needs both; g needs s1.
const PIPE = `stages:
  s1:
    uses: source
    with: { seed: a, size: 500 }
  s2:
    uses: source
    with: { seed: b, files: 2 }
  join:
    uses: combine
    inputs: { a: s1, b: s2/data.bin }
  g:
    uses: gpu
    with: { seed: x }
    inputs: { up: s1 }
`;

type Run = ClusterRun;

/**
 * Runs the CLI with the fake Slurm of `dir` (DSE_SLURM_BIN); `jobEnv` reaches the jobs through
 * `--export=ALL,K=V` as with real Slurm (the process environment is shared by test modules).
 */
function cli(
  ws: { pipeline: string; artifacts: string },
  args: string[],
  options: { dir?: string; jobEnv?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Run> {
  const exports = Object.entries(options.jobEnv ?? {}).map(([k, v]) => `${k}=${v}`);
  return clusterCli(ws, [
    ...args,
    ...(exports.length ? [`--sbatch-arg=--export=ALL,${exports.join(",")}`] : []),
  ], {
    signal: options.signal,
    env: {
      ...(options.dir ? { DSE_SLURM_BIN: options.dir } : {}),
      DSE_JOB_CLI: TOY_JOB_CLI,
      DSE_SLURM_POLL_MS: "100",
    },
  });
}

/** A fresh directory holding copies of the fake Slurm commands (and, later, their state). */
async function fakeDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fake-slurm-" });
  for (const c of ["sbatch", "squeue", "scancel"]) {
    await Deno.copyFile(`${FAKE}/${c}`, `${dir}/${c}`);
    await Deno.chmod(`${dir}/${c}`, 0o755);
  }
  return dir;
}

function submittedCount(dir: string): number {
  try {
    return Number(Deno.readTextFileSync(`${dir}/next`)) - 100;
  } catch {
    return 0;
  }
}

function states(r: Run): Record<string, string> {
  return Object.fromEntries(r.summary.stages.map((s: { name: string; state: string }) => [
    s.name,
    s.state,
  ]));
}

/** Object digests by stage, from each stage's committed manifest. */
async function digests(artifacts: string, r: Run): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of r.summary.stages) {
    const m = JSON.parse(await Deno.readTextFile(`${artifacts}/objects/${s.key}/manifest.json`));
    out[s.name] = `${s.key} ${m.digest}`;
  }
  return out;
}

Deno.test("slurm (fake): same keys and objects as local; a re-run submits nothing; --jobs caps jobs in flight", async () => {
  await using local = await workspace(PIPE);
  await using slurm = await workspace(PIPE);
  const dir = await fakeDir();
  const l = await cli(local, ["reproduce", "--json"]);
  assert.equal(l.code, 0, l.err);
  const s = await cli(slurm, ["reproduce", "--json", "--executor", "slurm", "--jobs", "2"], {
    dir,
  });
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(states(s), { s1: "done", s2: "done", join: "done", g: "done" });
  assert.equal(submittedCount(dir), 4);
  assert.deepEqual(await digests(slurm.artifacts, s), await digests(local.artifacts, l));
  assert.equal((await verifyAll(slurm.artifacts)).length, 4);
  // each job ran the stage alone, with the key it had to produce, under the store's logs/
  const argv = Deno.readTextFileSync(`${dir}/argv.101`).trim().split("\n");
  const script = Deno.readTextFileSync(argv.at(-1)!);
  assert.match(script, /run-one s[12] --expect-key [0-9a-f]{64} --pipeline \//);
  assert.ok(argv.some((a) => a.startsWith(`--output=${slurm.artifacts}/logs/`)), argv.join(" "));
  // the gpu kind's resources reach sbatch
  const g = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("name."))
    .find((n) => Deno.readTextFileSync(`${dir}/${n}`).trim() === "g")!;
  const gArgv = Deno.readTextFileSync(`${dir}/argv.${g.slice(5)}`);
  assert.match(gArgv, /--gpus=1\n--time=5:00\n/);
  // never more than 2 jobs in flight (from the fake's start/end events)
  let cur = 0, max = 0;
  const events = Deno.readTextFileSync(`${dir}/events`).trim().split("\n")
    .map((l) => l.split(" ")).sort((a, b) => Number(a[2]) - Number(b[2]));
  for (const [what] of events) max = Math.max(max, cur += what === "start" ? 1 : -1);
  assert.ok(max <= 2 && max >= 1, `max in flight ${max}`);
  // a re-run: every stage cached, nothing submitted
  const again = await cli(slurm, ["reproduce", "--json", "--executor", "slurm"], {
    dir,
  });
  assert.equal(again.code, 0);
  assert.deepEqual(states(again), { s1: "cached", s2: "cached", join: "cached", g: "cached" });
  assert.equal(submittedCount(dir), 4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("slurm (fake): a failing stage names its job, state, exit code and log", async () => {
  await using ws = await workspace(PIPE);
  const dir = await fakeDir();
  const r = await cli(ws, [
    "reproduce",
    "--json",
    "--executor",
    "slurm",
    "--jobs",
    "2",
    "--sbatch-arg=--qos=low",
  ], { dir, jobEnv: { TOY_FAIL: "join" } });
  assert.equal(r.code, 1);
  const join = r.summary.stages.find((s: { name: string }) => s.name === "join");
  assert.equal(join.state, "failed");
  assert.match(
    join.error,
    /^slurm job \d+ FAILED exit 1 after .*: no object [0-9a-f]{12} was committed/,
  );
  assert.match(join.error, /last log line: .*toy failure/);
  assert.match(join.log, /\/logs\/join\.[0-9a-f]{12}\.slurm\.log$/);
  assert.match(await Deno.readTextFile(join.log), /toy failure \(\$TOY_FAIL\)/);
  assert.equal(states(r).s1, "done");
  // extra sbatch flags come last, in order, just before the script
  const argv = Deno.readTextFileSync(`${dir}/argv.101`).trim().split("\n");
  assert.deepEqual(argv.slice(-3, -1), ["--qos=low", "--export=ALL,TOY_FAIL=join"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("slurm (fake): a job Slurm calls COMPLETED exit 0 that committed nothing is a failure", async () => {
  await using ws = await workspace(PIPE);
  const dir = await fakeDir();
  await Deno.writeTextFile(`${dir}/lie`, "");
  const r = await cli(ws, ["stage", "s1", "--json", "--executor", "slurm"], { dir });
  assert.equal(r.code, 1);
  assert.equal(r.summary.stages[0].state, "failed");
  assert.match(r.summary.stages[0].error, /^slurm job 101 COMPLETED exit 0 .*no object/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("slurm (fake): cancelling the run scancels what we submitted", async () => {
  await using ws = await workspace(`stages:
  t:
    uses: trainer
    with: { epochs: 3, block_at: 1 }
`);
  const dir = await fakeDir();
  const ac = new AbortController();
  const go = `${ws.dir}/go`; // never created: the trainer blocks at epoch 1
  const trace = `${ws.dir}/trace`;
  const p = cli(ws, ["reproduce", "--json", "--executor", "slurm"], {
    dir,
    jobEnv: { TOY_GO: go, TOY_TRACE: trace },
    signal: ac.signal,
  });
  for (let i = 0; i < 300; i++) {
    if ((await Deno.readTextFile(trace).catch(() => "")).includes("start 0")) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  ac.abort();
  // without scancel the job would block for ever: fail after 30 s instead of hanging
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the run did not end after cancel")), 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(r.code, 130);
  assert.equal(r.summary.stages[0].state, "cancelled");
  assert.match(Deno.readTextFileSync(`${dir}/calls`), /^scancel 101$/m);
  assert.equal(Deno.readTextFileSync(`${dir}/jobs/101`).trim(), "CANCELLED 0");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("run-one refuses a key it does not compute itself, and a stage whose inputs are missing", async () => {
  await using ws = await workspace(PIPE);
  const wrong = "0".repeat(64);
  let r = await cli(ws, ["run-one", "s1", "--expect-key", wrong]);
  assert.equal(r.code, 1);
  assert.match(r.err, /this node computes key [0-9a-f]{12}, the orchestrator expects 000000000000/);
  r = await cli(ws, ["run-one", "join", "--expect-key", wrong]);
  assert.equal(r.code, 1);
  assert.match(r.err, /inputs not committed in .*: s1, s2/);
  r = await cli(ws, ["run-one", "s1"]);
  assert.equal(r.code, 2);
  assert.equal((await verifyAll(ws.artifacts)).length, 0);
  r = await cli(ws, ["reproduce", "--executor", "pbs"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown --executor 'pbs'; use one of local, slurm/);
  r = await cli(ws, ["reproduce", "--sbatch-arg=--qos=low"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--sbatch-arg needs --executor slurm/);
});

Deno.test("parseSqueue reads Slurm 22.05 and 23.02+ shapes; parseSacct skips steps", () => {
  const old = parseSqueue(
    '{"jobs":[{"job_id":7,"job_state":"FAILED","exit_code":512},{"job_id":8,"job_state":"RUNNING","exit_code":0}]}',
  );
  assert.deepEqual(old.get("7"), { id: "7", state: "FAILED", exitCode: 2 });
  assert.equal(old.get("8")!.state, "RUNNING");
  const cur = parseSqueue(JSON.stringify({
    jobs: [{
      job_id: 9,
      job_state: ["OUT_OF_MEMORY"],
      exit_code: { status: ["ERROR"], return_code: { set: true, infinite: false, number: 137 } },
    }],
  }));
  assert.deepEqual(cur.get("9"), { id: "9", state: "OUT_OF_MEMORY", exitCode: 137 });
  const acct = parseSacct("12|COMPLETED|0:0\n12.batch|COMPLETED|0:0\n13|CANCELLED by 0|0:15\n");
  assert.deepEqual([...acct.values()], [
    { id: "12", state: "COMPLETED", exitCode: 0 },
    { id: "13", state: "CANCELLED", exitCode: 0 },
  ]);
  assert.deepEqual(resourceFlags({ cpus: 4, memory: "8G", gpus: 0, partition: "gpu" }), [
    "--cpus-per-task=4",
    "--mem=8G",
    "--partition=gpu",
  ]);
});
