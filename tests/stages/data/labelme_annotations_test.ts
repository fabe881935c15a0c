import assert from "node:assert/strict";
import { labelmeAnnotationsKind } from "../../../stages/data/labelme_annotations.ts";
import { rawDatasetKind } from "../../../stages/data/datasets.ts";
import { writeLabelMeFixture } from "../../helpers/fixtures_raw.ts";
import { startServer } from "../../helpers/http_server.ts";
import { runKind } from "../../helpers/stage_context.ts";

const FOLDER = "scenes";

/** A LabelMe fixture split as the real data is: images in `root/FOLDER`, XMLs by stem. */
async function fixture(): Promise<{ root: string; xml: Map<string, string> }> {
  const src = await Deno.makeTempDir();
  await writeLabelMeFixture(src, { perClass: 3, folder: FOLDER });
  const root = await Deno.makeTempDir();
  await Deno.rename(`${src}/Images/${FOLDER}`, `${root}/${FOLDER}`);
  const xml = new Map<string, string>();
  for await (const e of Deno.readDir(`${src}/Annotations/${FOLDER}`)) {
    xml.set(
      e.name.replace(/\.xml$/, ""),
      await Deno.readTextFile(`${src}/Annotations/${FOLDER}/${e.name}`),
    );
  }
  return { root, xml };
}

function served(xml: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...xml].map(([stem, x]) => [`/Annotations/${FOLDER}/${stem}.xml`, x]));
}

const FAST = { retry_delay_ms: "1", retries: "2" };

Deno.test("labelme-annotations: one XML per image from the server, 404 = missing, set pinned in the lock", async () => {
  const { root, xml } = await fixture();
  assert.equal(xml.size, 23); // coast_img0 has none: the server answers 404
  await using server = startServer({ files: served(xml) });
  server.plan(`/Annotations/${FOLDER}/forest_img1.xml`, [{ status: 500 }, { cutAfter: 10 }]);
  const lock = `${await Deno.makeTempDir()}/lock.json`;
  const params = { folder: FOLDER, url: `${server.url}/Annotations/{folder}/{stem}.xml` };
  const a = await runKind(labelmeAnnotationsKind, {
    inputs: { root },
    params: { ...params, maxMissing: 0.1 },
    options: { ...FAST, lock },
  });
  const out = `${a.dir}/data/Annotations/${FOLDER}`;
  assert.equal(await Deno.readTextFile(`${out}/forest_img1.xml`), xml.get("forest_img1"));
  const summary = JSON.parse(await Deno.readTextFile(`${a.dir}/annotations.json`));
  assert.deepEqual([summary.images, summary.found, summary.missing], [24, 23, ["coast_img0"]]);
  assert.equal(summary.check, "recorded");
  const pinned = JSON.parse(await Deno.readTextFile(lock)).files[`labelme/Annotations/${FOLDER}`];
  assert.equal(pinned.sha256, summary.digest);

  // raw-dataset reads the tags from this output (the 'annotations' input).
  const ds = await runKind(rawDatasetKind, {
    inputs: { root, annotations: `${a.dir}/data` },
    params: {
      dataset: "labelme",
      testPerClass: 1,
      imagesDir: FOLDER,
      annotationsDir: `Annotations/${FOLDER}`,
    },
  });
  const items = JSON.parse(await Deno.readTextFile(`${ds.dir}/items.json`));
  const forest = [...items.train, ...items.test].find((i: { id: string }) =>
    i.id === "forest_img0"
  );
  assert.deepEqual(forest.tags, ["sky", "tree", "rare1"]);

  // The same set again matches the pin; an annotation edited upstream fails until --update-lock.
  const b = await runKind(labelmeAnnotationsKind, {
    inputs: { root },
    params: { ...params, maxMissing: 0.1 },
    options: { ...FAST, lock },
  });
  assert.equal(JSON.parse(await Deno.readTextFile(`${b.dir}/annotations.json`)).check, "lock");
  server.set(`/Annotations/${FOLDER}/street_img2.xml`, "<annotation>edited</annotation>");
  await assert.rejects(
    () =>
      runKind(labelmeAnnotationsKind, {
        inputs: { root },
        params: { ...params, maxMissing: 0.1 },
        options: { ...FAST, lock },
      }),
    /pins [0-9a-f]{64} for labelme\/Annotations\/scenes .*--update-lock/,
  );
  const c = await runKind(labelmeAnnotationsKind, {
    inputs: { root },
    params: { ...params, maxMissing: 0.1 },
    options: { ...FAST, lock, update_lock: "1" },
  });
  const after = JSON.parse(await Deno.readTextFile(`${c.dir}/annotations.json`));
  assert.notEqual(after.digest, summary.digest);
  assert.equal(
    JSON.parse(await Deno.readTextFile(lock)).files[`labelme/Annotations/${FOLDER}`].sha256,
    after.digest,
  );
});

Deno.test("labelme-annotations: mirror first; too many missing fails naming them; a rerun fetches only what is left", async () => {
  const { root, xml } = await fixture();
  const mirror = await Deno.makeTempDir();
  await Deno.mkdir(`${mirror}/labelme/Annotations/${FOLDER}`, { recursive: true });
  const inMirror = [...xml.keys()].filter((s) => s.startsWith("s")); // street_*
  for (const s of inMirror) {
    await Deno.writeTextFile(`${mirror}/labelme/Annotations/${FOLDER}/${s}.xml`, xml.get(s)!);
  }
  const lock = `${await Deno.makeTempDir()}/lock.json`;
  // Mirror only: 24 − 3 images have no source.
  await assert.rejects(
    () =>
      runKind(labelmeAnnotationsKind, {
        inputs: { root },
        params: { folder: FOLDER, url: "" },
        options: { mirror, lock },
      }),
    /21 of 24 images have no annotation \(coast_img0, coast_img1, coast_img2, forest_img0, forest_img1, …\), more than maxMissing=0\.05/,
  );
  // The server fails hard on one file: the run fails, but what it fetched stays in scratch.
  await using server = startServer({ files: served(xml) });
  server.plan(`/Annotations/${FOLDER}/tallbuilding_img2.xml`, [{ status: 403 }]);
  const scratch = await Deno.makeTempDir();
  const params = {
    folder: FOLDER,
    url: `${server.url}/Annotations/{folder}/{stem}.xml`,
    maxMissing: 0.1,
  };
  await assert.rejects(
    () =>
      runKind(labelmeAnnotationsKind, {
        inputs: { root },
        params,
        scratch,
        options: { ...FAST, mirror, lock },
      }),
    /HTTP 403/,
  );
  const before = server.requests.length;
  const r = await runKind(labelmeAnnotationsKind, {
    inputs: { root },
    params,
    scratch,
    options: { ...FAST, mirror, lock },
  });
  const again = server.requests.slice(before).map((q) => q.path).sort();
  // Only the failed file and the 404 one are asked for again.
  assert.deepEqual(again, [
    `/Annotations/${FOLDER}/coast_img0.xml`,
    `/Annotations/${FOLDER}/tallbuilding_img2.xml`,
  ]);
  const summary = JSON.parse(await Deno.readTextFile(`${r.dir}/annotations.json`));
  assert.deepEqual([summary.found, summary.fromMirror], [23, inMirror.length]);
  assert.ok(server.requests.every((q) => !inMirror.some((s) => q.path.includes(`/${s}.xml`))));
});
