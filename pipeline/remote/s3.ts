/**
 * An S3 (or S3-compatible) remote, signed with SigV4 by `aws4fetch`:
 *
 * ```
 * <prefix>/blobs/<sha256>        one file's bytes, named by their sha256
 * <prefix>/manifests/<key>.json  the object's manifest: written last, with If-None-Match: *
 * ```
 *
 * Configuration from the usual AWS variables: `AWS_ENDPOINT_URL` (path-style requests to it;
 * else `https://<bucket>.s3.<region>.amazonaws.com`), `AWS_REGION` / `AWS_DEFAULT_REGION`
 * (default us-east-1), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
 * @module
 */
import { AwsClient } from "aws4fetch";
import { digestOfFiles, sha256Hex } from "../hash.ts";
import type { Manifest, Store } from "../store.ts";
import { UsageError } from "../usage.ts";
import type { PullResult, Remote } from "./mod.ts";

/** Options of {@link S3Remote}. */
export interface S3Options {
  /** Bucket name. */
  bucket: string;
  /** Key prefix inside the bucket (no leading or trailing slash; may be empty). */
  prefix: string;
  /** Endpoint URL for S3-compatible servers (path-style); AWS itself when absent. */
  endpoint?: string;
  /** Region (default us-east-1). */
  region?: string;
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Session token, if any. */
  sessionToken?: string;
  /** Attempts of a manifest PUT answered 409 (a concurrent conditional write). Default 5. */
  conflictRetries?: number;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A remote in an S3 bucket. */
export class S3Remote implements Remote {
  /** `s3://bucket/prefix`. */
  readonly url: string;
  #client: AwsClient;
  #base: string;
  #prefix: string;
  #retries: number;

