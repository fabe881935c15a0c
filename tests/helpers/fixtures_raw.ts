/**
 * Test helper: small fixture datasets in the real on-disk layouts of the raw data (Wikipedia,
 * VOC2007, LabelMe 8 scenes), and writers for tar / tar.gz / zip archives (including malicious
 * ones, since the writers do not check names).
 * @module
 */
import sharp from "sharp";
import h5wasm from "h5wasm";
import { crc32Update } from "../../stages/data/archive.ts";
import { VOC_CLASSES } from "../../stages/data/datasets.ts";
import { encodeMat, matRow, matStruct, matText } from "./mat_writer.ts";
import { type ResNetConfig, resnetUnits, type ResNetWeights } from "../../stages/nn/resnet.ts";

/** One entry for {@link tarBytes} / {@link zipBytes}. */
export interface FixtureEntry {
  /** Path stored in the archive, written verbatim (may be unsafe on purpose). */
  name: string;
  /** Content of a file entry. */
  data?: Uint8Array | string;
  /** Entry type; default file (dir if the name ends with `/`). */
  type?: "file" | "dir" | "symlink" | "hardlink";
  /** Link target. */
  linkname?: string;
}

const enc = new TextEncoder();

function bytesOf(d: Uint8Array | string | undefined): Uint8Array {
  return d === undefined ? new Uint8Array(0) : typeof d === "string" ? enc.encode(d) : d;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function tarHeader(name: string, size: number, flag: string, linkname = ""): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, off: number, len: number) => h.set(enc.encode(s).subarray(0, len), off);
  put(name, 0, 100);
  put(octal(flag === "5" ? 0o755 : 0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1700000000, 12), 136, 12);
  put("        ", 148, 8);
  put(flag, 156, 1);
  put(linkname, 157, 100);
  put("ustar\x0000", 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + " ", 148, 8);
  return h;
}

function pad512(b: Uint8Array): Uint8Array {
  const n = Math.ceil(b.length / 512) * 512;
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

/** A ustar archive of `entries`; names over 100 bytes get a GNU `L` long-name header. */
export function tarBytes(entries: FixtureEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith("/") ? "dir" : "file");
    const flag = { file: "0", dir: "5", symlink: "2", hardlink: "1" }[type];
    const data = type === "file" ? bytesOf(e.data) : new Uint8Array(0);
    let name = e.name;
    if (enc.encode(name).length > 100) {
      const long = enc.encode(name + "\0");
      parts.push(tarHeader("././@LongLink", long.length, "L"), pad512(long));
      name = name.slice(0, 99);
    }
    parts.push(tarHeader(name, data.length, flag, e.linkname ?? ""), pad512(data));
  }
  parts.push(new Uint8Array(1024));
  return concat(parts);
}

/** Gzip bytes with the web-standard CompressionStream. */
export async function gzipBytes(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** A zip archive (deflate for files, unix modes so symlinks are recognised). */
export async function zipBytes(entries: FixtureEntry[]): Promise<Uint8Array> {
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith("/") ? "dir" : "file");
    const raw = type === "symlink" ? enc.encode(e.linkname ?? "") : bytesOf(e.data);
    const crc = (crc32Update(0xffffffff, raw) ^ 0xffffffff) >>> 0;
    const method = type === "file" ? 8 : 0;
    const comp = method === 8 ? await deflateRaw(raw) : raw;
    const name = enc.encode(e.name);
    const mode = type === "symlink" ? 0o120777 : type === "dir" ? 0o040755 : 0o100644;
    const lh = new DataView(new ArrayBuffer(30));
    lh.setUint32(0, 0x04034b50, true);
    lh.setUint16(4, 20, true);
    lh.setUint16(6, 0x800, true);
    lh.setUint16(8, method, true);
    lh.setUint32(14, crc, true);
    lh.setUint32(18, comp.length, true);
    lh.setUint32(22, raw.length, true);
    lh.setUint16(26, name.length, true);
    const local = concat([new Uint8Array(lh.buffer), name, comp]);
    const ch = new DataView(new ArrayBuffer(46));
    ch.setUint32(0, 0x02014b50, true);
    ch.setUint16(4, (3 << 8) | 20, true);
    ch.setUint16(6, 20, true);
    ch.setUint16(8, 0x800, true);
    ch.setUint16(10, method, true);
    ch.setUint32(16, crc, true);
    ch.setUint32(20, comp.length, true);
    ch.setUint32(24, raw.length, true);
    ch.setUint16(28, name.length, true);
    ch.setUint32(38, (mode << 16) >>> 0, true);
    ch.setUint32(42, offset, true);
    central.push(concat([new Uint8Array(ch.buffer), name]));
    locals.push(local);
    offset += local.length;
  }
  const cd = concat(central);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cd.length, true);
  end.setUint32(16, offset, true);
  return concat([...locals, cd, new Uint8Array(end.buffer)]);
}

