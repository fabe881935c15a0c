import { ok as assert, rejects, strictEqual } from "node:assert";
import { resolveBackendName, tfjsLoadsForResolve } from "../../../stages/nn/backend_env.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** Runs `code` in a fresh `deno eval` from the project root; returns its last stdout line. */
async function evalFresh(code: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return text.split("\n").pop() ?? "";
}

Deno.test("the backend named in the key is the one selectBackend picks, found without loading tfjs", async () => {
  // A fresh process: tfjs-core, once evaluated, leaves its engine in globalThis._tfengine.
  const env = new URL("stages/nn/backend_env.ts", `file://${ROOT}`).href;
  const backend = new URL("stages/nn/backend.ts", `file://${ROOT}`).href;
  const light = JSON.parse(
    await evalFresh(`const m = await import(${JSON.stringify(env)});
      const names = [];
      for (const r of [undefined, "auto", "wasm", "cpu"]) names.push(await m.resolveBackendName(r));
      console.log(JSON.stringify({ names, tfjs: typeof globalThis._tfengine,
        loads: m.tfjsLoadsForResolve() }));`),
  );
  // what tfjs itself settles on, in another fresh process
  const heavy = JSON.parse(
    await evalFresh(`const { selectBackend } = await import(${JSON.stringify(backend)});
      const names = [];
      for (const r of [undefined, "auto", "wasm", "cpu"]) {
        names.push((await selectBackend(r, { log: () => {} })).name);
      }
      console.log(JSON.stringify({ names, tfjs: typeof globalThis._tfengine }));`),
  );
  strictEqual(heavy.tfjs, "object", "the heavy path does load tfjs (the probe works)");
  strictEqual(JSON.stringify(light.names), JSON.stringify(heavy.names));
  // Where tfjs picks wasm or cpu and no tfjs-node package resolves (here), every answer is certain
  // without tfjs; elsewhere (tfjs-node installed, a hardware WebGPU adapter) the resolver loads
  // tfjs to be sure.
  const nodeResolves = ["tfjs-node", "tfjs-node-gpu"].some((p) => {
    try {
      import.meta.resolve(`@tensorflow/${p}`);
      return true;
    } catch {
      return false;
    }
  });
  if (["wasm", "cpu"].includes(heavy.names[0]) && !nodeResolves) {
    strictEqual(light.loads, 0, "tfjs was loaded to resolve");
    strictEqual(light.tfjs, "undefined", "tfjs was loaded to resolve");
  }
  console.log(`backend here: ${light.names[0]}; tfjs loads to resolve it: ${light.loads}`);
});

Deno.test("an explicit backend that does not load is the same error as selectBackend's", async () => {
  const before = tfjsLoadsForResolve();
  let loads = true;
  try {
    await resolveBackendName("node");
  } catch (e) {
    loads = false;
    assert(/backend node was requested but does not load/.test((e as Error).message), String(e));
  }
  if (loads) console.log("tfjs-node is installed here; the refusal path was not exercised");
  strictEqual(tfjsLoadsForResolve(), before + 1, "only tfjs can tell whether tfjs-node loads");
  await rejects(resolveBackendName("tpu"), /unknown backend "tpu": use one of node-gpu, node/);
});
