/**
 * Bringing your own features, through the real engine and the real stage kinds: a user pipeline
 * file naming the user's files by absolute path, run with `--pipeline` (issue 15).
 */
import assert from "node:assert/strict";
import { main } from "../../pipeline/cli.ts";
import { commands, registry } from "../../stages/mod.ts";
import { writeMatrix } from "../../stages/tensor_io/npy.ts";

/** A small separable dataset: `n` samples of 3 classes, image `di`-d, text `dt`-d. */
function toyData(n: number, options: { di: number; dt: number; seed: number }) {
  let s = options.seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const y = Array.from({ length: n }, (_, i) => i % 3);
  const feat = (d: number) =>
    Float64Array.from({ length: n * d }, (_, k) => {
      const i = Math.floor(k / d), j = k % d;
      return (j % 3 === y[i] ? 1 : 0) + 0.6 * rnd();
    });
  return { y, img: feat(options.di), txt: feat(options.dt) };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(args, {
    registry,
    commands,
    stdout: (x) => out.push(x),
    stderr: (x) => err.push(x),
    env: () => undefined,
    tty: false,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("a user's label file edited in place: features and its dependents are stale and re-run; touched, still fresh", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byo-" });
  const user = `${dir}/release`;
  await Deno.mkdir(user);
  const tr = toyData(30, { di: 6, dt: 4, seed: 1 }), te = toyData(15, { di: 6, dt: 4, seed: 2 });
  const npy = (name: string, rows: number, cols: number, data: Float64Array) =>
    writeMatrix(`${user}/${name}.npy`, { rows, cols, data });
  await npy("img_tr", 30, 6, tr.img);
  await npy("img_te", 15, 6, te.img);
  await npy("txt_tr", 30, 4, tr.txt);
  await npy("txt_te", 15, 4, te.txt);
  const labels = (y: number[]) => y.map((v) => `${v + 1}\n`).join("");
  await Deno.writeTextFile(`${user}/train_labels.txt`, labels(tr.y));
  await Deno.writeTextFile(`${user}/test_labels.txt`, labels(te.y));
  const pipeline = `${dir}/mine.yaml`;
  await Deno.writeTextFile(
    pipeline,
    `stages:
  mine:
    uses: features
    with:
      dataset: mine
      img_train: ${user}/img_tr.npy
      img_test: ${user}/img_te.npy
      txt_train: ${user}/txt_tr.npy
      txt_test: ${user}/txt_te.npy
      labels_train: { file: ${user}/train_labels.txt, base: 1 }
      labels_test: { file: ${user}/test_labels.txt, base: 1 }
  cca-mine: { uses: cca, inputs: { features: mine }, with: { k: 2 } }
  eval-cca-mine: { uses: evaluate, inputs: { emb: cca-mine }, with: { similarities: [cosine] } }
targets:
  mine: [eval-cca-mine]
`,
  );
  const common = ["--pipeline", pipeline, "--artifacts", `${dir}/artifacts`];
  const status = async () => {
    const r = await cli("status", "--json", ...common);
    assert.equal(r.code, 0, r.err);
    return Object.fromEntries(
      JSON.parse(r.out).map((s: { stage: string; state: string }) => [s.stage, s.state]),
    );
  };
  const metrics = async () => {
    const r = await cli("metrics", "mine", "--json", ...common);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out)[0];
  };
  try {
    let r = await cli("reproduce", "mine", ...common);
    assert.equal(r.code, 0, r.err);
    const before = await metrics();
    assert.ok(before.i2t > 0.5, `separable toy data: mAP ${before.i2t}`);
    // the test labels change in place (same size): a third of them move to another class
    await Deno.writeTextFile(
      `${user}/test_labels.txt`,
      labels(te.y.map((v, i) => (i % 3 === 0 ? (v + 1) % 3 : v))),
    );
    assert.deepEqual(await status(), {
      mine: "stale",
      "cca-mine": "stale",
      "eval-cca-mine": "stale",
    });
    const ex = await cli("status", "--explain", "mine", ...common);
    assert.match(ex.out, new RegExp(`\\n {2}${user}/test_labels.txt {2}[0-9a-f]{12} {2}← changed`));
    assert.match(ex.out, new RegExp(`\\n {2}${user}/img_tr.npy {2}[0-9a-f]{12}\\n`));
    r = await cli("reproduce", "mine", "--json", ...common);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      JSON.parse(r.out).stages.map((s: { name: string; state: string }) => [s.name, s.state]),
      [["mine", "done"], ["cca-mine", "done"], ["eval-cca-mine", "done"]],
    );
    const after = await metrics();
    assert.ok(after.i2t < before.i2t - 0.02, `new labels give new numbers: ${after.i2t}`);
    // touched, content unchanged: still fresh, nothing re-runs
    const now = new Date(Date.now() + 10_000);
    for (const f of ["test_labels.txt", "img_tr.npy"]) await Deno.utime(`${user}/${f}`, now, now);
    assert.deepEqual(await status(), {
      mine: "fresh",
      "cca-mine": "fresh",
      "eval-cca-mine": "fresh",
    });
    assert.deepEqual(await metrics(), after);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The README's user pipeline: the yaml block that starts with `# my-release.yaml`. */
async function readmePipeline(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const m = /```yaml\n(# my-release\.yaml\n[\s\S]*?)```/.exec(readme);
  assert.ok(m, "README has the my-release.yaml block");
  return m[1];
}

/**
 * A MAT v7.3 file as MATLAB writes `save -v7.3`: a 512-byte text user block, then HDF5 with a
 * struct `data` (a group) whose fields are datasets with MATLAB's reversed dimensions.
 * `fields` maps a field name to a MATLAB matrix given as rows.
 */
async function writeMat73Struct(
  path: string,
  fields: Record<string, { rows: number; cols: number; data: Float64Array }>,
): Promise<void> {
  const h5wasm = (await import("h5wasm/node")).default;
  await h5wasm.ready;
  const tmp = `${path}.h5`;
  const f = new h5wasm.File(tmp, "w");
  const g = f.create_group("data");
  g.create_attribute("MATLAB_class", "struct");
  for (const [name, m] of Object.entries(fields)) {
    // column-major values of the r×c matrix, as an HDF5 c×r dataset
    const col = new Float64Array(m.rows * m.cols);
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) col[j * m.rows + i] = m.data[i * m.cols + j];
    }
    g.create_dataset({ name, data: col, shape: [m.cols, m.rows] })
      .create_attribute("MATLAB_class", "double");
  }
  f.close();
  const body = await Deno.readFile(tmp);
  await Deno.remove(tmp);
  const out = new Uint8Array(512 + body.length).fill(0x20, 0, 512);
  out.set(new TextEncoder().encode("MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."));
  out.set(body, 512);
  await Deno.writeFile(path, out);
}

Deno.test("the README's user pipeline: a MAT v7.3 struct release (d×n images, one-hot labels) → CCA, SCM, DSE-DS → metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byo-readme-" });
  try {
    const tr = toyData(60, { di: 8, dt: 5, seed: 3 }), te = toyData(30, { di: 8, dt: 5, seed: 4 });
    const t = (rows: number, cols: number, data: Float64Array) => ({ rows, cols, data });
    const transposed = (n: number, d: number, x: Float64Array) => {
      const out = new Float64Array(n * d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[j * n + i] = x[i * d + j];
      return t(d, n, out);
    };
    const oneHot = (y: number[]) =>
      t(
        y.length,
        3,
        Float64Array.from(
          { length: y.length * 3 },
          (_, k) => y[Math.floor(k / 3)] === k % 3 ? 1 : 0,
        ),
      );
    await Deno.mkdir(`${dir}/release`);
    await writeMat73Struct(`${dir}/release/features.mat`, {
      I_tr: transposed(60, 8, tr.img), // stored features × samples
      I_te: transposed(30, 8, te.img),
      T_tr: t(60, 5, tr.txt),
      T_te: t(30, 5, te.txt),
      L_tr: oneHot(tr.y),
      L_te: oneHot(te.y),
    });
    const yaml = (await readmePipeline()).replaceAll("/data/release/", `${dir}/release/`);
    assert.ok(
      yaml.split("\n").filter((l) => l.trim()).length <= 25,
      "the README pipeline fits 25 lines",
    );
    await Deno.writeTextFile(`${dir}/my-release.yaml`, yaml);
    const common = ["--pipeline", `${dir}/my-release.yaml`, "--artifacts", `${dir}/artifacts`];
    const r = await cli("reproduce", "mine", ...common);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    const m = await cli("metrics", "mine", "--json", ...common);
    assert.equal(m.code, 0, m.err);
    const rows = JSON.parse(m.out) as {
      method: string;
      similarity: string;
      i2t: number;
      t2i: number;
    }[];
    assert.deepEqual(rows.map((x) => x.method).sort(), ["cca", "dse-ds", "scm"]);
    for (const row of rows) {
      assert.equal(row.similarity, "cosine");
      // chance is about 1/3 on three balanced classes; the toy data is separable. DSE-DS, a
      // 2048-d network trained 20 epochs on 60 samples, learns less of it than CCA and SCM
      const min = row.method === "dse-ds" ? 0.38 : 0.6;
      assert.ok(row.i2t > min && row.t2i > min, `${row.method}: ${row.i2t} / ${row.t2i}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
