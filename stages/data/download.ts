/**
 * The `download` stage kind: fetches files by URL into one output directory, `files/`, checking
 * each against a sha256.
 *
 * - **Mirror first.** With a mirror directory (`ctx.options.mirror`: the CLI's `--mirror`, or env
 *   `DSE_DATA_MIRROR`), `<mirror>/<mirror_path or name>` is used when present; no network.
 * - **HTTP(S)** with resume: bytes go to `<scratch>/download/<name>.part`; a retry sends
 *   `Range: bytes=<have>-` (with `If-Range` on the ETag), so a cut connection or a killed run goes on
 *   where it stopped. Retries back off exponentially; a stalled transfer is aborted and retried.
 *   `file://` URLs are copied (a user's own files, checksummed like the rest).
 * - **Checksums.** The sha256 is the authority, not the host: a mismatch discards the bytes, tries
 *   the next URL, and finally fails naming the file, the expected and the actual digest. Nothing
 *   mismatched reaches the output.
 * - **No published sha256** (`sha256: null`): the first successful download records the digest in
 *   the lock file (`downloads.lock.json` at the repo root; `ctx.options.lock` or the `lock` param
 *   names another), keyed by `mirror_path` or `name`; later downloads must match it;
 *   `ctx.options.update_lock === "1"` (`--update-lock`) records the new digest instead.
 *
 * Run options (not part of the cache key): `mirror`, `lock`, `update_lock`, `retries` (default 4),
 * `retry_delay_ms` (default 1000, doubled per retry, at most 30 s), `stall_timeout_s` (default 60).
 *
 * Provenance: `downloads[name] = { source: "mirror" | "url", from, sha256, bytes, check }`.
 * @module
 */
import type { ParamsOf } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import { dirname, exists, moveFile, safeRelativePath, sha256File } from "../util/fs.ts";
import { type FetchOptions, fetchRunOptions, fetchToFile } from "../util/http.ts";
import { type LockFile, readLock, updateLock } from "../util/lock.ts";

/** One file of a download stage. */
export interface DownloadFile {
  /** Path inside the output `files/` directory, e.g. `raw_features.mat` or `images/a.jpg`. */
  name: string;
  /** URLs tried in order (http, https, file). May be empty when a mirror always has the file. */
  urls: string[];
  /** Expected sha256 (hex), or null to use the lock file. */
  sha256: string | null;
  /** Expected size in bytes, if known (checked, and used for progress). */
  size?: number;
  /** Path under the mirror directory (default: `name`), e.g. `wikipedia/raw_features.mat`. */
  mirror_path?: string;
  /** How to get the file by hand when no URL serves it; shown when the download fails. */
  howto?: string;
}

/** Params of the `download` kind. */
export type DownloadParams = ParamsOf<typeof download.params>;

/** Where one file came from (recorded in provenance). */
export interface DownloadRecord {
  /** `mirror` or `url`. */
  source: "mirror" | "url";
  /** The mirror path or the URL. */
  from: string;
  /** Digest of the bytes written. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
  /** How the digest was checked: `param`, `lock`, or `recorded` (first download, now locked). */
  check: "param" | "lock" | "recorded";
}

function validateFiles(files: unknown): DownloadFile[] {
  if (!Array.isArray(files) || files.length === 0) {
    throw new Error("download: `files` must be a non-empty list of {name, urls, sha256}");
  }
  const seen = new Set<string>();
  return files.map((f, i) => {
    const at = `download: files[${i}]`;
    if (typeof f !== "object" || f === null) throw new Error(`${at} must be an object`);
    const o = f as Record<string, unknown>;
    if (typeof o.name !== "string") throw new Error(`${at}.name must be a string`);
    const name = safeRelativePath(o.name);
    if (seen.has(name)) throw new Error(`${at}: name '${name}' appears twice`);
    seen.add(name);
    const urls = o.urls === undefined ? [] : o.urls;
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== "string")) {
      throw new Error(`${at} (${name}).urls must be a list of URL strings`);
    }
    for (const u of urls as string[]) {
      if (!/^(https?|file):/.test(u)) {
        throw new Error(`${at} (${name}): URL '${u}' must be http(s):// or file://`);
      }
    }
    const sha = o.sha256 ?? null;
    if (sha !== null && (typeof sha !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha))) {
      throw new Error(`${at} (${name}).sha256 must be 64 hex digits or null (use the lock file)`);
    }
    if (o.size !== undefined && (typeof o.size !== "number" || o.size < 0)) {
      throw new Error(`${at} (${name}).size must be a number of bytes`);
    }
    if (o.mirror_path !== undefined && typeof o.mirror_path !== "string") {
      throw new Error(`${at} (${name}).mirror_path must be a string`);
    }
    if (o.howto !== undefined && typeof o.howto !== "string") {
      throw new Error(`${at} (${name}).howto must be a string`);
    }
    return {
      name,
      urls: urls as string[],
      sha256: sha === null ? null : (sha as string).toLowerCase(),
      size: o.size as number | undefined,
      mirror_path: o.mirror_path === undefined ? undefined : safeRelativePath(o.mirror_path),
      ...(o.howto === undefined ? {} : { howto: o.howto as string }),
    };
  });
}

