import assert from "node:assert/strict";
import h5wasm from "h5wasm/node";
import { download } from "../../../stages/data/download.ts";
import {
  featureFiles,
  features,
  labelsFromIndicator,
  parseLabelList,
  parseMatrixRef,
  splitIndices,
} from "../../../stages/data/features.ts";
import { readLabels, readMatrix, writeLabels, writeMatrix } from "../../../stages/tensor_io/npy.ts";
import { dataMirror, WIKI_FEATURES_PARAMS, wikipediaDir } from "../../helpers/shared_data.ts";
import { runKind } from "../../helpers/stage_context.ts";

const MIRROR = wikipediaDir() ? dataMirror() : undefined;
if (!MIRROR) {
  console.log("features_test: Wikipedia mirror not found (set DSE_DATA_MIRROR); skipping");
}

const GH = "https://raw.githubusercontent.com/TongJiayan/Multimodal-Retrieve/master/data/wiki";
/** The same params as the wiki-download stage of pipeline.yaml. */
const WIKI_FILES = [
  ["raw_features.mat", "ca628f765a69575e168ab29eb97f5ade12fadf47b31de1328c7ff631c7f225ae", 1075232],
  [
    "trainset_txt_img_cat.list",
    "30c1ba8afbe90da5986de9b12496b6dd2e4680d3876b79ab7aae2e437d5819a3",
    155153,
  ],
  [
    "testset_txt_img_cat.list",
    "ec3123ee31cc89dd95fbeb23eb73b2ecfd1d8909bba863723471aad99408c1eb",
    49494,
  ],
  ["categories.list", "4929f3ee00e9de9ffe11f9ab18fc8919b0f6182cc801309409df2f2d05e2b0f5", 75],
].map(([name, sha256, size]) => ({
  name: name as string,
  urls: [`${GH}/${name}`],
  sha256: sha256 as string,
  size: size as number,
  mirror_path: `wikipedia/${name}`,
}));

Deno.test({
  name: "features: Wikipedia, download (mirror) → features: shapes, labels, class counts",
  ignore: !MIRROR,
  fn: async () => {
    const dl = await runKind(download, {
      params: { files: WIKI_FILES, lock: "" },
      options: { mirror: MIRROR! },
    });
    for (const f of WIKI_FILES) {
      const rec = (dl.provenance.downloads as Record<string, { source: string }>)[f.name];
      assert.equal(rec.source, "mirror");
    }
    // the input may be the download object (files/ found inside) or its files/ output
    for (const raw of [dl.dir, `${dl.dir}/files`]) {
      const run = await runKind(features, { params: WIKI_FEATURES_PARAMS, inputs: { raw } });
      const shapes = await Promise.all(
        ["img_train", "img_test", "txt_train", "txt_test"].map(async (n) => {
          const m = await readMatrix(`${run.dir}/${n}.npy`);
          return [m.rows, m.cols];
        }),
      );
      assert.deepEqual(shapes, [[2173, 128], [693, 128], [2173, 10], [693, 10]]);
      const yTrain = await readLabels(`${run.dir}/y_train.npy`);
      const yTest = await readLabels(`${run.dir}/y_test.npy`);
      assert.equal(yTrain[0], 5); // first train line: category 6 (1-based) = media
      assert.equal(yTest[1], 9); // second test line: category 10
      const count = (y: Int32Array) => {
        const c = new Array(10).fill(0);
        for (const v of y) c[v]++;
        return c;
      };
      assert.deepEqual(count(yTrain), [138, 272, 244, 248, 202, 178, 186, 144, 214, 347]);
      assert.deepEqual(count(yTest), [34, 88, 96, 85, 65, 58, 51, 41, 71, 104]);
      const meta = JSON.parse(await Deno.readTextFile(`${run.dir}/dataset.json`));
      assert.equal(meta.dataset, "wiki");
      assert.deepEqual(meta.classes, [
        "art",
        "biology",
        "geography",
        "history",
        "literature",
        "media",
        "music",
        "royalty",
        "sport",
        "warfare",
      ]);
      assert.equal(meta.n_train, 2173);
      assert.equal(meta.n_test, 693);
      assert.equal(meta.source.sha256["raw_features.mat"], WIKI_FILES[0].sha256);
      const img = await readMatrix(`${run.dir}/img_train.npy`);
      assert.equal(img.data[0], 0.03732303902506828); // I_tr(1,1), from scipy.io.loadmat
    }
  },
});

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "features-test-" });
}

