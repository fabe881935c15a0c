/**
 * Engine benchmark (issue 2):
 * 1. no-op `reproduce` of a 50-stage toy pipeline whose inputs total 1 GiB (target < 0.5 s),
 *    in-process and as a fresh `deno run` process;
 * 2. streaming sha256 throughput against `sha256sum` on the same 1 GiB file (target ≥ 0.8×);
 * 3. engine scaling (issue 14), in-process: validating a 10k-stage pipeline (target ≤ 3 s),
 *    parsing a 32k-entry pipeline.yaml, and expanding + scheduling (upstream closure, topological
 *    order and the runner's scheduler over stages that finish at once) a 100k-stage matrix
 *    (target ≤ 5 s). `bench/pipeline.ts scaling` runs only these;
 * 4. start-up (issue 14): a no-op `reproduce quick` of the real pipeline.yaml against a store in
 *    which quick is built (`BENCH_QUICK_STORE`, default the project's `artifacts/`; skipped, saying
 *    how to build one, when quick is not fresh there), and `dag` and `status`, each as a fresh
 *    `deno run` minus `deno eval 1` (target ≤ 0.3 s). `bench/pipeline.ts startup` runs only these.
 *
 * Everything is generated in a temp dir and deleted afterwards.
 * `deno run -A bench/pipeline.ts` runs it; `bench/pipeline.ts cli ...` is the toy CLI it times.
 * @module
 */
import { main } from "../pipeline/cli.ts";
import { topoOrder, upstreamClosure } from "../pipeline/dag.ts";
import { scheduleStages } from "../pipeline/schedule.ts";
import { parsePipeline, type Pipeline } from "../pipeline/spec.ts";
import process from "node:process";
import { sha256File } from "../pipeline/hash.ts";
import type { Registry, StageKind } from "../pipeline/types.ts";

const MiB = 1 << 20;

/** Writes `mib` MiB of seeded bytes to `data.bin`. */
const blob: StageKind = {
  name: "blob",
  description: "writes a large file",
  module: import.meta.url,
  params: { mib: { type: "integer" }, seed: { type: "integer", default: 0 } },
  outputs: ["data.bin"],
  async run(ctx) {
    const chunk = new Uint8Array(MiB);
    let x = (ctx.params.seed as number) * 2654435761 + 1;
    for (let i = 0; i < chunk.length; i += 4) {
      x = (x * 1103515245 + 12345) >>> 0;
      chunk[i] = x & 255;
      chunk[i + 1] = (x >>> 8) & 255;
      chunk[i + 2] = (x >>> 16) & 255;
      chunk[i + 3] = x >>> 24;
    }
    using f = await Deno.open(ctx.out("data.bin"), { write: true, create: true });
    for (let m = 0; m < (ctx.params.mib as number); m++) {
      chunk[0] = m & 255;
      let off = 0;
      while (off < chunk.length) off += await f.write(chunk.subarray(off));
    }
  },
};

/** Writes a small summary of its inputs (sizes only: it never reads the big files). */
const summary: StageKind = {
  name: "summary",
  description: "summarises inputs",
  module: import.meta.url,
  inputs: "any",
  params: { i: { type: "integer" } },
  outputs: ["summary.json"],
  async run(ctx) {
    const sizes: Record<string, number> = {};
    for (const [a, p] of Object.entries(ctx.inputs)) sizes[a] = (await Deno.stat(p)).size;
    await Deno.writeTextFile(ctx.out("summary.json"), JSON.stringify({ i: ctx.params.i, sizes }));
  },
};

/** The bench kinds. */
export const registry: Registry = new Map([[blob.name, blob], [summary.name, summary]]);

/** A 50-stage pipeline: 8 blobs of 128 MiB, 40 summaries, 2 joins. */
export function benchPipeline(): string {
  const lines = [
    "stages:",
    "  blob-{i}:",
    "    uses: blob",
    "    matrix: { i: [0, 1, 2, 3, 4, 5, 6, 7] }",
  ];
  lines.push('    with: { mib: 128, seed: "${{ matrix.i }}" }');
  for (let i = 0; i < 40; i++) {
    lines.push(`  sum-${i}:`, "    uses: summary", `    with: { i: ${i} }`);
    lines.push(`    inputs: { a: blob-${i % 8}/data.bin, b: blob-${(i + 3) % 8} }`);
  }
  for (let j = 0; j < 2; j++) {
    const ins = Array.from({ length: 20 }, (_, k) => `s${k}: sum-${j * 20 + k}`).join(", ");
    lines.push(`  join-${j}:`, "    uses: summary", `    with: { i: ${100 + j} }`);
    lines.push(`    inputs: { ${ins} }`);
  }
  return lines.join("\n") + "\n";
}

