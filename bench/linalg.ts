/**
 * Benchmark of the linear algebra behind the baselines, per available backend (`lapack`: the
 * system LAPACK/BLAS through FFI; `typescript`: the fallback), against numpy/scipy on the very
 * same matrices when `python3` has them (written to a temporary directory as `.npy`):
 * - symmetric eigendecomposition with vectors at 512², 1000², 2048² (scipy `eigh`);
 * - the paper target's PCA-1000 of 4096-d fc6-like features of 2173 rows, the Gram path
 *   (numpy `Xc Xcᵀ` + scipy `eigh(subset_by_index)` for the top 1000 + `Xcᵀ U`);
 * - and, for scale, the small problems of the quick target (symEig 128², genSymEig 138²).
 *
 * Each line prints the time and the ratio to scipy; the targets are LAPACK ≤ 1.5× and
 * the fallback ≤ 5× scipy (read off, never asserted). `DSE_BENCH_LINALG_QUICK=1` skips the
 * fallback's 2048² and PCA lines (about a minute and a half on 2 cores).
 *
 * Run: `deno task bench linalg` (or `deno run -A bench/linalg.ts`).
 * @module
 */
import { fitPca } from "../stages/baselines/preprocess.ts";
import {
  crossprod,
  genSymEig,
  linalgBackend,
  type LinalgBackendName,
  type Matrix,
  symEig,
  useLinalgBackend,
  zeros,
} from "../stages/linalg/mod.ts";
import { loadLapack } from "../stages/linalg/lapack.ts";
import { writeMatrix } from "../stages/tensor_io/npy.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomSymmetric(n: number, rand: () => number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = rand() - 0.5;
      m.data[i * n + j] = v;
      m.data[j * n + i] = v;
    }
  }
  return m;
}

function randomSpd(n: number, rand: () => number): Matrix {
  const g = zeros(2 * n, n);
  for (let i = 0; i < g.data.length; i++) g.data[i] = rand() - 0.5;
  const b = crossprod(g, g);
  for (let i = 0; i < n; i++) b.data[i * n + i] += 1e-3;
  return b;
}

