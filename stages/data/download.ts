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
import { createHash } from "node:crypto";
import type { StageContext, StageKind } from "../../pipeline/types.ts";

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
export interface DownloadParams extends Record<string, unknown> {
  /** The files to fetch. */
  files: DownloadFile[];
  /** Lock file path for files without a sha256; "" = `ctx.options.lock` or `downloads.lock.json`. */
  lock: string;
}

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

/** A lock file: digests recorded by first downloads of files without a published sha256. */
export interface LockFile {
  /** Format version. */
  version: 1;
  /** By key (`mirror_path` or `name`). */
  files: Record<string, { sha256: string; size: number; source: string }>;
}

/** A non-retryable HTTP answer (4xx other than 408/429), with its status. */
export class FatalHttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** @param status the HTTP status; @param message what the server said */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Refuse names that could escape the output directory. Returns the normalised relative path. */
export function safeRelativePath(name: string): string {
  const norm = name.replaceAll("\\", "/");
  const parts = norm.split("/").filter((p) => p !== "" && p !== ".");
  if (
    norm.startsWith("/") || /^[a-zA-Z]:/.test(norm) || parts.length === 0 ||
    parts.some((p) => p === "..")
  ) {
    throw new Error(
      `download: file name '${name}' must be a relative path without '..' (it is written under files/)`,
    );
  }
  return parts.join("/");
}

/** sha256 (hex) and size of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  using f = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  while (true) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    bytes += n;
  }
  return { sha256: h.digest("hex"), bytes };
}

/** Whether `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

async function moveFile(from: string, to: string): Promise<void> {
  await Deno.mkdir(dirname(to), { recursive: true });
  try {
    await Deno.rename(from, to);
  } catch {
    await Deno.copyFile(from, to); // across file systems
    await Deno.remove(from);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Read a lock file; a missing file is an empty lock. */
export async function readLock(path: string): Promise<LockFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { version: 1, files: {} };
    throw e;
  }
  try {
    const lock = JSON.parse(text) as LockFile;
    if (lock.version !== 1 || typeof lock.files !== "object") throw new Error("bad layout");
    return lock;
  } catch (e) {
    throw new Error(
      `lock file ${path} is not valid (${(e as Error).message}); fix it or restore it from git`,
    );
  }
}