/** A deterministic RGB test image: a colour ramp per class plus seeded noise, as JPEG bytes. */
export async function jpegBytes(
  options: { width: number; height: number; seed: number; rgb?: [number, number, number] },
): Promise<Uint8Array> {
  const { width, height } = options;
  const [r0, g0, b0] = options.rgb ?? [120, 120, 120];
  const px = new Uint8Array(width * height * 3);
  let s = (options.seed * 2654435761) >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      const n = (s >>> 24) % 24 - 12;
      const i = (y * width + x) * 3;
      px[i] = clamp(r0 + (x * 60) / width + n);
      px[i + 1] = clamp(g0 + (y * 60) / height + n);
      px[i + 2] = clamp(b0 + n);
    }
  }
  const out = await sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 })
    .toBuffer();
  return new Uint8Array(out);
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

const PALETTE: [number, number, number][] = [
  [200, 40, 40],
  [40, 200, 40],
  [40, 40, 200],
  [200, 200, 40],
  [40, 200, 200],
  [200, 40, 200],
  [120, 60, 20],
  [20, 60, 120],
];

/** Write `data` to `path`, creating its directory. */
export async function put(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
}

/** Words that signal each Wikipedia fixture category (the texts mix them with filler). */
export const WIKI_FIXTURE_WORDS: string[][] = [
  ["painting", "canvas", "sculpture", "gallery", "portrait"],
  ["cell", "protein", "species", "genome", "enzyme"],
  ["river", "mountain", "valley", "plateau", "glacier"],
];

/**
 * Write a Wikipedia-layout fixture (3 categories) under `dir`: `categories.list`, the two split
 * lists, `texts/<id>.xml` and `images/<category>/<id>.jpg` of varying aspect ratios.
 */
export async function writeWikiFixture(
  dir: string,
  options: { train?: number; test?: number } = {},
): Promise<{ train: number; test: number; classes: string[] }> {
  const classes = ["art", "biology", "geography"];
  const nTrain = options.train ?? 12;
  const nTest = options.test ?? 6;
  await put(`${dir}/categories.list`, classes.join("\n") + "\n");
  const lines: Record<string, string[]> = { train: [], test: [] };
  let n = 0;
  for (const [split, count] of [["train", nTrain], ["test", nTest]] as const) {
    for (let i = 0; i < count; i++, n++) {
      const c = n % 3;
      const txt = `t${n.toString(16).padStart(8, "0")}`;
      const img = `i${n.toString(16).padStart(8, "0")}`;
      lines[split].push(`${txt}\t${img}\t${c + 1}`);
      const words: string[] = [];
      for (let k = 0; k < 40; k++) {
        words.push(WIKI_FIXTURE_WORDS[c][(k * 7 + n) % 5]);
        if (k % 3 === 0) words.push("the", "of", "and", String(1900 + k));
      }
      await put(
        `${dir}/texts/${txt}.xml`,
        `<?xml version="1.0" encoding="UTF-8"?>\n<document>\n<title>Doc &amp; ${n}</title>\n` +
          `<text>${words.join(" ")} caf&#233; <![CDATA[extra]]></text>\n</document>\n`,
      );
      await put(
        `${dir}/images/${classes[c]}/${img}.jpg`,
        await jpegBytes({
          width: 40 + (n % 3) * 12,
          height: 32 + (n % 2) * 10,
          seed: n,
          rgb: PALETTE[c],
        }),
      );
    }
  }
  await put(`${dir}/trainset_txt_img_cat.list`, lines.train.join("\n") + "\n");
  await put(`${dir}/testset_txt_img_cat.list`, lines.test.join("\n") + "\n");
  return { train: nTrain, test: nTest, classes };
}

