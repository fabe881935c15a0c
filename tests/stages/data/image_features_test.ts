import assert from "node:assert/strict";
import type { StageContext } from "../../../pipeline/types.ts";
import {
  extractFeatures,
  imageFeaturesKind,
  type ImageFeaturesParams,
} from "../../../stages/data/image_features.ts";
import { resnetExtractor } from "../../../stages/nn/extractor.ts";
import {
  detectKerasNaming,
  randomResNetWeights,
  type ResNetConfig,
} from "../../../stages/nn/resnet.ts";
import { rawDatasetKind } from "../../../stages/data/datasets.ts";
import { readNpy } from "../../../stages/tensor_io/npy.ts";
import { writeKerasH5, writeWikiFixture } from "../../helpers/fixtures_raw.ts";
import { runKind } from "../../helpers/stage_context.ts";

const SMALL: ResNetConfig = {
  stemFilters: 4,
  stages: [{ blocks: 1, filters: [2, 2, 6], stride: 1 }, {
    blocks: 1,
    filters: [3, 3, 5],
    stride: 2,
  }],
  naming: "legacy",
  epsilon: 1e-3,
  poolPad: false,
  inChannels: 3,
};
const SIZE = 24;

async function setup() {
  const root = await Deno.makeTempDir();
  await writeWikiFixture(root, { train: 7, test: 3 });
  const ds = await runKind(rawDatasetKind, { inputs: { root }, params: { dataset: "wiki" } });
  const wdir = await Deno.makeTempDir();
  const bytes = await writeKerasH5(randomResNetWeights(SMALL, 4), SMALL);
  await Deno.writeFile(`${wdir}/w.h5`, bytes);
  return { root, dataset: ds.dir, weights: wdir, bytes };
}

const params = { weights: "w.h5", architecture: SMALL, size: SIZE, batch: 2 };

function ctxFor(
  inputs: Record<string, string>,
  dir: string,
  scratch: string,
  onProgress: (d: number) => void,
  signal: AbortSignal,
  logs: string[],
): StageContext<ImageFeaturesParams> {
  const p: ImageFeaturesParams = { model: "resnet50", kernel: "linear", ...params };
  return {
    name: "t",
    params: p,
    inputs,
    out: (n) => `${dir}/${n}`,
    scratch,
    progress: (d) => onProgress(d),
    log: (m) => void logs.push(m),
    signal,
    env: { backend: "cpu" },
    provenance: {},
    options: {},
  };
}

Deno.test("image-features: a killed run resumes where it stopped and gives the same rows", async () => {
  const s = await setup();
  const inputs = { dataset: s.dataset, root: s.root, weights: s.weights };
  const full = await runKind(imageFeaturesKind, { inputs, params, env: { backend: "cpu" } });
  const want = await readNpy(`${full.dir}/img_train.npy`);
  assert.deepStrictEqual(want.shape, [7, 5]);
  assert.strictEqual(want.dtype, "<f4");
  const test = await readNpy(`${full.dir}/img_test.npy`);
  assert.deepStrictEqual(test.shape, [3, 5]);
  const meta = JSON.parse(await Deno.readTextFile(`${full.dir}/features.json`));
  assert.ok(!("seconds" in meta), "no wall time in the object (it must follow its key)");
  assert.strictEqual(
    typeof (full.provenance.imageFeatures as { seconds: number }).seconds,
    "number",
  );

  const scratch = await Deno.makeTempDir();
  const out1 = await Deno.makeTempDir();
  const ac = new AbortController();
  const logs: string[] = [];
  let calls = 0;
  await assert.rejects(() =>
    imageFeaturesKind.run(
      ctxFor(
        inputs,
        out1,
        scratch,
        () => {
          if (++calls === 2) ac.abort(new Error("killed"));
        },
        ac.signal,
        logs,
      ),
    ), /killed/);
  const state = JSON.parse(await Deno.readTextFile(`${scratch}/train.json`));
  assert.strictEqual(state.done, 4);
  // A partial write after the last complete batch must be discarded.
  const f = await Deno.open(`${scratch}/train.f32`, { append: true });
  await f.write(new Uint8Array(7));
  f.close();
  const out2 = await Deno.makeTempDir();
  const seen: number[] = [];
  await imageFeaturesKind.run(
    ctxFor(inputs, out2, scratch, (d) => seen.push(d), new AbortController().signal, logs),
  );
  assert.ok(logs.includes("resuming at row 4 of 7"), logs.join("\n"));
  assert.strictEqual(seen[0], 6, "first progress after resume is row 6 of train");
  assert.deepStrictEqual((await readNpy(`${out2}/img_train.npy`)).data, want.data);
  assert.deepStrictEqual((await readNpy(`${out2}/img_test.npy`)).data, test.data);
});

Deno.test("image-features: rows equal a direct forward pass; scratch of another job is ignored", async () => {
  const s = await setup();
  assert.strictEqual(await detectKerasNaming(s.bytes), "legacy");
  const ex = await resnetExtractor(s.bytes, { config: SMALL, inputSize: SIZE });
  const items = JSON.parse(await Deno.readTextFile(`${s.dataset}/items.json`));
  const paths: string[] = items.train.map((i: { image: string }) => `${s.root}/${i.image}`);
  const scratch = `${await Deno.makeTempDir()}/x`;
  await Deno.writeTextFile(`${scratch}.json`, JSON.stringify({ job: { n: 1 }, done: 5 }));
  const logs: string[] = [];
  const all = await extractFeatures(paths, ex, { scratch, batch: 3, log: (m) => logs.push(m) });
  assert.match(logs.join("\n"), /another job; starting over/);
  const one = await extractFeatures([paths[4]], ex, { scratch: `${scratch}-one`, batch: 1 });
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(one[j] - all[4 * 5 + j]) < 1e-5);
  ex.dispose();
});
