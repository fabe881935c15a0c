/**
 * Benchmark of the raw-data path: images/s for decode + centre crop + resize (sharp), ResNet-50
 * forward images/s on each tfjs backend that loads (random weights, 224×224), and LDA Gibbs sweeps
 * per second at the Wikipedia size (2866 documents, K = 10).
 *
 * Run: `deno run -A bench/raw.ts` (env `BENCH_RESNET_BACKENDS=cpu,wasm` picks the backends).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { fitLda } from "../stages/data/lda.ts";
import { mulberry32 } from "../stages/util/rng.ts";
import { caffePreprocess, decodeSquare } from "../stages/data/images.ts";
import { buildResNet, randomResNetWeights, RESNET50_LEGACY } from "../stages/nn/resnet.ts";
import { selectBackend } from "../stages/nn/backend.ts";

async function benchImages(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bench-raw-" });
  const paths: string[] = [];
  const n = 48;
  for (let i = 0; i < n; i++) {
    const [w, h] = i % 2 === 0 ? [500, 375] : [375, 500];
    const px = new Uint8Array(w * h * 3);
    const r = mulberry32(i);
    for (let k = 0; k < px.length; k++) px[k] = (k % 255 + r() * 40) | 0;
    const p = `${dir}/${i}.jpg`;
    await Deno.writeFile(
      p,
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg().toBuffer(),
    );
    paths.push(p);
  }
  await decodeSquare(paths[0]);
  let t = performance.now();
  for (const p of paths) caffePreprocess(await decodeSquare(p));
  const seq = (performance.now() - t) / 1000;
  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < n) caffePreprocess(await decodeSquare(paths[next++]));
  }));
  const par = (performance.now() - t) / 1000;
  console.log(
    `images: decode+crop+resize 224 + caffe preprocess, 500x375 JPEGs: ` +
      `${(n / seq).toFixed(1)} img/s sequential (${(1000 * seq / n).toFixed(1)} ms/img), ` +
      `${(n / par).toFixed(1)} img/s with 4 in flight`,
  );
  await Deno.remove(dir, { recursive: true });
}

function benchLda(): void {
  const D = 2866;
  const V = 5000;
  const K = 10;
  const len = 200;
  const r = mulberry32(1);
  const words = new Int32Array(D * len);
  for (let i = 0; i < words.length; i++) words[i] = Math.min(V - 1, Math.floor(V * r() ** 3));
  const offsets = Int32Array.from({ length: D + 1 }, (_, d) => d * len);
  const sweeps = 20;
  const t = performance.now();
  fitLda({ words, offsets, vocabSize: V }, { topics: K, sweeps, seed: 0 });
  const s = (performance.now() - t) / 1000 / sweeps;
  console.log(
    `lda: ${D} docs × ${len} tokens, V=${V}, K=${K}: ${s.toFixed(3)} s/sweep ` +
      `(${(1 / s).toFixed(1)} sweeps/s, ${((D * len) / s / 1e6).toFixed(2)} M tokens/s)`,
  );
}

async function benchResNet(): Promise<void> {
  const wanted = (Deno.env.get("BENCH_RESNET_BACKENDS") ?? "wasm,cpu").split(",");
  const weights = randomResNetWeights(RESNET50_LEGACY, 1);
  for (const name of wanted) {
    try {
      const info = await selectBackend(name, { log: () => {} });
      const model = buildResNet(weights, { config: RESNET50_LEGACY, trainable: false });
      const batch = name === "cpu" ? 1 : 4;
      const x = tf.randomNormal([batch, 224, 224, 3], 0, 50) as tf.Tensor4D;
      const warm = model.apply(x);
      await warm.data();
      warm.dispose();
      const reps = name === "cpu" ? 1 : 2;
      const t = performance.now();
      for (let i = 0; i < reps; i++) {
        const y = model.apply(x);
        await y.data();
        y.dispose();
      }
      const s = (performance.now() - t) / 1000;
      console.log(
        `resnet50 forward (${info.name}, batch ${batch}): ${((batch * reps) / s).toFixed(2)} img/s`,
      );
      x.dispose();
      model.dispose();
    } catch (e) {
      console.log(`resnet50 forward (${name}): backend unavailable: ${(e as Error).message}`);
    }
  }
}

/** Print the raw-path figures. */
export async function bench(): Promise<void> {
  await benchImages();
  benchLda();
  await benchResNet();
}

if (import.meta.main) await bench();
