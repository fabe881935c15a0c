/**
 * The `labelme-annotations` stage kind: the LabelMe XML annotation of every image of an extracted
 * LabelMe folder. Oliva & Torralba's 8-scene zip holds only the images; their annotations (the
 * objects that become the tags) live on the LabelMe server, one file per image, at
 * `http://labelme.csail.mit.edu/Annotations/<folder>/<stem>.xml` (the LabelMe toolbox's
 * `HOMEANNOTATIONS`). No archive of them is published, so this stage fetches them one by one.
 *
 * - **Mirror first**: `<mirror>/<mirror_dir>/<stem>.xml` (default
 *   `labelme/Annotations/<folder>/`, the toolbox's layout) when present.
 * - **Resume**: each file is complete in `<scratch>/annotations/` before the next counts; a killed
 *   run fetches only what is missing. Transfers resume and retry as in the `download` kind.
 * - **Missing annotations** (HTTP 404, or absent from a mirror with no URL): tolerated up to
 *   `maxMissing` (a fraction of the images); above it the stage fails naming some of them.
 * - **Pinning**: annotations are edited online, so no digest is published. The set is pinned as
 *   one entry of the lock file, keyed by `<mirror_dir>`: the sha256 over the sorted
 *   `<stem> <sha256 of the file>` lines (missing ones as `<stem> missing`). A later fetch must give
 *   the same set; `--update-lock` accepts a changed one.
 *
 * Output `data/` holds `<annotations_dir>/<stem>.xml` (default `Annotations/<folder>/`), the
 * layout `raw-dataset` reads with `annotationsDir`; `annotations.json` lists what was found.
 * @module
 */
import { createHash } from "node:crypto";
import type { ParamsOf } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { exists, safeRelativePath, sha256File } from "../util/fs.ts";
import { FatalHttpError, fetchRunOptions, fetchToFile } from "../util/http.ts";
import { readLock, updateLock } from "../util/lock.ts";

/** Params of the `labelme-annotations` kind. */
export type LabelMeAnnotationsParams = ParamsOf<typeof labelmeAnnotationsKind.params>;

/** What {@link fetchAnnotations} found. */
export interface AnnotationSet {
  /** Stems with an annotation, sorted. */
  found: string[];
  /** Stems without one, sorted. */
  missing: string[];
  /** How many came from the mirror. */
  fromMirror: number;
  /** Total bytes of the found files. */
  bytes: number;
  /** sha256 of the set: sorted `<stem> <sha256>` / `<stem> missing` lines. */
  digest: string;
}

/** Options of {@link fetchAnnotations}. */
export interface FetchAnnotationsOptions {
  /** Directory the XML files are written to. */
  outDir: string;
  /** Scratch directory; completed files there survive a kill. */
  scratch: string;
  /** URL of one stem's file, or null for mirror only. */
  url: ((stem: string) => string) | null;
  /** Mirror directory of the files (absolute), if any. */
  mirrorDir?: string;
  /** Transfer settings. */
  fetch?: Parameters<typeof fetchToFile>[2];
  /** Files fetched at once (default 8). */
  concurrency?: number;
  /** Progress, files. */
  progress?: (done: number, total: number) => void;
  /** Cancels between files. */
  signal?: AbortSignal;
}

/**
 * Fetch `<stem>.xml` for every stem into `outDir`: from the scratch copy of an earlier run, else
 * the mirror, else the URL. A 404 (or no source at all) marks the stem missing; any other failure
 * throws.
 */
