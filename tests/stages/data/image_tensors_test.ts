import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { rawDatasetKind } from "../../../stages/data/datasets.ts";
import { decodeImagesResumable, imageTensorsKind } from "../../../stages/data/image_tensors.ts";
import { caffePreprocess, decodeSquare } from "../../../stages/data/images.ts";
import type { RawItems } from "../../../stages/data/text.ts";
import { readLabels, readNpy, writeNpy } from "../../../stages/tensor_io/npy.ts";
import { writeWikiFixture } from "../../helpers/fixtures_raw.ts";
import { runKind } from "../../helpers/stage_context.ts";

async function wikiDataset(train: number, test: number) {
  const root = await Deno.makeTempDir({ prefix: "wiki-root-" });
  await writeWikiFixture(root, { train, test });
  const ds = await runKind(rawDatasetKind, { inputs: { root }, params: { dataset: "wiki" } });
  const items = JSON.parse(await Deno.readTextFile(`${ds.dir}/items.json`)) as RawItems;
  return { root, ds: ds.dir, items };
}

async function textDir(train: number, test: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "txt-" });
  for (const [split, n] of [["train", train], ["test", test]] as const) {
    const data = Float32Array.from({ length: n * 3 }, (_, i) => i + (split === "test" ? 100 : 0));
    await writeNpy(`${dir}/txt_${split}.npy`, data, [n, 3]);
  }
  return dir;
}

Deno.test("image-tensors: caffe-preprocessed [n,H,W,3] images, texts and labels as a Feature set", async () => {
  const { root, ds, items } = await wikiDataset(5, 3);
  const txt = await textDir(5, 3);
  const run = await runKind(imageTensorsKind, {
    inputs: { dataset: ds, root, txt },
    params: { size: 16, batch: 2 },
  });
  const a = await readNpy(`${run.dir}/img_train.npy`);
  const b = await readNpy(`${run.dir}/img_test.npy`);
  assertEquals([a.shape, b.shape], [[5, 16, 16, 3], [3, 16, 16, 3]]);
  assert(a.data instanceof Float32Array);
  // Row 3 of the test split is exactly the decode + crop + resize + caffe of its image.
  const want = caffePreprocess(await decodeSquare(`${root}/${items.test[2].image}`, { size: 16 }));
  assertEquals(b.data.slice(2 * 768, 3 * 768), want);
  // The fixture's class colours survive: class 0 (red-ish) has its R channel (index 2, BGR) high.
  assert(a.data[2] > a.data[0]);
  // The fixture numbers items across splits: test items 5, 6, 7 are classes 2, 0, 1.
  assertEquals([...await readLabels(`${run.dir}/y_test.npy`)], [2, 0, 1]);
  assertEquals((await readNpy(`${run.dir}/txt_test.npy`)).data[0], 100);
  const meta = JSON.parse(await Deno.readTextFile(`${run.dir}/dataset.json`));
  assertEquals([meta.n_train, meta.source.image.shape], [5, ["n", 16, 16, 3]]);
  assertEquals(meta.classes, ["art", "biology", "geography"]);
  assert(!("seconds" in meta.source.image), "no wall time in the object (it must follow its key)");
  assert(typeof (run.provenance.imageTensors as { seconds: number }).seconds === "number");
});

Deno.test("image-tensors: rejects text features of another dataset, and missing inputs", async () => {
  const { root, ds } = await wikiDataset(4, 3);
  const txt = await textDir(6, 3);
  await rejects(
    () => runKind(imageTensorsKind, { inputs: { dataset: ds, root, txt }, params: { size: 8 } }),
    /txt_train.npy has 6 rows but the dataset's train split has 4/,
  );
  await rejects(
    () => runKind(imageTensorsKind, { inputs: { dataset: ds, root } }),
    /needs inputs 'dataset' \(raw-dataset\), 'root' \(extract data\) and 'txt'/,
  );
});

Deno.test("decodeImagesResumable: a killed run resumes at the first incomplete batch", async () => {
  const { root, items } = await wikiDataset(5, 0);
  const paths = items.train.map((it) => `${root}/${it.image}`);
  const scratch = `${await Deno.makeTempDir()}/train`;
  const fresh = await decodeImagesResumable(paths, {
    size: 8,
    batch: 2,
    scratch: `${await Deno.makeTempDir()}/train`,
  });
  const ac = new AbortController();
  await rejects(
    () =>
      decodeImagesResumable(paths, {
        size: 8,
        batch: 2,
        scratch,
        signal: ac.signal,
        progress: (done) => done >= 2 && ac.abort(new Error("killed")),
      }),
    /killed/,
  );
  assertEquals(JSON.parse(await Deno.readTextFile(`${scratch}.json`)).done, 2);
  const logs: string[] = [];
  const seen: number[] = [];
  const resumed = await decodeImagesResumable(paths, {
    size: 8,
    batch: 2,
    scratch,
    log: (m) => logs.push(m),
    progress: (d) => seen.push(d),
  });
  assertEquals(logs, ["resuming at image 2 of 5"]);
  assertEquals(seen, [4, 5]);
  assertEquals(resumed, fresh);
});