/**
 * `n` explicit stage entries: a chain (`s-i` reads `s-(i-1)`), every 10th also reads a glob of
 * its decade, and a join reads every stage through one glob; targets by glob.
 */
export function entriesPipeline(n: number): string {
  const lines = ["stages:"];
  for (let i = 0; i < n; i++) {
    lines.push(`  s-${i}:`, "    uses: summary", `    with: { i: ${i} }`);
    const ins = [];
    if (i > 0) ins.push(`prev: s-${i - 1}`);
    if (i % 10 === 9 && i > 9) ins.push(`decade: "s-${Math.floor(i / 10)}?"`);
    if (ins.length) lines.push(`    inputs: { ${ins.join(", ")} }`);
  }
  lines.push("  join:", "    uses: summary", "    with: { i: -1 }", '    inputs: { all: "s-*" }');
  lines.push("targets:", '  some: ["s-1*"]', "  top: [join]", "default: top");
  return lines.join("\n") + "\n";
}

/** A matrix of `a × b` stages, one gather per `a` (a capture pattern), one join over the gathers. */
export function matrixPipeline(a: number, b: number): string {
  const list = (k: number) => `[${Array.from({ length: k }, (_, i) => i).join(", ")}]`;
  return [
    "stages:",
    "  m-{a}-{b}:",
    "    uses: summary",
    `    matrix: { a: ${list(a)}, b: ${list(b)} }`,
    '    with: { i: "${{ matrix.b }}" }',
    "  g-{a}:",
    "    uses: summary",
    `    matrix: { a: ${list(a)} }`,
    '    with: { i: "${{ matrix.a }}" }',
    '    inputs: { "part-{b}": "m-{a}-{b}" }',
    "  all:",
    "    uses: summary",
    "    with: { i: -1 }",
    '    inputs: { g: "g-*" }',
    "targets:",
    "  top: [all]",
    "",
  ].join("\n");
}

/** Wall and CPU time (user + system, this process) of the best of `k` runs of `f`, in ms. */
function bestOf(k: number, f: () => void): { wall: number; cpu: number } {
  let best = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < k; i++) {
    const t = performance.now(), c = process.cpuUsage();
    f();
    const wall = performance.now() - t, used = process.cpuUsage(c);
    if (wall < best.wall) best = { wall, cpu: (used.user + used.system) / 1000 };
  }
  return best;
}

/** {@link bestOf} for an async `f`. */
async function bestOfAsync(
  k: number,
  f: () => Promise<void>,
): Promise<{ wall: number; cpu: number }> {
  let best = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < k; i++) {
    const t = performance.now(), c = process.cpuUsage();
    await f();
    const wall = performance.now() - t, used = process.cpuUsage(c);
    if (wall < best.wall) best = { wall, cpu: (used.user + used.system) / 1000 };
  }
  return best;
}

/** `1234 ms wall (1100 ms CPU)`: on a shared box the CPU time is the steadier figure. */
function fmtTime(t: { wall: number; cpu: number }): string {
  return `${t.wall.toFixed(0)} ms wall (${t.cpu.toFixed(0)} ms CPU)`;
}