Deno.test("features: user files as npy + csv + a whitespace list with 0-based labels", async () => {
  const raw = await tmp();
  await writeMatrix(`${raw}/img_tr.npy`, {
    rows: 3,
    cols: 2,
    data: new Float64Array([1, 2, 3, 4, 5, 6]),
  });
  await writeMatrix(`${raw}/img_te.npy`, {
    rows: 2,
    cols: 2,
    data: new Float64Array([7, 8, 9, 10]),
  });
  await Deno.writeTextFile(`${raw}/txt_tr.csv`, "a,b,c\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,0.8,0.9\n");
  await Deno.writeTextFile(`${raw}/txt_te.csv`, "1,2,3\n4,5,6\n");
  await Deno.writeTextFile(`${raw}/train.txt`, "id0 2\nid1 0\nid2 1\n");
  await writeLabels(`${raw}/y_te.npy`, [1, 2]);
  const run = await runKind(features, {
    inputs: { raw },
    params: {
      dataset: "toy",
      img_train: "img_tr.npy",
      img_test: { file: "img_te.npy" },
      txt_train: "txt_tr.csv",
      txt_test: "txt_te.csv",
      labels_train: { file: "train.txt", column: 2 },
      labels_test: "y_te.npy",
      classes: ["x", "y", "z"],
    },
  });
  assert.deepEqual(await readMatrix(`${run.dir}/img_test.npy`), {
    rows: 2,
    cols: 2,
    data: new Float64Array([7, 8, 9, 10]),
  });
  assert.deepEqual(
    Array.from((await readMatrix(`${run.dir}/txt_train.npy`)).data),
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  );
  assert.deepEqual(Array.from(await readLabels(`${run.dir}/y_train.npy`)), [2, 0, 1]);
  assert.deepEqual(Array.from(await readLabels(`${run.dir}/y_test.npy`)), [1, 2]);
  const meta = JSON.parse(await Deno.readTextFile(`${run.dir}/dataset.json`));
  assert.deepEqual(meta.class_counts, { train: [1, 1, 1], test: [0, 1, 1] });
  assert.deepEqual(meta.dims, { img: 2, txt: 3 });
});

Deno.test("features: MAT v7.3 matrices and a MAT label variable (absolute path, no raw)", async () => {
  await h5wasm.ready;
  const dir = await tmp();
  const h5 = `${dir}/f.h5`;
  const f = new h5wasm.File(h5, "w");
  const put = (name: string, colMajor: number[], rows: number, cols: number) =>
    f.create_dataset({ name, data: new Float64Array(colMajor), shape: [cols, rows] })
      .create_attribute("MATLAB_class", "double");
  put("Xtr", [1, 2, 3, 4], 2, 2); // [[1,3],[2,4]]
  put("Xte", [5, 6], 1, 2);
  put("Ytr", [7, 8, 9, 10, 11, 12], 2, 3); // [[7,9,11],[8,10,12]]
  put("Yte", [0, 0, 1], 1, 3);
  put("ltr", [1, 2], 2, 1);
  put("lte", [2], 1, 1);
  f.close();
  const run = await runKind(features, {
    params: {
      dataset: "m73",
      source: h5,
      format: "mat73",
      img_train: "Xtr",
      img_test: "Xte",
      txt_train: "Ytr",
      txt_test: "Yte",
      labels_train: { var: "ltr", base: 1, format: "mat73" },
      labels_test: { var: "lte", base: 1, format: "mat73" },
    },
  });
  assert.deepEqual(Array.from((await readMatrix(`${run.dir}/img_train.npy`)).data), [1, 3, 2, 4]);
  assert.deepEqual(Array.from((await readMatrix(`${run.dir}/txt_train.npy`)).data), [
    7,
    9,
    11,
    8,
    10,
    12,
  ]);
  assert.deepEqual(Array.from(await readLabels(`${run.dir}/y_train.npy`)), [0, 1]);
  const meta = JSON.parse(await Deno.readTextFile(`${run.dir}/dataset.json`));
  assert.deepEqual(meta.classes, ["0", "1"]);
});

