/**
 * A local S3 server for tests: `python3 -m moto.server` on a free port (moto enforces
 * conditional writes). {@link motoMissing} says why it cannot run here, if it cannot.
 * @module
 */
import { AwsClient } from "aws4fetch";

/** Why moto cannot run here (python3 or the moto module missing), or undefined. */
export async function motoMissing(): Promise<string | undefined> {
  try {
    const o = await new Deno.Command("python3", {
      args: ["-c", "import moto.server"],
      stdout: "null",
      stderr: "null",
    }).output();
    return o.success ? undefined : "python3 has no moto module (pip install 'moto[server]')";
  } catch {
    return "python3 is not installed";
  }
}

/** A running moto server. */
export interface Moto {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The AWS variables a remote needs to reach it. */
  env: Record<string, string>;
  /** A signed client for direct requests. */
  client: AwsClient;
  /** Creates a bucket. */
  bucket(name: string): Promise<void>;
  /** Stops the server (by its pid). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts moto on a free port and waits until it answers (up to 60 s). */
export async function startMoto(): Promise<Moto> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const child = new Deno.Command("python3", {
    args: ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  };
  const client = new AwsClient({
    accessKeyId: "test",
    secretAccessKey: "test",
    service: "s3",
    region: "us-east-1",
  });
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/`);
      await r.body?.cancel();
      break;
    } catch {
      if (Date.now() - t0 > 60_000) {
        child.kill();
        await child.status;
        throw new Error(`moto did not answer on ${endpoint} within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    endpoint,
    env,
    client,
    async bucket(name: string) {
      const r = await client.fetch(`${endpoint}/${name}`, { method: "PUT" });
      await r.body?.cancel();
      if (!r.ok) throw new Error(`create bucket ${name}: HTTP ${r.status}`);
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
    },
  };
}
