/**
 * DSE training throughput on every tfjs backend that loads here: the paper's model (d = 2048,
 * Wikipedia-sized inputs: 128-d image and 10-d text features, 10 classes, batches of 16 images
 * + 16 texts), trained on synthetic rows. Prints samples/s (images + texts per second), measured
 * on the epochs after the first (warm-up), and, on the wasm backend, the ratio to PyTorch on the
 * same model and recipe (`bench/dse_reference.py`, CPU, one thread) when `python3` has `torch`.
 *
 * The wasm figure and PyTorch's are taken twice each, alternating (ours, theirs, ours, theirs),
 * and the better of each is compared: on a shared machine that keeps a burst of load on one side
 * from deciding the ratio.
 *
 * Environment: `DSE_BENCH_ROWS` (640), `DSE_BENCH_EPOCHS` (3), `DSE_BENCH_BACKENDS` (a comma list;
 * default every backend), `OPENBLAS_NUM_THREADS` (set to 1 here unless given, as PyTorch's one
 * thread).
 * @module
 */
import { BACKEND_ORDER, selectBackend } from "../stages/nn/backend.ts";
import { DSE_PARAMS, type DseData, type DseParams, trainDse } from "../stages/dse/train.ts";
import { matmulProvider } from "../stages/linalg/sgemm.ts";
import { Rng } from "../stages/util/rng.ts";

function synthetic(n: number): DseData {
  const rng = new Rng(0);
  const y = Int32Array.from({ length: n }, (_, i) => i % 10);
  const rows = (p: number) => ({
    data: Float32Array.from({ length: n * p }, () => rng.next()),
    shape: [n, p],
  });
  return {
    imgTrain: rows(128),
    imgTest: rows(128),
    txtTrain: rows(10),
    txtTest: rows(10),
    yTrain: y,
    yTest: y,
    numClasses: 10,
  };
}

/** samples/s of our training on the active backend (epochs after the first). */
async function ours(data: DseData, p: Record<string, unknown>, loss: string): Promise<number> {
  const scratch = await Deno.makeTempDir({ prefix: "bench-dse-" });
  try {
    const res = await trainDse(data, { ...p, loss } as DseParams, { scratch });
    const warm = res.history.slice(1);
    const secs = warm.reduce((s, h) => s + h.seconds, 0);
    return (2 * data.yTrain.length * warm.length) / secs;
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

/** PyTorch's samples/s per loss, or why there is none. */
async function pytorch(rows: number, epochs: number): Promise<Record<string, number> | string> {
  try {
    const script = new URL("./dse_reference.py", import.meta.url).pathname;
    const r = await new Deno.Command("python3", {
      args: [script, String(rows), String(epochs), "1"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").pop();
    if (!r.success) return `PyTorch reference not available (${err})`;
    const out: Record<string, number> = {};
    for (const line of new TextDecoder().decode(r.stdout).trim().split("\n")) {
      const row = JSON.parse(line);
      out[row.loss] = row.samples_per_s;
    }
    return out;
  } catch (e) {
    return `PyTorch reference not available (${(e as Error).message.split("\n")[0]})`;
  }
}

/** Print DSE training samples/s per backend, and wasm's ratio to PyTorch. */
export async function bench(): Promise<void> {
  if (Deno.env.get("OPENBLAS_NUM_THREADS") === undefined) {
    Deno.env.set("OPENBLAS_NUM_THREADS", "1");
  }
  const n = Number(Deno.env.get("DSE_BENCH_ROWS") ?? 640);
  const epochs = Number(Deno.env.get("DSE_BENCH_EPOCHS") ?? 3);
  const only = Deno.env.get("DSE_BENCH_BACKENDS")?.split(",");
  const data = synthetic(n);
  const p: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(DSE_PARAMS)) p[k] = (s as { default?: unknown }).default;
  p.epochs = epochs;
  const losses = ["s", "ds"] as const;
  console.log(`DSE training, d=2048, batch 32 (16+16), ${n} pairs/epoch, ${epochs} epochs`);
  for (const name of BACKEND_ORDER) {
    if (only && !only.includes(name)) continue;
    let info;
    try {
      info = await selectBackend(name, { log: () => {} });
    } catch (e) {
      console.log(`  ${name.padEnd(9)} not available: ${(e as Error).message.split(". ")[0]}`);
      continue;
    }
    const detail = info.details.adapter
      ? ` (${info.details.adapter})`
      : name === "wasm"
      ? ` (products: ${matmulProvider()})`
      : "";
    if (name !== "wasm") {
      for (const loss of losses) {
        const perSec = await ours(data, p, loss);
        console.log(
          `  ${name.padEnd(9)} dse-${loss.padEnd(2)} ${
            perSec.toFixed(0).padStart(7)
          } samples/s${detail}`,
        );
      }
      continue;
    }
    // wasm against PyTorch, alternating, the better of two each.
    const best: Record<string, { ours: number; torch?: number }> = {};
    let why = "";
    for (let round = 0; round < 2; round++) {
      for (const loss of losses) {
        best[loss] = {
          ...best[loss],
          ours: Math.max(best[loss]?.ours ?? 0, await ours(data, p, loss)),
        };
      }
      const ref = await pytorch(n, epochs);
      if (typeof ref === "string") why = ref;
      else {
        for (const loss of losses) {
          best[loss].torch = Math.max(best[loss].torch ?? 0, ref[loss]);
        }
      }
    }
    for (const loss of losses) {
      const { ours: o, torch: t } = best[loss];
      const vs = t
        ? `  PyTorch ${t.toFixed(0)} samples/s (1 thread): ratio ${
          (o / t).toFixed(2)
        }× (target ≥ 0.7×)`
        : `  ${why}`;
      console.log(
        `  ${name.padEnd(9)} dse-${loss.padEnd(2)} ${
          o.toFixed(0).padStart(7)
        } samples/s${detail}${vs}`,
      );
    }
  }
}

if (import.meta.main) await bench();
