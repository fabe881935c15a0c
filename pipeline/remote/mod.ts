/**
 * Remotes: a cache shared between machines. Objects are stored as content-addressed blobs (one
 * per file, named by its sha256) plus the manifest, whose write is the commit point. The runner
 * pulls on a local miss (verifying every digest) and pushes after a local commit.
 * @module
 */
import type { Manifest, Store } from "../store.ts";
import { UsageError } from "../usage.ts";

/** Result of {@link Remote.pull}. */
export type PullResult =
  | { status: "ok"; manifest: Manifest }
  | { status: "missing" }
  | { status: "corrupt" | "error"; problem: string };

/** A shared cache. */
export interface Remote {
  /** Where it is, e.g. `s3://bucket/prefix`. */
  readonly url: string;
  /**
   * Checks that the remote answers and honours conditional writes; returns a warning line if it
   * does not (concurrent commits of one key then race: the last writer wins).
   */
  probe(): Promise<string | undefined>;
  /** Fetches `key` into `store` (verifying every file), unless it is absent or corrupt there. */
  pull(store: Store, key: string): Promise<PullResult>;
  /** Uploads a committed object: `theirs` if another writer committed the key first. */
  push(store: Store, manifest: Manifest): Promise<"pushed" | "theirs">;
}

/**
 * Opens the remote at `url` (`s3://bucket/prefix`), configured from the AWS environment
 * variables read through `env`. A bad URL or missing credentials is a {@link UsageError}.
 */
export async function openRemote(
  url: string,
  env: (name: string) => string | undefined,
): Promise<Remote> {
  // loaded on use: commands without --remote do not load the S3 client
  if (url.startsWith("s3://")) return (await import("./s3.ts")).S3Remote.fromUrl(url, env);
  throw new UsageError(`--remote '${url}': only s3://bucket/prefix is supported`);
}