Deno.test("features: shape, label and path errors say what is wrong and what to do", async () => {
  const raw = await tmp();
  await writeMatrix(`${raw}/a3.npy`, { rows: 3, cols: 2, data: new Float64Array(6) });
  await writeMatrix(`${raw}/a2.npy`, { rows: 2, cols: 2, data: new Float64Array(4) });
  await writeMatrix(`${raw}/b2x3.npy`, { rows: 2, cols: 3, data: new Float64Array(6) });
  await writeMatrix(`${raw}/nan.npy`, { rows: 2, cols: 2, data: new Float64Array([0, NaN, 0, 0]) });
  await Deno.writeTextFile(`${raw}/y3.list`, "a\tb\t1\na\tb\t2\na\tb\t3\n");
  await Deno.writeTextFile(`${raw}/y2.list`, "a\tb\t3\na\tb\t3\n");
  const base = {
    dataset: "bad",
    img_train: "a3.npy",
    img_test: "a2.npy",
    txt_train: "a3.npy",
    txt_test: "a2.npy",
    labels_train: { file: "y3.list", column: 3, base: 1 },
    labels_test: { file: "y2.list", column: 3, base: 1 },
  };
  const run = (params: Record<string, unknown>) =>
    runKind(features, { inputs: { raw }, params: { ...base, ...params } });
  await run({}); // the base case is valid
  await assert.rejects(
    run({ labels_test: { file: "y3.list", column: 3, base: 1 } }),
    /img_test \(a2.npy\) has 2 rows but labels_test \(y3.list\) has 3 labels; rows are samples/,
  );
  await assert.rejects(run({ txt_test: "b2x3.npy" }), /txt_train has 2 columns but txt_test has 3/);
  await assert.rejects(
    run({ labels_train: { file: "y3.list", column: 3 }, classes: ["a", "b", "c"] }),
    /labels_train\[2\] is 3 after subtracting base, outside 0..2.*'base: 1'/,
  );
  await assert.rejects(
    run({ labels_train: { file: "y3.list", column: 2 } }),
    /line 1, column 2 is 'b', not an integer label/,
  );
  await assert.rejects(
    run({ img_test: "nope.npy" }),
    /file 'nope.npy' not found \(looked in input 'raw'/,
  );
  await assert.rejects(
    run({ img_test: "nan.npy" }),
    /img_test has 1 non-finite values \(first at row 0, column 1\)/,
  );
  const fixtures = new URL("../../fixtures/mat/numeric_plain.mat", import.meta.url).pathname;
  await assert.rejects(
    run({ img_test: `${fixtures}#missing` }),
    /no variable 'missing'; it holds: d, s,/,
  );
  await assert.rejects(
    run({ img_test: `${fixtures}#rows` }),
    /'rows' is a char array, not numeric/,
  );
});

Deno.test("features: reference and list parsing", () => {
  assert.deepEqual(parseMatrixRef("I_tr", { source: "r.mat", param: "x" }), {
    file: "r.mat",
    var: "I_tr",
  });
  assert.deepEqual(parseMatrixRef("a.mat#V", { source: "", param: "x" }), {
    file: "a.mat",
    var: "V",
  });
  assert.deepEqual(parseMatrixRef("#V", { source: "s.mat", param: "x" }), {
    file: "s.mat",
    var: "V",
  });
  assert.deepEqual(parseMatrixRef("f.npy", { source: "", param: "x" }), { file: "f.npy" });
  assert.throws(
    () => parseMatrixRef({ var: "x" }, { source: "", param: "img_test" }),
    /img_test: no file/,
  );
  assert.deepEqual(parseLabelList("a,1\n# c\n\nb,2\n", { column: 2, source: "l" }), [1, 2]);
  assert.throws(
    () => parseLabelList("a 1\n", { column: 3, source: "l" }),
    /line 1 has 2 columns, no column 3/,
  );
});

Deno.test("features: files() names every user file outside the raw input, for the cache key", () => {
  const params = {
    source: "/u/feat.mat",
    img_train: "I_tr",
    img_test: "/u/other.mat#I_te",
    txt_train: { var: "T_tr" },
    txt_test: { file: "rel/t.npy" },
    labels_train: { file: "/u/labels.mat", var: "y" },
    labels_test: { var: "yte" },
    classes: { file: "~/names.txt" },
  };
  const home = Deno.env.get("HOME") ?? "";
  assert.deepEqual(
    featureFiles(params, { inputs: [] }),
    [
      "/u/feat.mat",
      "/u/labels.mat",
      "/u/other.mat",
      `${home}/names.txt`,
      "rel/t.npy",
    ].sort(),
  );
  // with a raw input, relative paths are inside it (its digest is in the key already)
  assert.deepEqual(
    featureFiles(params, { inputs: ["raw"] }),
    [
      "/u/feat.mat",
      "/u/labels.mat",
      "/u/other.mat",
      `${home}/names.txt`,
    ].sort(),
  );
  // malformed params do not throw: the run reports them
  assert.deepEqual(
    featureFiles({ img_train: 3, labels_train: [1], classes: ["a"] }, { inputs: [] }),
    [],
  );
});

const RELEASE = new URL("../../fixtures/mat/release_v5.mat", import.meta.url).pathname;

/** The values make_fixtures.py's release_vars() writes: sample i, feature j. */
function releaseRow(i: number, d: number, shift: number): number[] {
  return Array.from(
    { length: d },
    (_, j) => (j % 3 === i % 3 ? 1 : 0) + 0.1 * Math.sin(7 * i + j) + shift,
  );
}

async function checkRelease(dir: string) {
  const img = await readMatrix(`${dir}/img_train.npy`);
  assert.deepEqual([img.rows, img.cols], [30, 6]);
  const near = (a: ArrayLike<number>, b: number[]) =>
    b.forEach((v, k) => assert.ok(Math.abs(a[k] - v) < 1e-12, `${a[k]} vs ${v}`));
  near(img.data.subarray(6 * 7, 6 * 8), releaseRow(7, 6, 0));
  const txtTest = await readMatrix(`${dir}/txt_test.npy`);
  assert.deepEqual([txtTest.rows, txtTest.cols], [15, 4]);
  near(txtTest.data.subarray(0, 4), releaseRow(30, 4, 0.5));
  assert.deepEqual(
    Array.from(await readLabels(`${dir}/y_train.npy`)),
    Array.from({ length: 30 }, (_, i) => i % 3),
  );
  assert.deepEqual(
    Array.from(await readLabels(`${dir}/y_test.npy`)),
    Array.from({ length: 15 }, (_, i) => (30 + i) % 3),
  );
}

Deno.test("features: a release as it is: struct fields by path, d×n images (transpose), one-hot labels", async () => {
  const params = {
    dataset: "rel",
    source: RELEASE,
    img_train: { var: "data.img.tr", transpose: true },
    img_test: { var: "data.img.te", transpose: true },
    txt_train: "data.txt.tr",
    txt_test: "data/txt/te",
    labels_train: "data.lab.tr",
    labels_test: { var: "data.lab.te" },
  };
  await checkRelease((await runKind(features, { params })).dir);
  // without transpose: the shapes say the matrix is d×n, and the message says what to set
  await assert.rejects(
    runKind(features, { params: { ...params, img_train: "data.img.tr" } }),
    /img_train \(.*release_v5.mat#data.img.tr\) has 6 rows but labels_train \(.*#data.lab.tr, a 30×3 one-hot matrix\) has 30 labels; img_train looks features × samples \(6×30\): set 'transpose: true' on img_train/,
  );
  // a struct is not a matrix: the message lists its fields and the path syntax
  await assert.rejects(
    runKind(features, { params: { ...params, txt_train: "data.txt" } }),
    /'data.txt' is a struct array, not numeric: it has the fields tr, te; name one by path, e.g. 'data.txt.tr'/,
  );
  // a one-hot matrix read as classes × samples is recognised as such
  await assert.rejects(
    runKind(features, {
      params: { ...params, labels_train: { var: "data.lab.tr", transpose: true } },
    }),
    /labels_train: .*#data.lab.tr: the 3×30 label matrix is one-hot by column: it looks classes × samples; set 'transpose: true' on these labels/,
  );
});

Deno.test("features: multi-hot label rows are refused with their count unless multiLabel: first", async () => {
  const m = { rows: 4, cols: 3, data: new Float64Array([1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1]) };
  assert.throws(
    () => labelsFromIndicator(m, { where: "L" }),
    /L: 2 of 4 rows of the 4×3 label matrix name several classes \(first: row 2, classes 1, 2, 0-based\).*set 'multiLabel: first'/,
  );
  assert.deepEqual(Array.from(labelsFromIndicator(m, { where: "L", multiLabel: "first" })), [
    0,
    1,
    2,
    0,
  ]);
  assert.throws(
    () =>
      labelsFromIndicator({ rows: 2, cols: 2, data: new Float64Array([1, 0, 0, 0]) }, {
        where: "L",
      }),
    /row 2 of the 2×2 one-hot label matrix has no class \(all zeros\); if the matrix is classes × samples, set 'transpose: true'/,
  );
  // through the stage, from the fixture's multi-hot variable
  const raw = await tmp();
  await writeMatrix(`${raw}/x4.npy`, { rows: 4, cols: 2, data: new Float64Array(8) });
  const params = {
    dataset: "multi",
    img_train: "x4.npy",
    img_test: "x4.npy",
    txt_train: "x4.npy",
    txt_test: "x4.npy",
    labels_train: { file: RELEASE, var: "multi" },
    labels_test: { file: RELEASE, var: "multi", multiLabel: "first" },
  };
  await assert.rejects(
    runKind(features, { inputs: { raw }, params }),
    /labels_train: .*#multi: 1 of 4 rows of the 4×3 label matrix name several classes \(first: row 2, classes 1, 2/,
  );
  const run = await runKind(features, {
    inputs: { raw },
    params: { ...params, labels_train: { file: RELEASE, var: "multi", multiLabel: "first" } },
  });
  assert.deepEqual(Array.from(await readLabels(`${run.dir}/y_test.npy`)), [0, 1, 2, 0]);
});

Deno.test("features: one matrix split by a 0/1 mask or by 1-based index lists", async () => {
  const whole = {
    dataset: "rel",
    source: RELEASE,
    img: "all_img",
    txt: "all_txt",
    labels: "all_onehot",
  };
  // a mask; test = the rest
  await checkRelease(
    (await runKind(features, { params: { ...whole, split: { train: "mask" } } })).dir,
  );
  // 1-based indices (MATLAB), test = the rest
  await checkRelease(
    (await runKind(features, { params: { ...whole, split: { train: "idx_tr", base: 1 } } })).dir,
  );
  // indices as a text list, test given too
  const dir = await tmp();
  await Deno.writeTextFile(
    `${dir}/tr.txt`,
    Array.from({ length: 30 }, (_, i) => `${i}\n`).join(""),
  );
  await Deno.writeTextFile(
    `${dir}/te.txt`,
    Array.from({ length: 15 }, (_, i) => `${30 + i}\n`).join(""),
  );
  await checkRelease(
    (await runKind(features, {
      params: { ...whole, split: { train: `${dir}/tr.txt`, test: `${dir}/te.txt` } },
    })).dir,
  );
  // 1-based indices without base: the last one is out of range, and the message says 'base: 1'
  await Deno.writeTextFile(
    `${dir}/one.txt`,
    Array.from({ length: 45 }, (_, i) => `${i + 1}\n`).join(""),
  );
  await assert.rejects(
    runKind(features, { params: { ...whole, split: { train: `${dir}/one.txt`, as: "indices" } } }),
    /split.train .*: index 45 \(entry 45\) is outside the 45 samples after subtracting base 0; for MATLAB's 1-based indices set 'base: 1'/,
  );
  await assert.rejects(
    runKind(features, {
      params: { ...whole, split: { train: `${dir}/tr.txt`, test: `${dir}/tr.txt` } },
    }),
    /30 samples are in both split.train and split.test/,
  );
  await assert.rejects(
    runKind(features, { params: { ...whole, img_train: "all_img", split: { train: "mask" } } }),
    /'split' splits img, txt and labels; remove img_train/,
  );
  assert.deepEqual(
    splitIndices([0, 1, 1, 0], { n: 4, base: 0, as: "auto", where: "s" }),
    [1, 2],
  );
  assert.deepEqual(splitIndices([3, 1], { n: 4, base: 0, as: "auto", where: "s" }), [3, 1]);
});

Deno.test("features: npz arrays and a cell array of equal-length vectors load as matrices", async () => {
  const dir = await tmp();
  const { encodeNpy } = await import("../../../stages/tensor_io/npy.ts");
  const { zipBytes } = await import("../../helpers/fixtures_raw.ts");
  await Deno.writeFile(
    `${dir}/r.npz`,
    await zipBytes([
      { name: "X.npy", data: encodeNpy(new Float64Array([1, 2, 3, 4, 5, 6]), [3, 2]) },
      { name: "Y.npy", data: encodeNpy(new Float64Array([1, 0, 0, 1, 1, 0]), [3, 2]) },
    ]),
  );
  const run = await runKind(features, {
    params: {
      dataset: "npz",
      source: `${dir}/r.npz`,
      img_train: "X",
      img_test: "X",
      txt_train: { file: RELEASE, var: "vecs" }, // a 3×1 cell of 1×4 vectors
      txt_test: { file: RELEASE, var: "vecs" },
      labels_train: "Y",
      labels_test: `${dir}/r.npz#Y`,
    },
  });
  assert.deepEqual(Array.from((await readMatrix(`${run.dir}/img_train.npy`)).data), [
    1,
    2,
    3,
    4,
    5,
    6,
  ]);
  const t = await readMatrix(`${run.dir}/txt_train.npy`);
  assert.deepEqual([t.rows, t.cols], [3, 4]);
  assert.deepEqual(Array.from(t.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(Array.from(await readLabels(`${run.dir}/y_train.npy`)), [0, 1, 0]);
});