/** The engine-scaling figures of issue 14 (spec phases, DAG and scheduler; no store, no runner). */
export async function benchScaling(): Promise<void> {
  const options = { file: "bench.yaml", registry };
  for (const [n, what, target] of [[10_000, "validate", 3000], [32_768, "parse", 0]] as const) {
    const text = entriesPipeline(n);
    let stages = 0;
    const t = bestOf(3, () => (stages = parsePipeline(text, options).stages.size));
    console.log(
      `${what} a ${n}-entry pipeline.yaml (${
        (text.length / 1e6).toFixed(1)
      } MB, ${stages} stages, ` +
        `chain depth ${n}, ${Math.floor(n / 10) - 1} glob inputs): ${fmtTime(t)}${
          target ? ` (target ≤ ${target} ms wall: ${t.wall <= target ? "met" : "NOT met"})` : ""
        }`,
    );
  }
  const text = matrixPipeline(1000, 100);
  let pipeline: Pipeline | undefined;
  const parse = bestOf(2, () => (pipeline = parsePipeline(text, options)));
  const p = pipeline!;
  let order: string[] = [];
  const sched = bestOf(3, () => {
    order = topoOrder(p.graph, { only: upstreamClosure(p.graph, p.targets.get("top")!) });
  });
  // The runner's scheduler (pipeline/run.ts → scheduleStages) over stages that finish at once:
  // what scheduling costs beyond the stages' own work (keys, store lookups).
  const jobs = 4;
  let ran = 0;
  const run = bestOfAsync(3, async () => {
    ran = 0;
    await scheduleStages(order, p.graph, {
      jobs,
      results: new Map<string, number>(),
      run: () => Promise.resolve(++ran),
      unreachable: () => -1,
    });
  });
  const runner = await run;
  const total = parse.wall + sched.wall + runner.wall;
  console.log(
    `100k-stage matrix (1000 × 100, 1000 capture-pattern gathers, one join): ${p.stages.size} ` +
      `stages; expand + validate ${
        fmtTime(parse)
      }; closure + topological order of ${order.length} ` +
      `stages ${fmtTime(sched)}; the runner's scheduler (--jobs ${jobs}) starting ${ran} stages ` +
      `${fmtTime(runner)}; total ${total.toFixed(0)} ms wall, ${
        (parse.cpu + sched.cpu + runner.cpu).toFixed(0)
      } ms CPU (target ≤ 5000 ms wall: ${total <= 5000 ? "met" : "NOT met"})`,
  );
}

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs `deno <args>` from the project root; returns its wall ms and stdout (throws on failure). */
async function denoRun(args: string[]): Promise<[number, string]> {
  const t = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const ms = performance.now() - t;
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `deno ${args.join(" ")}: exit ${out.code}\n${text}\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return [ms, text];
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Start-up (issue 14): fresh `deno run -A cli.ts` processes against the real pipeline.yaml, each
 * minus `deno eval 1` (the runtime's own start), rounds interleaved so that load hits all alike.
 * The no-op `reproduce quick` needs a store in which quick is built (`BENCH_QUICK_STORE`).
 */
export async function benchStartup(rounds = 7): Promise<void> {
  const store = Deno.env.get("BENCH_QUICK_STORE") ?? `${ROOT}artifacts`;
  const empty = await Deno.makeTempDir({ prefix: "bench-startup-" });
  try {
    const [, dry] = await denoRun([
      "run",
      "-A",
      "cli.ts",
      "reproduce",
      "quick",
      "--dry-run",
      "--artifacts",
      store,
    ]).catch((e) => [0, `(failed: ${e})`] as [number, string]);
    const cached = Number(/(\d+) cached/.exec(dry)?.[1] ?? 0);
    const fresh = cached > 0 && !/^would /m.test(dry) && !/failed/.test(dry);
    const cmds: Record<string, string[]> = {
      "deno eval 1": ["eval", "1"],
      "dag": ["run", "-A", "cli.ts", "dag"],
      "status (empty store)": ["run", "-A", "cli.ts", "status", "--artifacts", empty],
    };
    if (fresh) {
      cmds["no-op reproduce quick"] = [
        "run",
        "-A",
        "cli.ts",
        "reproduce",
        "quick",
        "--artifacts",
        store,
      ];
    }
    const times: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, args] of Object.entries(cmds)) {
        const [ms, out] = await denoRun(args);
        if (name.startsWith("no-op") && !new RegExp(`${cached} cached`).test(out)) {
          throw new Error(`not a no-op run:\n${out}`);
        }
        (times[name] ??= []).push(ms);
      }
    }
    const base = median(times["deno eval 1"]);
    console.log(
      `start-up, median of ${rounds} interleaved rounds: deno eval 1 ${base.toFixed(0)} ms`,
    );
    for (const name of Object.keys(cmds).slice(1)) {
      const m = median(times[name]);
      const over = m - base;
      console.log(
        `  ${name}: ${m.toFixed(0)} ms, ${over.toFixed(0)} ms over deno eval 1${
          name.startsWith("no-op")
            ? ` (${cached} stages cached; target ≤ 300 ms: ${over <= 300 ? "met" : "NOT met"})`
            : ""
        }`,
      );
    }
    if (!fresh) {
      console.log(
        `  no-op reproduce quick: not measured: quick is not built in ${store}; build it with ` +
          `\`deno run -A cli.ts reproduce quick --artifacts DIR\` and rerun with BENCH_QUICK_STORE=DIR`,
      );
    }
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