/** One object of a VOC fixture annotation: class name and difficult flag. */
export type VocObj = [string, boolean?];

/** One image of a VOC fixture. */
export interface VocImage {
  /** Image id (file stem). */
  id: string;
  /** Devkit split. */
  split: "trainval" | "test";
  /** Annotated objects. */
  objects: VocObj[];
}

/** Images of the VOC fixture: id → (objects, split). Multi-class ones must be dropped. */
export const VOC_FIXTURE: VocImage[] = [
  { id: "000001", split: "trainval", objects: [["dog"]] },
  { id: "000002", split: "trainval", objects: [["car"], ["car"]] },
  { id: "000003", split: "trainval", objects: [["person"], ["horse"]] },
  { id: "000004", split: "trainval", objects: [["cat"], ["chair", true]] },
  { id: "000005", split: "trainval", objects: [["tvmonitor"]] },
  { id: "000006", split: "test", objects: [["bird"]] },
  { id: "000007", split: "test", objects: [["bus"], ["person"], ["car"]] },
  { id: "000008", split: "test", objects: [["boat"], ["boat", true]] },
  { id: "000009", split: "test", objects: [["dog"]] },
];

/** Tags of the VOC fixture images (one tag per line; the last is outside the vocabulary). */
export function vocFixtureTags(id: string, objects: VocObj[]): string[] {
  return [...objects.map(([o]) => o), "photo", id === "000001" ? "dog" : "zzunknown"];
}

/**
 * Write a VOC2007-layout fixture under `dir` (VOCdevkit/VOC2007/..., tags/, vocabulary.txt):
 * `options.images` (default {@link VOC_FIXTURE}) tagged by `options.tags` (default
 * {@link vocFixtureTags}); the vocabulary is every tag of an object class plus `photo`.
 * The same tags are also written in Hwang & Grauman's form, `hwang/train.mat` (trainval) and
 * `hwang/test.mat`, struct arrays D1 (first half) and D2 (the rest) with `filename`,
 * `objectcount` (every object, difficult or not) and `taglist` (1-based indices into the sorted
 * vocabulary, also in `hwang/vocabulary.txt`; words outside it are dropped).
 */
export async function writeVocFixture(
  dir: string,
  options: { images?: VocImage[]; tags?: (id: string, objects: VocObj[]) => string[] } = {},
): Promise<void> {
  const base = `${dir}/VOCdevkit/VOC2007`;
  const sets: Record<string, string[]> = { trainval: [], test: [] };
  const vocab = new Set<string>(["photo"]);
  const tagsOf = options.tags ?? vocFixtureTags;
  let n = 0;
  for (const im of options.images ?? VOC_FIXTURE) {
    sets[im.split].push(im.id);
    const objs = im.objects.map(([name, difficult]) =>
      `  <object>\n    <name>${name}</name>\n    <pose>Unspecified</pose>\n` +
      `    <truncated>0</truncated>\n    <difficult>${difficult ? 1 : 0}</difficult>\n` +
      `    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>\n  </object>`
    );
    await put(
      `${base}/Annotations/${im.id}.xml`,
      `<annotation>\n  <folder>VOC2007</folder>\n  <filename>${im.id}.jpg</filename>\n` +
        `  <size><width>48</width><height>36</height><depth>3</depth></size>\n${
          objs.join("\n")
        }\n</annotation>\n`,
    );
    await put(
      `${base}/JPEGImages/${im.id}.jpg`,
      await jpegBytes({ width: 48, height: 36, seed: 100 + n++, rgb: PALETTE[n % 8] }),
    );
    const tags = tagsOf(im.id, im.objects);
    for (const [o] of im.objects) vocab.add(o);
    if (options.tags) { for (const t of tags) vocab.add(t); }
    await put(`${dir}/tags/${im.id}.txt`, tags.join("\n") + "\n");
  }
  for (const s of ["trainval", "test"]) {
    await put(`${base}/ImageSets/Main/${s}.txt`, sets[s].join("\n") + "\n");
  }
  const words = [...vocab].sort();
  await put(`${dir}/vocabulary.txt`, words.join("\n") + "\n");
  // Hwang's form of the same tags
  const fields = ["filename", "objectcount", "taglist"];
  for (const [split, file] of [["trainval", "train.mat"], ["test", "test.mat"]] as const) {
    const records = (options.images ?? VOC_FIXTURE).filter((im) => im.split === split).map((im) => {
      const counts = new Array(20).fill(0);
      for (const [o] of im.objects) counts[VOC_CLASSES.indexOf(o)]++;
      const ids = tagsOf(im.id, im.objects).map((t) => words.indexOf(t) + 1).filter((k) => k > 0);
      return {
        filename: matText(`${im.id}.jpg`),
        objectcount: matRow(counts),
        taglist: matRow(ids),
      };
    });
    const half = Math.ceil(records.length / 2);
    await put(
      `${dir}/hwang/${file}`,
      encodeMat({
        D1: matStruct(fields, records.slice(0, half)),
        D2: matStruct(fields, records.slice(half)),
      }),
    );
  }
  await put(`${dir}/hwang/vocabulary.txt`, words.join("\n") + "\n");
}

