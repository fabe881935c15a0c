/**
 * DSE training throughput on every tfjs backend that loads here: the paper's model (d = 2048,
 * Wikipedia-sized inputs: 128-d image and 10-d text features, 10 classes, batches of 16 images
 * + 16 texts), trained on synthetic rows. Prints samples/s (images + texts per second), measured
 * on the epochs after the first (warm-up).
 * @module
 */
import { BACKEND_ORDER, selectBackend } from "../stages/nn/backend.ts";
import { DSE_PARAMS, type DseData, type DseParams, trainDse } from "../stages/dse/train.ts";
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

/** Print DSE training samples/s per backend. */
export async function bench(): Promise<void> {
  const n = Number(Deno.env.get("DSE_BENCH_ROWS") ?? 640);
  const epochs = Number(Deno.env.get("DSE_BENCH_EPOCHS") ?? 3);
  const data = synthetic(n);
  const p: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(DSE_PARAMS)) p[k] = (s as { default?: unknown }).default;
  console.log(`DSE training, d=2048, batch 32 (16+16), ${n} pairs/epoch, ${epochs} epochs`);
  for (const name of BACKEND_ORDER) {
    let info;
    try {
      info = await selectBackend(name, { log: () => {} });
    } catch (e) {
      console.log(`  ${name.padEnd(9)} not available: ${(e as Error).message.split(". ")[0]}`);
      continue;
    }
    for (const loss of ["s", "ds"] as const) {
      const scratch = await Deno.makeTempDir({ prefix: "bench-dse-" });
      try {
        const res = await trainDse(data, { ...p, loss, epochs } as DseParams, { scratch });
        const warm = res.history.slice(1);
        const secs = warm.reduce((s, h) => s + h.seconds, 0);
        const perSec = (2 * n * warm.length) / secs;
        const detail = info.details.adapter ? ` (${info.details.adapter})` : "";
        console.log(
          `  ${name.padEnd(9)} dse-${loss.padEnd(2)} ${perSec.toFixed(0).padStart(7)} samples/s  ` +
            `${(secs / warm.length).toFixed(2)} s/epoch${detail}`,
        );
      } finally {
        await Deno.remove(scratch, { recursive: true });
      }
    }
  }
}

if (import.meta.main) await bench();