  /** A remote with explicit settings; see {@link S3Remote.fromUrl} for the usual way. */
  constructor(options: S3Options) {
    const region = options.region ?? "us-east-1";
    this.#client = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      sessionToken: options.sessionToken,
      service: "s3",
      region,
      retries: 3,
    });
    this.#base = options.endpoint
      ? `${options.endpoint.replace(/\/+$/, "")}/${options.bucket}`
      : `https://${options.bucket}.s3.${region}.amazonaws.com`;
    this.#prefix = options.prefix ? `${options.prefix}/` : "";
    this.#retries = options.conflictRetries ?? 5;
    this.url = `s3://${options.bucket}/${options.prefix}`.replace(/\/$/, "");
  }

  /** `s3://bucket/prefix` plus the AWS environment variables (through `env`). */
  static fromUrl(url: string, env: (name: string) => string | undefined): S3Remote {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
    if (!m) {
      throw new UsageError(
        `--remote '${url}': expected s3://bucket/prefix (bucket: 3-63 lowercase letters, digits, '.', '-')`,
      );
    }
    const accessKeyId = env("AWS_ACCESS_KEY_ID");
    const secretAccessKey = env("AWS_SECRET_ACCESS_KEY");
    if (!accessKeyId || !secretAccessKey) {
      throw new UsageError(
        `--remote ${url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a server other than AWS)`,
      );
    }
    return new S3Remote({
      bucket: m[1],
      prefix: (m[2] ?? "").replace(/^\/+|\/+$/g, ""),
      endpoint: env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL"),
      region: env("AWS_REGION") ?? env("AWS_DEFAULT_REGION"),
      accessKeyId,
      secretAccessKey,
      sessionToken: env("AWS_SESSION_TOKEN"),
    });
  }

  #url(path: string): string {
    return `${this.#base}/${(this.#prefix + path).split("/").map(encodeURIComponent).join("/")}`;
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    return await this.#client.fetch(this.#url(path), init);
  }

  async #fail(what: string, r: Response): Promise<never> {
    const body = (await r.text().catch(() => "")).replace(/\s+/g, " ").slice(0, 200);
    throw new Error(`${what}: HTTP ${r.status} ${r.statusText}${body ? ` ${body}` : ""}`);
  }

  /** Puts a probe object twice with If-None-Match: *; the second must be refused (412). */
  async probe(): Promise<string | undefined> {
    const path = `probes/${crypto.randomUUID()}`;
    const put = () =>
      this.#request(path, {
        method: "PUT",
        body: "probe",
        headers: { "If-None-Match": "*" },
      });
    const first = await put();
    if (!first.ok) await this.#fail(`${this.url}: cannot write ${path}`, first);
    await first.body?.cancel();
    const second = await put();
    await second.body?.cancel();
    const del = await this.#request(path, { method: "DELETE" }).catch(() => undefined);
    await del?.body?.cancel();
    if (second.status === 412) return undefined;
    if (second.ok) {
      return `${this.url} ignores conditional writes (If-None-Match: *): concurrent commits of one key race and the last writer wins`;
    }
    return await this.#fail(`${this.url}: conditional write probe`, second);
  }

  /** Downloads the manifest, then every blob (checking size and sha256), then installs it. */
  async pull(store: Store, key: string): Promise<PullResult> {
    const r = await this.#request(`manifests/${key}.json`);
    if (r.status === 404) {
      await r.body?.cancel();
      return { status: "missing" };
    }
    if (!r.ok) await this.#fail(`GET manifest ${key.slice(0, 12)}`, r);
    let m: Manifest;
    try {
      m = JSON.parse(await r.text());
    } catch {
      return { status: "corrupt", problem: `manifest of ${key.slice(0, 12)} is not valid JSON` };
    }
    if (m.key !== key || !Array.isArray(m.files) || digestOfFiles(m.files) !== m.digest) {
      return {
        status: "corrupt",
        problem: `manifest of ${key.slice(0, 12)} does not describe this object`,
      };
    }
    const tmp = await store.makeTmp(key);
    try {
      for (const f of m.files) {
        if (f.path.split("/").some((x) => x === ".." || x === "." || x === "")) {
          return { status: "corrupt", problem: `manifest names a bad path '${f.path}'` };
        }
        const b = await this.#request(`blobs/${f.sha256}`);
        if (b.status === 404) {
          await b.body?.cancel();
          return {
            status: "corrupt",
            problem: `blob ${f.sha256.slice(0, 12)} of ${f.path} is missing`,
          };
        }
        if (!b.ok) await this.#fail(`GET blob ${f.sha256.slice(0, 12)}`, b);
        const bytes = new Uint8Array(await b.arrayBuffer());
        const sha = sha256Hex(bytes);
        if (bytes.length !== f.size || sha !== f.sha256) {
          // a blob whose bytes are not its name is garbage: remove it so a later push replaces it
          const d = await this.#request(`blobs/${f.sha256}`, { method: "DELETE" }).catch(() =>
            undefined
          );
          await d?.body?.cancel();
          return {
            status: "corrupt",
            problem: `blob of ${f.path} has sha256 ${
              sha.slice(0, 12)
            }… (${bytes.length} bytes), manifest says ${
              f.sha256.slice(0, 12)
            }… (${f.size} bytes): not used`,
          };
        }
        const slash = f.path.lastIndexOf("/");
        if (slash > 0) await Deno.mkdir(`${tmp}/${f.path.slice(0, slash)}`, { recursive: true });
        await Deno.writeFile(`${tmp}/${f.path}`, bytes);
      }
      return { status: "ok", manifest: await store.install(tmp, m) };
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }

  /** Uploads missing blobs, then the manifest with If-None-Match: * (the commit point). */
  async push(store: Store, manifest: Manifest): Promise<"pushed" | "theirs"> {
    const dir = store.objectDir(manifest.key);
    const done = new Set<string>();
    for (const f of manifest.files) {
      if (done.has(f.sha256)) continue;
      done.add(f.sha256);
      const head = await this.#request(`blobs/${f.sha256}`, { method: "HEAD" });
      await head.body?.cancel();
      if (head.ok) continue;
      const bytes = await Deno.readFile(`${dir}/${f.path}`);
      if (sha256Hex(bytes) !== f.sha256) {
        throw new Error(`${dir}/${f.path} changed since it was committed; not pushed`);
      }
      const put = await this.#request(`blobs/${f.sha256}`, { method: "PUT", body: bytes });
      if (!put.ok) await this.#fail(`PUT blob ${f.sha256.slice(0, 12)}`, put);
      await put.body?.cancel();
    }
    const body = JSON.stringify(manifest, null, 1);
    for (let attempt = 0;; attempt++) {
      const r = await this.#request(`manifests/${manifest.key}.json`, {
        method: "PUT",
        body,
        headers: { "If-None-Match": "*", "Content-Type": "application/json" },
      });
      await r.body?.cancel();
      if (r.ok) return "pushed";
      if (r.status === 412) return "theirs";
      if (r.status === 409 && attempt < this.#retries) {
        await delay(50 * 2 ** attempt * (1 + Math.random()));
        continue;
      }
      await this.#fail(`PUT manifest ${manifest.key.slice(0, 12)}`, r);
    }
  }
}