/** Median milliseconds of `reps` runs (after one warm-up run when `warmUp`). */
function time(reps: number, f: () => void, warmUp: boolean): number {
  if (warmUp) f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

const PYTHON = `
import sys, time, json
import numpy as np
try:
    import scipy.linalg as sl
except Exception:
    print(json.dumps({"error": "scipy not importable"})); sys.exit(0)
d = sys.argv[1]
out = {}
def med(f, reps):
    f(); ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort(); return 1000 * ts[len(ts) // 2]
for n in [128, 512, 1000, 2048]:
    a = np.load(f"{d}/sym{n}.npy")
    out[f"eigh{n}"] = med(lambda: sl.eigh(a), 5 if n <= 1000 else 3)
a = np.load(f"{d}/gen_a.npy"); b = np.load(f"{d}/gen_b.npy")
out["geneigh138"] = med(lambda: sl.eigh(a, b + 1e-3 * np.eye(len(b))), 10)
x = np.load(f"{d}/pca_x.npy")
def pca():
    xc = x - x.mean(0)
    g = xc @ xc.T / (len(x) - 1)
    n = len(g)
    w, u = sl.eigh(g, subset_by_index=[n - 1000, n - 1])
    ax = xc.T @ u[:, ::-1]
    ax /= np.linalg.norm(ax, axis=0)
    return ax
out["pca"] = med(pca, 3)
print(json.dumps(out))
`;

/** scipy's times (ms) on the matrices in `dir`, or a reason why there are none. */
async function scipyTimes(dir: string): Promise<Record<string, number> | string> {
  try {
    const r = await new Deno.Command("python3", {
      args: ["-c", PYTHON, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout).trim();
    if (!r.success) return `python3 failed: ${new TextDecoder().decode(r.stderr).trim()}`;
    const j = JSON.parse(text.split("\n").pop()!);
    return j.error ? String(j.error) : j;
  } catch (e) {
    return `python3 not available (${(e as Error).message.split("\n")[0]})`;
  }
}

/** Print the table of timings and ratios. */
export async function bench(): Promise<void> {
  const rand = lcg(1);
  const quick = Deno.env.get("DSE_BENCH_LINALG_QUICK") === "1";
  const sym = new Map<number, Matrix>();
  for (const n of [128, 512, 1000, 2048]) sym.set(n, randomSymmetric(n, rand));
  const genA = randomSymmetric(138, rand), genB = randomSpd(138, rand);
  const x = zeros(2173, 4096);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.max(0, rand() - 0.7); // ReLU-like

  const dir = await Deno.makeTempDir({ prefix: "dse-bench-linalg-" });
  let ref: Record<string, number> | string;
  try {
    for (const [n, m] of sym) await writeMatrix(`${dir}/sym${n}.npy`, m);
    await writeMatrix(`${dir}/gen_a.npy`, genA);
    await writeMatrix(`${dir}/gen_b.npy`, genB);
    await writeMatrix(`${dir}/pca_x.npy`, x);
    ref = await scipyTimes(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  if (typeof ref === "string") console.log(`numpy/scipy: not available (${ref})`);

  const threads = Deno.env.get("OPENBLAS_NUM_THREADS") ?? "unset (all cores)";
  console.log(
    `OPENBLAS_NUM_THREADS ${threads} (ours and numpy's); load average ` +
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ") +
      ` on ${navigator.hardwareConcurrency} cores`,
  );
  const loaded = loadLapack();
  const backends: LinalgBackendName[] = loaded.lapack ? ["lapack", "typescript"] : ["typescript"];
  if (!loaded.lapack) console.log(`lapack: not available (${loaded.tried.join("; ")})`);
  console.log(
    `${"what".padEnd(34)} ${"backend".padEnd(11)} ${"ms".padStart(9)} ${"scipy ms".padStart(9)} ` +
      `${"ratio".padStart(7)}  target`,
  );
  const line = (what: string, backend: LinalgBackendName, ms: number, key: string) => {
    const r = typeof ref === "string" ? undefined : ref[key];
    const ratio = r ? ms / r : undefined;
    const target = backend === "lapack" ? 1.5 : 5;
    console.log(
      `${what.padEnd(34)} ${backend.padEnd(11)} ${ms.toFixed(1).padStart(9)} ` +
        `${(r?.toFixed(1) ?? "n/a").padStart(9)} ` +
        `${(ratio ? ratio.toFixed(2) + "×" : "n/a").padStart(7)}  ≤ ${target}×` +
        (ratio ? (ratio <= target ? " met" : " NOT met") : ""),
    );
  };
  for (const backend of backends) {
    const prev = useLinalgBackend(backend);
    try {
      const lib = linalgBackend().library;
      if (lib) console.log(`(${backend}: ${lib})`);
      for (const [n, a] of sym) {
        if (quick && backend === "typescript" && n > 1000) continue;
        const reps = n <= 512 ? 5 : n <= 1000 ? 3 : 1;
        line(
          `eigh ${n}×${n} (symEig)`,
          backend,
          time(reps, () => void symEig(a), n <= 1000),
          `eigh${n}`,
        );
      }
      line(
        "generalised eigh 138×138 (genSymEig)",
        backend,
        time(10, () => void genSymEig(genA, genB, { reg: 1e-3 }), true),
        "geneigh138",
      );
      if (!(quick && backend === "typescript")) {
        line(
          "PCA-1000 of 2173×4096 (fitPca)",
          backend,
          time(1, () => void fitPca(x, { k: 1000 }), false),
          "pca",
        );
      }
    } finally {
      useLinalgBackend(prev);
    }
  }
}

if (import.meta.main) await bench();