export async function fetchAnnotations(
  stems: string[],
  options: FetchAnnotationsOptions,
): Promise<AnnotationSet> {
  const done = `${options.scratch}/annotations`;
  // Completed files, by where they came from (a resumed run keeps both).
  for (const sub of ["mirror", "url"]) await Deno.mkdir(`${done}/${sub}`, { recursive: true });
  await Deno.mkdir(options.outDir, { recursive: true });
  const missing = new Set<string>();
  let fromMirror = 0;
  let finished = 0;
  const queue = [...stems];
  async function one(stem: string): Promise<void> {
    const [viaMirror, viaUrl] = ["mirror", "url"].map((sub) => `${done}/${sub}/${stem}.xml`);
    let file = (await exists(viaMirror)) ? viaMirror : (await exists(viaUrl)) ? viaUrl : null;
    if (file === null) {
      const mirrored = options.mirrorDir ? `${options.mirrorDir}/${stem}.xml` : undefined;
      if (mirrored && (await exists(mirrored))) {
        await Deno.copyFile(mirrored, `${viaMirror}.tmp`);
        await Deno.rename(`${viaMirror}.tmp`, viaMirror);
        file = viaMirror;
      } else if (options.url) {
        const part = `${viaUrl}.part`;
        try {
          await fetchToFile(options.url(stem), part, options.fetch);
          await Deno.rename(part, viaUrl);
          await Deno.remove(`${part}.json`).catch(() => {});
          file = viaUrl;
        } catch (e) {
          if (!(e instanceof FatalHttpError && e.status === 404)) throw e;
          await Deno.remove(part).catch(() => {});
          await Deno.remove(`${part}.json`).catch(() => {});
        }
      }
    }
    if (file === null) missing.add(stem);
    else {
      if (file === viaMirror) fromMirror++;
      await Deno.copyFile(file, `${options.outDir}/${stem}.xml`);
    }
    options.progress?.(++finished, stems.length);
  }
  // On the first failure the other workers stop taking files, and every worker has settled
  // before the error is thrown: nothing keeps writing into scratch after the stage failed.
  let failure: { error: unknown } | null = null;
  async function worker(): Promise<void> {
    for (let stem = queue.shift(); stem !== undefined && !failure; stem = queue.shift()) {
      if (options.signal?.aborted) throw options.signal.reason;
      try {
        await one(stem);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  }
  const n = Math.max(1, Math.min(options.concurrency ?? 8, stems.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  const sorted = [...stems].sort();
  const lines: string[] = [];
  let bytes = 0;
  for (const stem of sorted) {
    if (missing.has(stem)) {
      lines.push(`${stem} missing`);
      continue;
    }
    const got = await sha256File(`${options.outDir}/${stem}.xml`);
    lines.push(`${stem} ${got.sha256}`);
    bytes += got.bytes;
  }
  return {
    found: sorted.filter((s) => !missing.has(s)),
    missing: sorted.filter((s) => missing.has(s)),
    fromMirror,
    bytes,
    digest: createHash("sha256").update(lines.join("\n") + "\n").digest("hex"),
  };
}

async function listStems(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const d of Deno.readDir(dir)) {
    if (d.isFile && /\.jpe?g$/i.test(d.name)) out.push(d.name.replace(/\.jpe?g$/i, ""));
  }
  return out.sort();
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(folder|stem)\}/g, (_, k: string) => values[k]);
}

/** The `labelme-annotations` stage kind. */
export const labelmeAnnotationsKind = defineKind({
  name: "labelme-annotations",
  description: "LabelMe XML annotations of every image, one file each (mirror, then the server)",
  module: import.meta.url,
  inputs: { root: "the extracted LabelMe images (an extract stage's `data` output)" },
  params: {
    folder: {
      type: "string",
      doc: "LabelMe folder, e.g. spatial_envelope_256x256_static_8outdoorcategories",
    },
    imagesDir: {
      type: "string",
      default: "",
      doc: "image directory in the input root ('' = folder)",
    },
    url: {
      type: "string",
      default: "http://labelme.csail.mit.edu/Annotations/{folder}/{stem}.xml",
      doc: "URL template ({folder}, {stem}); '' = mirror only",
    },
    mirror_dir: {
      type: "string",
      default: "",
      doc: "mirror directory of the XML files ('' = labelme/Annotations/{folder})",
    },
    annotations_dir: {
      type: "string",
      default: "",
      doc: "output directory inside data/ ('' = Annotations/{folder})",
    },
    maxMissing: {
      type: "number",
      default: 0.05,
      doc: "largest tolerated fraction of images without an annotation",
    },
    concurrency: { type: "integer", default: 8, doc: "files fetched at once" },
    lock: { type: "string", default: "", doc: "lock file ('' = --lock or ./downloads.lock.json)" },
  },
  outputs: ["data", "annotations.json"],
  async run(ctx) {
    const p = ctx.params;
    const root = ctx.inputs.root;
    if (root === undefined) {
      throw new Error(
        "labelme-annotations needs an input named 'root' (the extracted image zip's data output)",
      );
    }
    const values = { folder: p.folder, stem: "" };
    const imagesDir = safeRelativePath(p.imagesDir || p.folder);
    if (!(await exists(`${root}/${imagesDir}`))) {
      throw new Error(
        `labelme-annotations: no image directory ${imagesDir} in ${root}; set 'imagesDir'`,
      );
    }
    const stems = await listStems(`${root}/${imagesDir}`);
    if (stems.length === 0) throw new Error(`labelme-annotations: no .jpg in ${root}/${imagesDir}`);
    const run = fetchRunOptions(ctx, p.lock);
    const mirrorRel = safeRelativePath(
      fill(p.mirror_dir || "labelme/Annotations/{folder}", values),
    );
    const outRel = safeRelativePath(fill(p.annotations_dir || "Annotations/{folder}", values));
    const set = await fetchAnnotations(stems, {
      outDir: `${ctx.out("data")}/${outRel}`,
      scratch: ctx.scratch,
      url: p.url ? (stem) => fill(p.url, { folder: p.folder, stem }) : null,
      mirrorDir: run.mirror ? `${run.mirror.replace(/\/+$/, "")}/${mirrorRel}` : undefined,
      fetch: { ...run.fetch, log: ctx.log },
      concurrency: p.concurrency,
      progress: (d, t) => ctx.progress(d, t, "annotations"),
      signal: ctx.signal,
    });
    const fraction = set.missing.length / stems.length;
    if (fraction > p.maxMissing) {
      throw new Error(
        `labelme-annotations: ${set.missing.length} of ${stems.length} images have no annotation ` +
          `(${set.missing.slice(0, 5).join(", ")}${set.missing.length > 5 ? ", …" : ""}), more ` +
          `than maxMissing=${p.maxMissing}; ${
            run.mirror
              ? `put them under ${run.mirror}/${mirrorRel}/`
              : "give --mirror with labelme/Annotations/<folder>/"
          } or check the URL template ${p.url || "(none)"}`,
      );
    }
    const lock = await readLock(run.lock);
    const pinned = lock.files[mirrorRel]?.sha256;
    if (pinned && pinned !== set.digest && !run.updateLock) {
      throw new Error(
        `labelme-annotations: the annotation set has sha256 ${set.digest}, but ${run.lock} pins ` +
          `${pinned} for ${mirrorRel} (${set.found.length} files, ${set.missing.length} missing); ` +
          `LabelMe annotations are edited online: rerun with --update-lock to accept the new set`,
      );
    }
    if (!pinned || run.updateLock) {
      await updateLock(run.lock, {
        [mirrorRel]: {
          sha256: set.digest,
          size: set.bytes,
          source: `labelme-annotations: ${set.found.length} files, ${set.missing.length} missing`,
        },
      });
      ctx.log(`recorded the annotation set ${set.digest} for ${mirrorRel} in ${run.lock}`);
    }
    const summary = {
      folder: p.folder,
      images: stems.length,
      found: set.found.length,
      missing: set.missing,
      fromMirror: set.fromMirror,
      digest: set.digest,
      check: pinned && !run.updateLock ? "lock" : "recorded",
    };
    await Deno.writeTextFile(ctx.out("annotations.json"), JSON.stringify(summary, null, 2) + "\n");
    ctx.log(
      `${set.found.length}/${stems.length} annotations (${set.fromMirror} from the mirror, ` +
        `${set.missing.length} missing)`,
    );
    ctx.provenance.annotations = summary;
  },
});