/** Options of {@link downloadFiles}. */
export interface DownloadOptions {
  /** Output directory (`files/`). */
  outDir: string;
  /** Directory for `.part` files that survive a kill. */
  scratch: string;
  /** Mirror directory checked first, if any. */
  mirror?: string;
  /** Lock file for files without a sha256. */
  lock: string;
  /** Record new digests for null-sha256 files even if the lock has another. */
  updateLock?: boolean;
  /** Transfer settings. */
  fetch?: Omit<FetchOptions, "size" | "progress">;
  /** Progress, per file. */
  progress?: (done: number, total: number, note?: string) => void;
  /** Log. */
  log?: (msg: string) => void;
}

/** Fetch every file into `outDir`, verified; returns where each came from. */
export async function downloadFiles(
  files: DownloadFile[],
  options: DownloadOptions,
): Promise<Record<string, DownloadRecord>> {
  const log = options.log ?? (() => {});
  const validated = validateFiles(files);
  const lock = validated.some((f) => f.sha256 === null)
    ? await readLock(options.lock)
    : { version: 1, files: {} } as LockFile;
  const records: Record<string, DownloadRecord> = {};
  const toLock: Record<string, { sha256: string; size: number; source: string }> = {};
  await Deno.mkdir(options.outDir, { recursive: true });
  for (const f of validated) {
    const key = f.mirror_path ?? f.name;
    const locked = f.sha256 === null && !options.updateLock ? lock.files[key]?.sha256 : undefined;
    const expected = f.sha256 ?? locked ?? null;
    const check: DownloadRecord["check"] = f.sha256 ? "param" : locked ? "lock" : "recorded";
    const describeExpected = f.sha256
      ? `expected sha256 ${expected}`
      : `sha256 ${expected} recorded in ${options.lock} (rerun with --update-lock if the ` +
        `upstream file changed deliberately)`;
    const dest = `${options.outDir}/${f.name}`;
    await Deno.mkdir(dirname(dest), { recursive: true });
    let record: DownloadRecord | null = null;

    if (options.mirror) {
      const candidate = `${options.mirror.replace(/\/+$/, "")}/${key}`;
      if (await exists(candidate)) {
        const got = await sha256File(candidate);
        if (expected && got.sha256 !== expected) {
          throw new Error(
            `${f.name}: mirror copy ${candidate} has sha256 ${got.sha256}, ${describeExpected}; ` +
              `replace or remove the mirror copy`,
          );
        }
        if (f.size !== undefined && got.bytes !== f.size) {
          throw new Error(
            `${f.name}: mirror copy ${candidate} is ${got.bytes} bytes, expected ${f.size}`,
          );
        }
        await Deno.copyFile(candidate, dest);
        record = { source: "mirror", from: candidate, ...got, check };
        log(`${f.name}: from mirror ${candidate}`);
      } else {
        log(`${f.name}: not in mirror (${candidate})`);
      }
    }

    const failures: string[] = [];
    let denied: string | undefined;
    for (const url of record ? [] : f.urls) {
      const part = `${options.scratch}/download/${f.name.replaceAll("/", "__")}.part`;
      try {
        if (url.startsWith("file:")) {
          const src = decodeURIComponent(new URL(url).pathname);
          if (!(await exists(src))) throw new Error("no such file");
          await Deno.mkdir(dirname(part), { recursive: true });
          await Deno.copyFile(src, part);
        } else {
          const r = await fetchToFile(url, part, {
            ...options.fetch,
            size: f.size,
            log,
            progress: (d, t) => options.progress?.(d, t, f.name),
          });
          if (r.resumedFrom > 0 || r.attempts > 1) {
            log(`${f.name}: ${r.attempts} attempt(s), resumed from byte ${r.resumedFrom}`);
          }
        }
        const got = await sha256File(part);
        if (expected && got.sha256 !== expected) {
          await Deno.remove(part).catch(() => {});
          await Deno.remove(`${part}.json`).catch(() => {});
          failures.push(`${url} → sha256 ${got.sha256}, ${describeExpected}`);
          continue;
        }
        if (f.size !== undefined && got.bytes !== f.size) {
          await Deno.remove(part).catch(() => {});
          await Deno.remove(`${part}.json`).catch(() => {});
          failures.push(`${url} → ${got.bytes} bytes, expected ${f.size}`);
          continue;
        }
        await moveFile(part, dest);
        await Deno.remove(`${part}.json`).catch(() => {});
        record = { source: "url", from: url, ...got, check };
        log(`${f.name}: from ${url} (${got.bytes} bytes, sha256 ${got.sha256})`);
        break;
      } catch (e) {
        if (options.fetch?.signal?.aborted) throw e;
        failures.push(`${url} → ${(e as Error).message}`);
        if (e instanceof Deno.errors.NotCapable) denied ??= (e as Error).message;
      }
    }
    if (!record) {
      const where = options.mirror
        ? `not in mirror ${options.mirror} (looked for ${key})`
        : "no mirror set (--mirror or DSE_DATA_MIRROR)";
      // The first line stands alone (the run summary shows only it); each URL's failure follows.
      const urls = failures.length === 0
        ? "it has no URL"
        : `${failures.length === 1 ? "its URL" : `all ${failures.length} of its URLs`} failed`;
      // A permission the task lacks goes on the first line: it is the one thing to fix.
      const because = denied ? ` (${denied})` : "";
      const howto = f.howto
        ? `. To get it by hand: ${f.howto} (then put it at ${key} under --mirror)`
        : "";
      const tried = failures.map((x) => `\n  - ${x}`).join("");
      throw new Error(
        `download of ${f.name} failed: ${where}, and ${urls}${because}${howto}${tried}`,
      );
    }
    records[f.name] = record;
    if (f.sha256 === null && (check === "recorded" || options.updateLock)) {
      toLock[key] = { sha256: record.sha256, size: record.bytes, source: record.from };
    }
  }
  if (Object.keys(toLock).length > 0) {
    await updateLock(options.lock, toLock);
    log(`recorded ${Object.keys(toLock).join(", ")} in ${options.lock}`);
  }
  return records;
}

/** The `download` stage kind. */
export const download = defineKind({
  name: "download",
  description: "Fetch files (mirror first, then URLs with resume) into files/, sha256-checked",
  module: import.meta.url,
  params: {
    files: typedParam<DownloadFile[]>({
      type: "array",
      doc: "[{name, urls: [..], sha256 (hex or null → lock file), size?, mirror_path?, howto?}]",
    }),
    lock: {
      type: "string",
      default: "",
      doc: "lock file for files without sha256; default --lock or ./downloads.lock.json",
    },
  },
  outputs: ["files"],
  // Bad names, mirror paths, URLs and checksums are spec errors (exit 2, nothing run), not
  // failures found after other stages ran.
  validate(params) {
    try {
      validateFiles(params.files);
      return [];
    } catch (e) {
      return [{ param: "files", message: (e as Error).message.replace(/^download: /, "") }];
    }
  },
  async run(ctx) {
    const params = ctx.params;
    const records = await downloadFiles(params.files, {
      ...fetchRunOptions(ctx, params.lock),
      outDir: ctx.out("files"),
      scratch: ctx.scratch,
      progress: ctx.progress,
      log: ctx.log,
    });
    ctx.provenance.downloads = records;
  },
});