/** Runs both benchmarks and prints the figures. */
export async function bench(): Promise<void> {
  await benchScaling();
  await benchStartup();
  const dir = await Deno.makeTempDir({ prefix: "bench-pipeline-" });
  try {
    const pipeline = `${dir}/pipeline.yaml`;
    const artifacts = `${dir}/artifacts`;
    await Deno.writeTextFile(pipeline, benchPipeline());
    const args = ["reproduce", "--pipeline", pipeline, "--artifacts", artifacts];
    const quiet = { registry, stdout: () => {}, stderr: () => {}, tty: false };
    const [code, build] = await timed(() => main([...args, "--jobs", "2"], quiet));
    if (code !== 0) throw new Error(`bench pipeline failed to build (exit ${code})`);
    console.log(
      `pipeline: 50 stages, 8 × 128 MiB = 1 GiB of inputs; first build ${
        (build / 1000).toFixed(1)
      } s`,
    );
    const inproc: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [c, ms] = await timed(() => main(args, quiet));
      if (c !== 0) throw new Error("no-op reproduce failed");
      inproc.push(ms);
    }
    const sub: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [out, ms] = await timed(() =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, "cli", ...args],
          stdout: "piped",
          stderr: "piped",
        }).output()
      );
      if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
      const text = new TextDecoder().decode(out.stdout);
      if (!/ok: 50 cached/.test(text)) throw new Error(`not a no-op run:\n${text}`);
      sub.push(ms);
    }
    const min = (a: number[]) => Math.min(...a);
    console.log(
      `no-op reproduce, in-process: best ${
        min(inproc).toFixed(0)
      } ms of ${inproc.length} (target < 500 ms)`,
    );
    console.log(
      `no-op reproduce, fresh \`deno run\` process: best ${
        min(sub).toFixed(0)
      } ms of ${sub.length} (target < 500 ms)`,
    );
    const [, verify] = await timed(() => main([...args, "--verify"], quiet));
    console.log(`reproduce --verify (rehash all 1 GiB): ${(verify / 1000).toFixed(2)} s`);
    await Deno.remove(artifacts, { recursive: true });

    // hashing throughput on one 1 GiB file
    const file = `${dir}/one-gib.bin`;
    {
      const chunk = new Uint8Array(MiB);
      for (let o = 0; o < MiB; o += 65536) crypto.getRandomValues(chunk.subarray(o, o + 65536));
      using f = await Deno.open(file, { write: true, create: true });
      for (let m = 0; m < 1024; m++) {
        chunk[0] = m & 255;
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
      }
    }
    const ours: number[] = [], theirs: number[] = [];
    let same = true;
    for (let i = 0; i < 3; i++) {
      const [d, ms] = await timed(() => sha256File(file));
      ours.push(ms);
      const [out, ms2] = await timed(() =>
        new Deno.Command("sha256sum", { args: [file], stdout: "piped" }).output()
      );
      theirs.push(ms2);
      same &&= new TextDecoder().decode(out.stdout).split(" ")[0] === d.sha256;
    }
    const gib = (ms: number) => (1024 / ms) * 1000;
    console.log(
      `sha256 of 1 GiB: engine ${min(ours).toFixed(0)} ms (${gib(min(ours)).toFixed(0)} MiB/s), ` +
        `sha256sum ${min(theirs).toFixed(0)} ms (${gib(min(theirs)).toFixed(0)} MiB/s): ` +
        `${(min(theirs) / min(ours)).toFixed(2)}× of sha256sum (target ≥ 0.8×); digests ${
          same ? "agree" : "DIFFER"
        }`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "cli") Deno.exit(await main(Deno.args.slice(1), { registry }));
  else if (Deno.args[0] === "scaling") await benchScaling();
  else if (Deno.args[0] === "startup") await benchStartup();
  else await bench();
}