/**
 * Write a LabelMe 8-scene fixture under `dir`: `Images/<class>_<k>.jpg` (perClass each) and
 * `Annotations/<stem>.xml`, or `Images/<folder>/…` and `Annotations/<folder>/…` (the LabelMe
 * toolbox layout) with `options.folder`; the annotation of `<class>_0` is left out for the first
 * class. `options.names` gives the object names of image k of class c (default: a few shared ones).
 */
export async function writeLabelMeFixture(
  dir: string,
  options: {
    perClass?: number;
    size?: number;
    folder?: string;
    names?: (c: number, k: number) => string[];
  } = {},
): Promise<void> {
  const classes = [
    "coast",
    "forest",
    "highway",
    "insidecity",
    "mountain",
    "opencountry",
    "street",
    "tallbuilding",
  ];
  const perClass = options.perClass ?? 4;
  const size = options.size ?? 32;
  const sub = options.folder ? `/${options.folder}` : "";
  let n = 0;
  for (let c = 0; c < classes.length; c++) {
    for (let k = 0; k < perClass; k++, n++) {
      const stem = `${classes[c]}_img${k}`;
      await put(
        `${dir}/Images${sub}/${stem}.jpg`,
        await jpegBytes({ width: size, height: size, seed: 500 + n, rgb: PALETTE[c] }),
      );
      if (c === 0 && k === 0) continue;
      const names = options.names?.(c, k) ??
        [
          classes[c] === "coast" ? "sea water" : "sky",
          "tree",
          ...(k % 2 === 0 ? [`rare${c}`] : []),
        ];
      const objs = names.map((nm, j) =>
        `<object><name>${nm}</name><deleted>${j === 1 && k === 1 ? 1 : 0}</deleted>` +
        `<polygon><pt><x>1</x><y>1</y></pt></polygon></object>`
      );
      await put(
        `${dir}/Annotations${sub}/${stem}.xml`,
        `<annotation><filename>${stem}.jpg</filename>${objs.join("")}</annotation>`,
      );
    }
  }
}

/**
 * Keras-layout `.h5` bytes for a ResNet's weights: one group per layer with a `weight_names`
 * attribute and datasets `<layer>/<layer>/<weight>:0` (the layout `model.save_weights` writes),
 * plus the root `layer_names` attribute. `options.layers` writes only those layers (broken files).
 */
export async function writeKerasH5(
  weights: ResNetWeights,
  config: ResNetConfig,
  options: { layers?: string[] } = {},
): Promise<Uint8Array> {
  const M = (await h5wasm.ready) as unknown as {
    FS: { readFile(p: string): Uint8Array; unlink(p: string): void };
  };
  const name = `/fixture_${Date.now()}_${Math.floor(Math.random() * 1e9)}.h5`;
  const f = new h5wasm.File(name, "w");
  const layers: string[] = [];
  for (const u of resnetUnits(config)) {
    for (const layer of [u.conv, u.bn]) {
      if (options.layers && !options.layers.includes(layer)) continue;
      layers.push(layer);
      const w = weights.get(layer)!;
      f.create_group(layer);
      const g = f.get(layer) as InstanceType<typeof h5wasm.Group>;
      g.create_group(layer);
      const inner = f.get(`${layer}/${layer}`) as InstanceType<typeof h5wasm.Group>;
      const entries: [string, Float32Array, number[]][] = "kernel" in w
        ? [["kernel:0", w.kernel, [...w.shape]], ["bias:0", w.bias, [w.bias.length]]]
        : [
          ["gamma:0", w.gamma, [w.gamma.length]],
          ["beta:0", w.beta, [w.beta.length]],
          ["moving_mean:0", w.mean, [w.mean.length]],
          ["moving_variance:0", w.variance, [w.variance.length]],
        ];
      for (const [n, data, shape] of entries) {
        inner.create_dataset({ name: n, data, shape, dtype: "<f" });
      }
      g.create_attribute("weight_names", entries.map(([n]) => `${layer}/${n}`));
    }
  }
  f.create_attribute("layer_names", layers);
  f.close();
  const bytes = M.FS.readFile(name);
  M.FS.unlink(name);
  return bytes;
}

function pbVarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function pbField(field: number, payload: Uint8Array): Uint8Array {
  return concat([
    Uint8Array.from([...pbVarint(field * 8 + 2), ...pbVarint(payload.length)]),
    payload,
  ]);
}

/**
 * ONNX ModelProto bytes holding only `graph.initializer` float tensors (what readOnnxAlexNet
 * reads). Tensors alternate between `raw_data` and packed `float_data` storage.
 */
export function onnxBytes(
  tensors: { name: string; dims: number[]; data: Float32Array }[],
): Uint8Array {
  const inits = tensors.map((t, i) => {
    const dims = Uint8Array.from(t.dims.flatMap(pbVarint));
    const vals = new Uint8Array(t.data.slice().buffer);
    return pbField(
      5,
      concat([
        pbField(1, dims),
        Uint8Array.from([2 * 8 + 0, 1]), // data_type = FLOAT
        pbField(8, enc.encode(t.name)),
        i % 2 === 0 ? pbField(9, vals) : pbField(4, vals),
      ]),
    );
  });
  const graph = concat([pbField(2, enc.encode("fixture")), ...inits]);
  return concat([Uint8Array.from([1 * 8 + 0, 7]), pbField(7, graph)]); // ir_version = 7
}

/**
 * A tiny AlexNet in the ONNX model zoo's naming (conv1..5 with channels [4, 4, 6, 6, 4], groups 2
 * on conv2/4/5, fc6 of `fc6` outputs, default 8), seeded, for {@link onnxBytes}.
 */
export function tinyAlexNetTensors(
  options: { fc6?: number; seed?: number } = {},
): { name: string; dims: number[]; data: Float32Array }[] {
  let s = options.seed ?? 12345;
  const fc6 = options.fc6 ?? 8;
  const r = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const t = (name: string, dims: number[], scale: number) => ({
    name,
    dims,
    data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * scale),
  });
  return [
    t("conv1_w_0", [4, 3, 11, 11], 0.05),
    t("conv1_b_0", [4], 0.5),
    t("conv2_w_0", [4, 2, 5, 5], 0.3),
    t("conv2_b_0", [4], 0.5),
    t("conv3_w_0", [6, 4, 3, 3], 0.4),
    t("conv3_b_0", [6], 0.2),
    t("conv4_w_0", [6, 3, 3, 3], 0.4),
    t("conv4_b_0", [6], 0.2),
    t("conv5_w_0", [4, 3, 3, 3], 0.4),
    t("conv5_b_0", [4], 0.2),
    t("fc6_w_0", [fc6, 4 * 36], 0.2),
    t("fc6_b_0", [fc6], 0.1),
  ];
}

/** Archive entries for every file under `dir` (paths prefixed with `prefix`), sorted. */
export async function dirEntries(dir: string, prefix = ""): Promise<FixtureEntry[]> {
  const out: FixtureEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const names: Deno.DirEntry[] = [];
    for await (const d of Deno.readDir(rel === "" ? dir : `${dir}/${rel}`)) names.push(d);
    names.sort((a, b) => a.name.localeCompare(b.name));
    for (const d of names) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory) {
        out.push({ name: `${prefix}${r}/` });
        await walk(r);
      } else out.push({ name: `${prefix}${r}`, data: await Deno.readFile(`${dir}/${r}`) });
    }
  }
  await walk("");
  return out;
}
