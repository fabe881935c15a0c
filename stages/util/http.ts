/**
 * HTTP(S) downloads with resume: bytes go to a `.part` file; a retry sends `Range: bytes=<have>-`
 * (with `If-Range` on the ETag), so a cut connection or a killed run goes on where it stopped.
 * Retries back off exponentially; a stalled transfer is aborted and retried. Also the run options
 * every fetching stage shares ({@link fetchRunOptions}).
 * @module
 */
import { delay } from "./async.ts";
import { dirname } from "./fs.ts";

/** A non-retryable HTTP answer (4xx other than 408/429), with its status. */
export class FatalHttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /**
   * A failed request that retrying cannot fix.
   * @param status the HTTP status
   * @param message what the server said
   */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** What {@link fetchRunOptions} reads of a running stage (its `ctx`). */
export interface FetchContext {
  /** The CLI's run options (`mirror`, `lock`, `update_lock`, `retries`, ...). */
  options: Record<string, string>;
  /** Cancels transfers. */
  signal: AbortSignal;
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
  ctx: FetchContext,
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
