/**
 * Test helper: a small HTTP/1.1 file server on 127.0.0.1 (random port), written on raw TCP so a
 * test can misbehave on purpose: cut a connection after N body bytes, stall, answer 404/500, or
 * ignore Range. Serves a map path → bytes and/or a directory. Every response closes its connection.
 *
 * ```ts
 * await using server = startServer({ files: { "/a.bin": bytes } });
 * server.plan("/a.bin", [{ cutAfter: 100 }]); // first request is cut, the next ones are normal
 * await fetch(`${server.url}/a.bin`);
 * server.requests; // [{ method, path, range }]
 * ```
 * @module
 */

/** How the server answers one request for a path. */
export interface Behavior {
  /** Answer with this status and a short text body instead of the file (e.g. 404, 500, 503). */
  status?: number;
  /** Send the headers (full Content-Length) and only this many body bytes, then close. */
  cutAfter?: number;
  /** Send the headers and this many body bytes, then hold the connection open without sending. */
  stallAfter?: number;
  /** Ignore any Range header and send the whole file with 200. */
  ignoreRange?: boolean;
}

/** One request the server saw. */
export interface RequestRecord {
  /** HTTP method. */
  method: string;
  /** The decoded path, without query. */
  path: string;
  /** The Range header, if any. */
  range?: string;
  /** The status answered. */
  status: number;
}

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** The port. */
  port: number;
  /** Requests seen so far, in order. */
  requests: RequestRecord[];
  /** Queue behaviours for a path: each request takes the next one; once empty, requests are normal. */
  plan(path: string, behaviors: Behavior[]): void;
  /** Add or replace a served file. */
  set(path: string, body: Uint8Array | string): void;
  /** Stop listening and close every open connection (stalled ones included). */
  close(): Promise<void>;
}

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Files by URL path (leading `/`). Checked before `root`. */
  files?: Record<string, Uint8Array | string>;
  /** A directory served under `/`; paths with `..` are refused with 400. */
  root?: string;
}

const enc = new TextEncoder();
const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function etagOf(bytes: Uint8Array): string {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return `"${bytes.length.toString(16)}-${h.toString(16)}"`;
}

/** Start a server; close it with `close()` or `await using`. */
export function startServer(options: ServerOptions = {}): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const files = new Map<string, Uint8Array>();
  for (const [p, b] of Object.entries(options.files ?? {})) {
    files.set(p, typeof b === "string" ? enc.encode(b) : b);
  }
  const plans = new Map<string, Behavior[]>();
  const conns = new Set<Deno.Conn>();
  const requests: RequestRecord[] = [];
  const handlers = new Set<Promise<void>>();
  let closed = false;

  async function lookup(path: string): Promise<Uint8Array | null | "bad"> {
    const hit = files.get(path);
    if (hit) return hit;
    if (!options.root) return null;
    const parts = path.split("/").filter((p) => p.length > 0);
    if (parts.some((p) => p === ".." || p === ".")) return "bad";
    try {
      return await Deno.readFile(`${options.root}/${parts.join("/")}`);
    } catch {
      return null;
    }
  }

  async function readHead(conn: Deno.Conn): Promise<string | null> {
    const buf = new Uint8Array(16384);
    let len = 0;
    while (len < buf.length) {
      const n = await conn.read(buf.subarray(len));
      if (n === null) return null;
      len += n;
      const text = new TextDecoder().decode(buf.subarray(0, len));
      if (text.includes("\r\n\r\n")) return text;
    }
    return null;
  }

  async function respond(conn: Deno.Conn): Promise<void> {
    const head = await readHead(conn);
    if (head === null) return;
    const [requestLine, ...headerLines] = head.split("\r\n");
    const [method, target] = requestLine.split(" ");
    const headers = new Map<string, string>();
    for (const l of headerLines) {
      const i = l.indexOf(":");
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const path = decodeURIComponent((target ?? "/").split("?")[0]);
    const range = headers.get("range");
    const behavior = plans.get(path)?.shift() ?? {};

    const send = async (
      status: number,
      text: string,
      hdrs: Record<string, string>,
      body: Uint8Array,
    ) => {
      requests.push({ method, path, range, status });
      const lines = [`HTTP/1.1 ${status} ${text}`, "Connection: close"];
      for (const [k, v] of Object.entries(hdrs)) lines.push(`${k}: ${v}`);
      await writeAll(conn, enc.encode(lines.join("\r\n") + "\r\n\r\n"));
      if (method === "HEAD") return;
      if (behavior.cutAfter !== undefined) {
        await writeAll(conn, body.subarray(0, behavior.cutAfter));
        return; // the caller closes the connection
      }
      if (behavior.stallAfter !== undefined) {
        await writeAll(conn, body.subarray(0, behavior.stallAfter));
        await new Promise<void>((resolve) => stalls.add(resolve));
        return;
      }
      await writeAll(conn, body);
    };

    if (behavior.status !== undefined) {
      const body = enc.encode(`status ${behavior.status} for ${path}\n`);
      await send(behavior.status, REASONS[behavior.status] ?? "Planned", {
        "Content-Length": String(body.length),
        "Content-Type": "text/plain",
      }, body);
      return;
    }
    const file = await lookup(path);
    if (file === "bad" || file === null) {
      const status = file === "bad" ? 400 : 404;
      const body = enc.encode(`${status === 404 ? "not found" : "bad path"}: ${path}\n`);
      await send(status, status === 404 ? "Not Found" : "Bad Request", {
        "Content-Length": String(body.length),
        "Content-Type": "text/plain",
      }, body);
      return;
    }
    const etag = etagOf(file);
    const common = {
      "Accept-Ranges": "bytes",
      "ETag": etag,
      "Content-Type": "application/octet-stream",
    };
    const ifRange = headers.get("if-range");
    const m = range && !behavior.ignoreRange && (!ifRange || ifRange === etag)
      ? /^bytes=(\d*)-(\d*)$/.exec(range)
      : null;
    if (m) {
      let start: number, end: number;
      if (m[1] === "") {
        start = Math.max(0, file.length - Number(m[2]));
        end = file.length - 1;
      } else {
        start = Number(m[1]);
        end = m[2] === "" ? file.length - 1 : Math.min(Number(m[2]), file.length - 1);
      }
      if (start >= file.length || start > end) {
        await send(416, "Range Not Satisfiable", {
          ...common,
          "Content-Range": `bytes */${file.length}`,
          "Content-Length": "0",
        }, new Uint8Array(0));
        return;
      }
      const body = file.subarray(start, end + 1);
      await send(206, "Partial Content", {
        ...common,
        "Content-Range": `bytes ${start}-${end}/${file.length}`,
        "Content-Length": String(body.length),
      }, body);
      return;
    }
    await send(200, "OK", { ...common, "Content-Length": String(file.length) }, file);
  }

  const stalls = new Set<() => void>();

  async function handle(conn: Deno.Conn): Promise<void> {
    conns.add(conn);
    try {
      await respond(conn);
    } catch {
      // the client went away; nothing to do
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const h = handle(conn);
        handlers.add(h);
        h.finally(() => handlers.delete(h));
      }
    } catch {
      // listener closed
    }
  })();

  const server: TestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    plan(path, behaviors) {
      plans.set(path, [...(plans.get(path) ?? []), ...behaviors]);
    },
    set(path, body) {
      files.set(path, typeof body === "string" ? enc.encode(body) : body);
    },
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      for (const release of stalls) release();
      stalls.clear();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await loop;
      await Promise.allSettled([...handlers]);
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}
