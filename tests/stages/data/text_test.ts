import assert from "node:assert/strict";
import {
  buildVocabulary,
  countIds,
  countVectors,
  decodeEntities,
  tagCountsKind,
  tokenize,
  wikiText,
  xmlElements,
  xmlText,
} from "../../../stages/data/text.ts";
import { rawDatasetKind } from "../../../stages/data/datasets.ts";
import { readMatrix } from "../../../stages/tensor_io/npy.ts";
import { writeLabelMeFixture, writeVocFixture } from "../../helpers/fixtures_raw.ts";
import { runKind } from "../../helpers/stage_context.ts";

Deno.test("text: tokenize lower-cases, strips accents, digits, stop words, short tokens", () => {
  assert.deepStrictEqual(
    tokenize("The Café of 1923: Mozart's 2nd Symphony, and a x-ray!"),
    ["cafe", "mozart", "nd", "symphony", "ray"],
  );
  assert.deepStrictEqual(tokenize("The cat", { stopwords: false }), ["the", "cat"]);
  assert.deepStrictEqual(tokenize("a b cd", { stopwords: false, minLength: 1 }), ["a", "b", "cd"]);
});

Deno.test("text: XML helpers read elements, entities, CDATA; wikiText takes <text>", () => {
  assert.strictEqual(decodeEntities("a &amp; b &lt;c&gt; &#233;&#x41;"), "a & b <c> éA");
  const xml = `<?xml version="1.0"?><document><title>T &amp; U</title>` +
    `<text>Body <b>bold</b> <![CDATA[raw <x>]]> end</text></document>`;
  assert.strictEqual(xmlText(xml, "title"), "T & U");
  assert.strictEqual(wikiText(xml).replace(/\s+/g, " "), "Body bold raw end");
  assert.strictEqual(wikiText("<document><p>only para</p></document>"), "only para");
  assert.deepStrictEqual(xmlElements("<o><n>1</n></o><o x='2'><n>2</n></o>", "o").length, 2);
  assert.strictEqual(xmlText("<a></a>", "b"), null);
});

Deno.test("text: vocabulary with min count and count vectors", () => {
  const docs = [["b", "a", "a"], ["a", "c"], ["b", "z"]];
  const v = buildVocabulary(docs, { minCount: 2 });
  assert.deepStrictEqual([...v], [["a", 0], ["b", 1]]);
  assert.deepStrictEqual([...countVectors(docs, v)], [2, 1, 1, 0, 0, 1]);
});

Deno.test("tag-counts kind: LabelMe keeps tags seen ≥ minCount, deleted objects ignored", async () => {
  const root = await Deno.makeTempDir();
  await writeLabelMeFixture(root, { perClass: 4 });
  const ds = await runKind(rawDatasetKind, {
    inputs: { root },
    params: { dataset: "labelme", testPerClass: 1 },
  });
  const run = await runKind(tagCountsKind, {
    inputs: { dataset: ds.dir, root },
    params: { minCount: 4 },
  });
  // Tokens: "sea","water" (coast: 3 annotated × 1), "sky" (7 classes × 4), "tree" (31 minus the
  // 8 deleted ones), "rare<c>" dropped to "rare" (2 per class = 15 with coast_img0 missing).
  const vocab = JSON.parse(await Deno.readTextFile(`${run.dir}/vocab.json`));
  assert.deepStrictEqual(vocab, ["rare", "sky", "tree"]);
  const tr = await readMatrix(`${run.dir}/txt_train.npy`);
  const te = await readMatrix(`${run.dir}/txt_test.npy`);
  assert.strictEqual(tr.rows + te.rows, 32);
  assert.strictEqual(tr.cols, 3);
  let sky = 0;
  let tree = 0;
  for (const m of [tr, te]) {
    for (let i = 0; i < m.rows; i++) {
      sky += m.data[i * 3 + 1];
      tree += m.data[i * 3 + 2];
    }
  }
  assert.strictEqual(sky, 28);
  assert.strictEqual(tree, 31 - 8);
});

Deno.test("tag-counts kind: Pascal uses the fixed vocabulary file", async () => {
  const root = await Deno.makeTempDir();
  await writeVocFixture(root);
  const ds = await runKind(rawDatasetKind, {
    inputs: { root },
    params: { dataset: "pascal", tagFormat: "files", vocabularyFile: "vocabulary.txt" },
  });
  const run = await runKind(tagCountsKind, { inputs: { dataset: ds.dir, root } });
  const vocab: string[] = JSON.parse(await Deno.readTextFile(`${run.dir}/vocab.json`));
  assert.ok(vocab.includes("photo") && !vocab.includes("zzunknown"));
  const tr = await readMatrix(`${run.dir}/txt_train.npy`);
  // Train row 0 is 000001: tags dog, photo, dog.
  assert.strictEqual(tr.data[vocab.indexOf("dog")], 2);
  assert.strictEqual(tr.data[vocab.indexOf("photo")], 1);
  assert.strictEqual(tr.data.slice(0, vocab.length).reduce((a, b) => a + b, 0), 3);
});

Deno.test("tag-counts kind: Hwang's tag indices are counted as they are (hist over 1..V)", async () => {
  const root = await Deno.makeTempDir();
  await writeVocFixture(root);
  const ds = await runKind(rawDatasetKind, {
    inputs: { root, tags: `${root}/hwang` },
    params: { dataset: "pascal" },
  });
  const run = await runKind(tagCountsKind, { inputs: { dataset: ds.dir, root } });
  const vocab: string[] = JSON.parse(await Deno.readTextFile(`${run.dir}/vocab.json`));
  assert.strictEqual(vocab.length, 399);
  const words = (await Deno.readTextFile(`${root}/hwang/vocabulary.txt`)).trim().split("\n");
  const tr = await readMatrix(`${run.dir}/txt_train.npy`);
  assert.strictEqual(tr.cols, 399);
  // Train row 0 is 000001: tags dog, photo, dog (indices into the sorted fixture words).
  const row0 = Array.from(tr.data.slice(0, 399));
  assert.strictEqual(row0[words.indexOf("dog")], 2);
  assert.strictEqual(row0[words.indexOf("photo")], 1);
  assert.strictEqual(row0.reduce((a, b) => a + b, 0), 3);
  assert.deepStrictEqual(run.provenance.vocabulary, {
    size: 399,
    fixed: true,
    from: "tag indices",
  });

  assert.deepStrictEqual(
    Array.from(countIds([{ id: "a", tagIds: [2, 0, 2] }, { id: "b", tagIds: [] }], 3)),
    [1, 0, 2, 0, 0, 0],
  );
  assert.throws(
    () => countIds([{ id: "a", tagIds: [3] }], 3),
    /item a has tag index 3, outside 0\.\.2/,
  );
  assert.throws(() => countIds([{ id: "b" }], 3), /item b has no tagIds/);
});
