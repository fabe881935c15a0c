/**
 * The Slurm executor against a real single-node Slurm started by `.ci/slurm_up.sh` (which sets
 * `DSE_SLURM_UP` and `SLURM_CONF`); skipped, saying so, without it. Seven cheap jobs in all.
 * @module
 */
import assert from "node:assert/strict";
import { clusterCli, type ClusterRun, TOY_JOB_CLI } from "../fixtures/cluster_cli.ts";
import { verifyAll, workspace } from "../fixtures/harness.ts";

const UP = Deno.env.get("DSE_SLURM_UP");
if (!UP) {
  console.warn('slurm_real_test: skipped: no Slurm (run `eval "$(.ci/slurm_up.sh)"` first)');
}

// s1, s2 → join; two GPU stages (1 GPU each, 2 s) on a node with one (fake) GPU and 2+ CPUs.
const PIPE = `stages:
  s1:
    uses: source
    with: { seed: a, size: 700 }
  s2:
    uses: source
    with: { seed: b, files: 2 }
  join:
    uses: combine
    inputs: { a: s1, b: s2/data.bin }
  g1:
    uses: gpu
    with: { seed: x, ms: 2000 }
  g2:
    uses: gpu
    with: { seed: y, ms: 2000 }
  f:
    uses: combine
    with: { salt: f }
    inputs: { a: s1 }
targets:
  main: [join, g1, g2]
default: main
`;

const SLURM_ENV = { DSE_JOB_CLI: TOY_JOB_CLI, DSE_SLURM_POLL_MS: "300" };

/** {@link clusterCli}, with `exports` passed to the jobs by `sbatch --export=ALL,K=V`. */
function cli(
  ws: { pipeline: string; artifacts: string },
  args: string[],
  options: { env?: Record<string, string>; exports?: Record<string, string> } = {},
): Promise<ClusterRun> {
  const kv = Object.entries(options.exports ?? {}).map(([k, v]) => `${k}=${v}`);
  return clusterCli(ws, [
    ...args,
    ...(kv.length ? [`--sbatch-arg=--export=ALL,${kv.join(",")}`] : []),
  ], {
    env: options.env,
  });
}

/** Jobs Slurm knows (MinJobAge=600 in slurm_up.sh keeps ended ones listed). */
async function jobCount(): Promise<number> {
  const o = await new Deno.Command("squeue", { args: ["--json", "--states=all"] }).output();
  assert.ok(o.success, new TextDecoder().decode(o.stderr));
  return JSON.parse(new TextDecoder().decode(o.stdout)).jobs.length;
}

function keys(r: ClusterRun): Record<string, string> {
  return Object.fromEntries(
    r.summary.stages.map((s: { name: string; key: string }) => [s.name, s.key]),
  );
}

Deno.test({
  name:
    "slurm (real): byte-identical keys and objects as local; re-run submits nothing; GPU stages never overlap; a failure names its job",
  ignore: !UP,
  async fn() {
    await using local = await workspace(PIPE);
    await using slurm = await workspace(PIPE);
    const l = await clusterCli(local, ["reproduce", "--json"]);
    assert.equal(l.code, 0, l.err);
    const trace = `${slurm.dir}/gpu.trace`;
    const before = await jobCount();
    const s = await cli(slurm, [
      "stage",
      "join",
      "--json",
      "--executor",
      "slurm",
      "--jobs",
      "2",
    ], {
      env: SLURM_ENV,
    });
    assert.equal(s.code, 0, s.err);
    assert.equal(await jobCount() - before, 3);
    // both GPU stages at once, with two CPUs free: only the one GPU keeps them apart
    const g = await cli(slurm, [
      "stage",
      "g*",
      "--json",
      "--executor",
      "slurm",
      "--jobs",
      "2",
    ], {
      env: SLURM_ENV,
      exports: { TOY_GPU_TRACE: trace },
    });
    assert.equal(g.code, 0, g.err);
    assert.equal(await jobCount() - before, 5);
    const all = await cli(slurm, ["reproduce", "--json", "--executor", "slurm"], {
      env: SLURM_ENV,
    });
    assert.equal(all.code, 0, all.err);
    assert.deepEqual(
      Object.fromEntries(
        all.summary.stages.map((x: { name: string; state: string }) => [x.name, x.state]),
      ),
      { s1: "cached", s2: "cached", join: "cached", g1: "cached", g2: "cached" },
    );
    assert.equal(await jobCount() - before, 5); // a re-run submits nothing
    // the same keys, and every output file byte for byte
    assert.deepEqual(keys(all), keys(l));
    const objs = await verifyAll(local.artifacts);
    assert.deepEqual(await verifyAll(slurm.artifacts), objs);
    for (const key of objs) {
      const m = JSON.parse(
        await Deno.readTextFile(`${local.artifacts}/objects/${key}/manifest.json`),
      );
      for (const f of m.files) {
        assert.deepEqual(
          await Deno.readFile(`${slurm.artifacts}/objects/${key}/${f.path}`),
          await Deno.readFile(`${local.artifacts}/objects/${key}/${f.path}`),
        );
      }
    }
    // the two GPU stages ran one after the other on the one GPU
    const ev = (await Deno.readTextFile(trace)).trim().split("\n").map((x) => x.split(" "));
    const at = (what: string, name: string) =>
      Number(ev.find(([w, n]) => w === what && n === name)![2]);
    const [a, b] = [["g1", at("start", "g1"), at("end", "g1")], [
      "g2",
      at("start", "g2"),
      at("end", "g2"),
    ]]
      .sort((x, y) => Number(x[1]) - Number(y[1])) as [string, number, number][];
    assert.ok(a[2] <= b[1], `GPU stages overlap: ${JSON.stringify(ev)}`);
    // a failing stage: its job id, Slurm's state and exit code, the log
    const bad = await cli(slurm, ["stage", "f", "--json", "--executor", "slurm"], {
      env: SLURM_ENV,
      exports: { TOY_FAIL: "f" },
    });
    assert.equal(bad.code, 1);
    const f = bad.summary.stages.find((x: { name: string }) => x.name === "f");
    assert.equal(f.state, "failed");
    assert.match(
      f.error,
      /^slurm job \d+ FAILED exit 1 after .*: no object [0-9a-f]{12} was committed/,
    );
    assert.match(await Deno.readTextFile(f.log), /toy failure \(\$TOY_FAIL\)/);
    assert.equal(await jobCount() - before, 6);
  },
});