/** Record entries into a lock file, under an exclusive `.lck` so parallel stages do not clash. */
export async function updateLock(
  path: string,
  entries: Record<string, { sha256: string; size: number; source: string }>,
): Promise<void> {
  const lck = `${path}.lck`;
  for (let attempt = 0;; attempt++) {
    try {
      (await Deno.open(lck, { createNew: true, write: true })).close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const st = await Deno.stat(lck).catch(() => null);
      if (st?.mtime && Date.now() - st.mtime.getTime() > 60_000) {
        await Deno.remove(lck).catch(() => {});
        continue;
      }
      if (attempt > 400) throw new Error(`lock file ${path} is held by ${lck}; remove it if stale`);
      await delay(50, new AbortController().signal);
    }
  }
  try {
    const lock = await readLock(path);
    Object.assign(lock.files, entries);
    const sorted: LockFile = { version: 1, files: {} };
    for (const k of Object.keys(lock.files).sort()) sorted.files[k] = lock.files[k];
    // One fixed name: the `.lck` above makes this writer the only one (and deno.json's tasks
    // grant writes to exactly these three names).
    const tmp = `${path}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(sorted, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } finally {
    await Deno.remove(lck).catch(() => {});
  }
}

/** Options of {@link fetchToFile}. */
export interface FetchOptions {
  /** Cancels the transfer. */
  signal?: AbortSignal;
  /** Retries after the first attempt (default 4). */
  retries?: number;
  /** First backoff in ms, doubled per retry, capped at 30 s (default 1000). */
  retryDelayMs?: number;
  /** Abort and retry when no byte arrives for this long (default 60 s). */
  stallTimeoutMs?: number;
  /** Expected size, for progress when the server sends no length. */
  size?: number;
  /** Progress callback, bytes. */
  progress?: (done: number, total: number) => void;
  /** Log callback. */
  log?: (msg: string) => void;
}

interface PartMeta {
  url: string;
  etag?: string;
}

/**
 * Download `url` into `part`, resuming from what `part` already holds (a sidecar `part.json`
 * records the URL and ETag the bytes came from). Retries transient failures (network errors, cut
 * connections, stalls, 5xx, 408, 429) with backoff; other HTTP errors fail at once.
 */
export async function fetchToFile(
  url: string,
  part: string,
  options: FetchOptions = {},
): Promise<{ resumedFrom: number; attempts: number }> {
  const signal = options.signal ?? new AbortController().signal;
  const retries = options.retries ?? 4;
  const log = options.log ?? (() => {});
  await Deno.mkdir(dirname(part), { recursive: true });
  const metaPath = `${part}.json`;
  let meta: PartMeta | null = null;
  try {
    meta = JSON.parse(await Deno.readTextFile(metaPath)) as PartMeta;
  } catch { /* no previous part */ }
  if (!meta || meta.url !== url) {
    await Deno.remove(part).catch(() => {});
    meta = { url };
    await Deno.writeTextFile(metaPath, JSON.stringify(meta));
  }
  let firstResume = -1;
  for (let attempt = 0;; attempt++) {
    const have = (await Deno.stat(part).catch(() => null))?.size ?? 0;
    if (firstResume < 0) firstResume = have;
    try {
      await attemptFetch(url, part, have, meta, { ...options, signal });
      await Deno.writeTextFile(metaPath, JSON.stringify(meta));
      return { resumedFrom: firstResume, attempts: attempt + 1 };
    } catch (e) {
      await Deno.writeTextFile(metaPath, JSON.stringify(meta)).catch(() => {});
      if (signal.aborted) throw signal.reason ?? e;
      const permanent = e instanceof FatalHttpError || e instanceof Deno.errors.NotCapable ||
        e instanceof Deno.errors.PermissionDenied;
      if (permanent || attempt >= retries) throw e;
      const wait = Math.min(30_000, (options.retryDelayMs ?? 1000) * 2 ** attempt);
      log(`${url}: ${(e as Error).message}; retry ${attempt + 1}/${retries} in ${wait} ms`);
      await delay(wait, signal);
    }
  }
}

async function attemptFetch(
  url: string,
  part: string,
  have: number,
  meta: PartMeta,
  options: FetchOptions & { signal: AbortSignal },
): Promise<void> {
  const stall = new AbortController();
  const stallMs = options.stallTimeoutMs ?? 60_000;
  let timer = setTimeout(() => stall.abort(new Error(`stalled for ${stallMs} ms`)), stallMs);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new Error(`stalled for ${stallMs} ms`)), stallMs);
  };
  const signal = AbortSignal.any([options.signal, stall.signal]);
  try {
    const headers: Record<string, string> = {};
    if (have > 0) {
      headers["Range"] = `bytes=${have}-`;
      if (meta.etag) headers["If-Range"] = meta.etag;
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, signal });
    } catch (e) {
      if (stall.signal.aborted) throw new Error(`no response: ${stall.signal.reason.message}`);
      throw e;
    }
    let start = 0;
    let total: number | undefined;
    if (res.status === 416 && have > 0) {
      await res.body?.cancel();
      const full = Number(/\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1]);
      if (full === have) return; // the part is already complete
      await Deno.remove(part).catch(() => {});
      throw new Error(`server refused range ${have}- (file is ${full} bytes); restarting`);
    }
    if (res.status === 206) {
      const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!cr || Number(cr[1]) !== have) {
        await res.body?.cancel();
        await Deno.remove(part).catch(() => {});
        throw new Error(`unexpected Content-Range '${res.headers.get("content-range")}'`);
      }
      start = have;
      if (cr[3] !== "*") total = Number(cr[3]);
    } else if (res.status === 200) {
      start = 0; // the server sent everything (no or ignored Range)
    } else {
      await res.body?.cancel();
      const msg = `HTTP ${res.status} ${res.statusText}`.trim();
      if (res.status >= 500 || res.status === 408 || res.status === 429) throw new Error(msg);
      throw new FatalHttpError(res.status, msg);
    }
    const etag = res.headers.get("etag");
    if (etag && !etag.startsWith("W/")) meta.etag = etag;
    else delete meta.etag;
    const length = res.headers.get("content-length");
    const expected = length !== null ? Number(length) : undefined;
    if (total === undefined) total = expected !== undefined ? start + expected : options.size;
    using file = await Deno.open(part, {
      write: true,
      create: true,
      truncate: start === 0,
      append: start > 0,
    });
    let received = 0;
    let lastReport = 0;
    if (!res.body) throw new Error("empty response body");
    try {
      for await (const chunk of res.body) {
        kick();
        let off = 0;
        while (off < chunk.length) off += await file.write(chunk.subarray(off));
        received += chunk.length;
        const now = Date.now();
        if (options.progress && now - lastReport > 200) {
          lastReport = now;
          options.progress(start + received, total ?? 0);
        }
      }
    } catch (e) {
      if (stall.signal.aborted) {
        throw new Error(`transfer ${stall.signal.reason.message} after ${start + received} bytes`);
      }
      throw new Error(
        `connection lost after ${start + received} bytes: ${(e as Error).message}`,
      );
    }
    if (expected !== undefined && received < expected) {
      throw new Error(`connection closed after ${start + received} of ${start + expected} bytes`);
    }
    options.progress?.(start + received, total ?? start + received);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The run options every fetching stage shares (not part of the cache key): the mirror directory,
 * the lock file (`lockParam`, else `--lock`, else `./downloads.lock.json`), `--update-lock`, and
 * the transfer settings (`retries`, `retry_delay_ms`, `stall_timeout_s`).
 */
export function fetchRunOptions(
  ctx: Pick<StageContext, "options" | "signal">,
  lockParam = "",
): {
  mirror?: string;
  lock: string;
  updateLock: boolean;
  fetch: Omit<FetchOptions, "size" | "progress">;
} {
  const o = ctx.options;
  return {
    mirror: o.mirror || undefined, // the CLI fills it from --mirror or DSE_DATA_MIRROR
    lock: lockParam || o.lock || `${Deno.cwd()}/downloads.lock.json`,
    updateLock: o.update_lock === "1" || o.update_lock === "true",
    fetch: {
      signal: ctx.signal,
      retries: numberOption(o, "retries", 4),
      retryDelayMs: numberOption(o, "retry_delay_ms", 1000),
      stallTimeoutMs: numberOption(o, "stall_timeout_s", 60) * 1000,
    },
  };
}

function numberOption(options: Record<string, string>, key: string, dflt: number): number {
  const v = options[key];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`download: option ${key}=${v} must be a non-negative number`);
  }
  return n;
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
export const download: StageKind = {
  name: "download",
  description: "Fetch files (mirror first, then URLs with resume) into files/, sha256-checked",
  module: import.meta.url,
  params: {
    files: {
      type: "array",
      doc: "[{name, urls: [..], sha256 (hex or null → lock file), size?, mirror_path?, howto?}]",
    },
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
  async run(ctx: StageContext) {
    const params = ctx.params as DownloadParams;
    const records = await downloadFiles(params.files, {
      ...fetchRunOptions(ctx, params.lock),
      outDir: ctx.out("files"),
      scratch: ctx.scratch,
      progress: ctx.progress,
      log: ctx.log,
    });
    ctx.provenance.downloads = records;
  },
};
