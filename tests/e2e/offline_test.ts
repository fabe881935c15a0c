/**
 * The offline end-to-end test of the raw-data path (issue 6), through the real engine: a generated
 * Wikipedia-layout fixture and a small Keras-layout ResNet `.h5` are served over loopback HTTP, and
 * a temporary pipeline.yaml runs download → extract → raw-dataset → lda-text + image-features →
 * raw-features → cca and train-dse (features) → evaluate, and image-tensors → train-dse
 * (end-to-end, the `.h5` as the backbone) → evaluate.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { main } from "../../pipeline/cli.ts";
import { Project } from "../../pipeline/project.ts";
import { registry as projectRegistry, runOptions } from "../../stages/mod.ts";
import { RESNET_TINY } from "../../stages/nn/resnet_backbone.ts";
import { randomResNetWeights, type ResNetConfig } from "../../stages/nn/resnet.ts";
import { readNpy } from "../../stages/tensor_io/npy.ts";
import { dirEntries, writeKerasH5, writeWikiFixture, zipBytes } from "../helpers/fixtures_raw.ts";
import { startServer } from "../helpers/http_server.ts";

Deno.test("offline end-to-end: loopback download → features → CCA, DSE (features and end-to-end) → evaluate", async () => {
  const src = await Deno.makeTempDir({ prefix: "wiki-src-" });
  await writeWikiFixture(src, { train: 12, test: 6 });
  const zip = await zipBytes(await dirEntries(src, "wikipedia_dataset/"));
  // A small ResNet of ResNet-50's structure, saved in the tf.keras layout.
  const cfg: ResNetConfig = { ...RESNET_TINY, naming: "tf2", epsilon: 1.001e-5, poolPad: true };
  const h5 = await writeKerasH5(randomResNetWeights(cfg, 3), cfg);
  await using server = startServer({
    files: { "/crossmodal/wikipedia_dataset.zip": zip, "/models/tiny_resnet.h5": h5 },
  });
  const work = await Deno.makeTempDir({ prefix: "e2e-" });
  const file = (name: string, path: string) => ({
    files: [{ name, urls: [`${server.url}${path}`], sha256: null }],
    lock: `${work}/downloads.lock.json`,
  });
  const dse = { dim: 8, batch: 4, seed: 0, stop_patience: 50, plateau_patience: 50 };
  // JSON is YAML: the pipeline is written as JSON.
  const pipeline = {
    version: 1,
    stages: {
      "wiki-zip": {
        uses: "download",
        with: file("wikipedia_dataset.zip", "/crossmodal/wikipedia_dataset.zip"),
      },
      "resnet-weights": {
        uses: "download",
        with: file("tiny_resnet.h5", "/models/tiny_resnet.h5"),
      },
      "wiki-extract": { uses: "extract", inputs: { archive: "wiki-zip/files" } },
      "wiki-raw": {
        uses: "raw-dataset",
        inputs: { root: "wiki-extract/data" },
        with: { dataset: "wiki" },
      },
      "wiki-lda": {
        uses: "lda-text",
        inputs: { dataset: "wiki-raw", root: "wiki-extract/data" },
        with: { topics: 3, sweeps: 20, foldSweeps: 10, average: 5 },
      },
      "wiki-cnn": {
        uses: "image-features",
        inputs: { dataset: "wiki-raw", root: "wiki-extract/data", weights: "resnet-weights/files" },
        with: { weights: "tiny_resnet.h5", architecture: cfg, size: 32, batch: 8 },
      },
      "wiki-feat": {
        uses: "raw-features",
        inputs: { img: "wiki-cnn", txt: "wiki-lda", dataset: "wiki-raw" },
      },
      "cca-wiki": { uses: "cca", inputs: { features: "wiki-feat" }, with: { k: 2 } },
      "dse-wiki": {
        uses: "train-dse",
        inputs: { data: "wiki-feat" },
        with: { ...dse, loss: "ds", epochs: 3, normalize: "zscore" },
      },
      "wiki-img": {
        uses: "image-tensors",
        inputs: { dataset: "wiki-raw", root: "wiki-extract/data", txt: "wiki-lda" },
        with: { size: 24, batch: 8 },
      },
      "dse-e2e-wiki": {
        uses: "train-dse",
        inputs: { data: "wiki-img", backbone: "resnet-weights/files" },
        with: { ...dse, loss: "s", epochs: 4, image_branch: "end-to-end", backbone: "resnet-tiny" },
      },
      "eval-cca": {
        uses: "evaluate",
        inputs: { emb: "cca-wiki" },
        with: { similarities: ["cosine"] },
      },
      "eval-dse": {
        uses: "evaluate",
        inputs: { emb: "dse-wiki" },
        with: { similarities: ["cosine"] },
      },
      "eval-dse-e2e": {
        uses: "evaluate",
        inputs: { emb: "dse-e2e-wiki" },
        with: { similarities: ["cosine", "euclidean"] },
      },
    },
    targets: { e2e: ["eval-cca", "eval-dse", "eval-dse-e2e"] },
    default: "e2e",
  };
  const pipelineFile = `${work}/pipeline.yaml`;
  await Deno.writeTextFile(pipelineFile, JSON.stringify(pipeline, null, 1));
  const artifacts = `${work}/artifacts`;
  const registry = projectRegistry;
  const out: string[] = [];
  const args = ["--pipeline", pipelineFile, "--artifacts", artifacts, "--backend", "wasm"];
  const code = await main(["reproduce", "e2e", ...args], {
    registry,
    runOptions,
    stdout: (s) => out.push(s),
    stderr: (s) => out.push(s),
    tty: false,
  });
  assertEquals(code, 0, out.join("\n"));

  const project = await Project.open({ registry, pipeline: pipelineFile, artifacts });
  const dir = async (name: string) => {
    const d = await project.objectDir(name);
    assert(d, `${name} has no fresh object`);
    return d;
  };
  // The two feature sets: CNN features [n, 32] and raw images [n, 24, 24, 3], same texts.
  const feat = await readNpy(`${await dir("wiki-feat")}/img_train.npy`);
  const imgs = await readNpy(`${await dir("wiki-img")}/img_test.npy`);
  assertEquals([feat.shape, imgs.shape], [[12, 32], [6, 24, 24, 3]]);
  // The end-to-end run fine-tuned the downloaded backbone, and its loss went down.
  const hist = JSON.parse(await Deno.readTextFile(`${await dir("dse-e2e-wiki")}/history.json`));
  const losses: number[] = hist.map((h: { loss: number }) => h.loss);
  assertEquals(losses.length, 4);
  assert(losses[3] < losses[0], `end-to-end loss did not decrease: ${losses}`);
  // Every evaluation produced finite mAPs in [0, 1] for both directions.
  for (const name of ["eval-cca", "eval-dse", "eval-dse-e2e"]) {
    const m = JSON.parse(await Deno.readTextFile(`${await dir(name)}/metrics.json`));
    const rows = m.rows as { i2t: number; t2i: number; avg: number; similarity: string }[];
    assertEquals(rows.length, name === "eval-dse-e2e" ? 2 : 1);
    for (const r of rows) {
      for (const v of [r.i2t, r.t2i, r.avg]) {
        assert(v > 0 && v <= 1, `${name}: ${JSON.stringify(r)}`);
      }
    }
  }
  // A second reproduce runs nothing: every object is served from the store.
  out.length = 0;
  assertEquals(
    await main(["reproduce", "e2e", ...args], {
      registry,
      runOptions,
      stdout: (s) => out.push(s),
      tty: false,
    }),
    0,
  );
  assert(!/^running /m.test(out.join("\n")), out.join("\n"));
  assert(/ok: 14 cached/.test(out.join("\n")), out.join("\n"));
});
