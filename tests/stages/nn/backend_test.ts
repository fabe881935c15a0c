import { ok as assert, rejects } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import {
  BACKEND_ORDER,
  probeAdapterInChild,
  registerWasmFallbacks,
  selectBackend,
  WASM_CPU_DELEGATED,
} from "../../../stages/nn/backend.ts";
import { registerGradients } from "../../../stages/nn/gradients.ts";
import { Rng } from "../../../stages/util/rng.ts";

registerGradients();
const rng = new Rng(11);
function rand(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i] - b[i]) > tol * (1 + Math.abs(b[i]))) return false;
  }
  return true;
}

Deno.test("an explicit backend is used, and its name and the tfjs version are reported", async () => {
  const info = await selectBackend("cpu", { log: () => {} });
  assert(info.name === "cpu" && tf.getBackend() === "cpu");
  assert(/^\d+\.\d+\.\d+/.test(info.tfjsVersion));
});

Deno.test("an unknown backend or one that cannot load is refused with a clear error", async () => {
  await rejects(selectBackend("tpu"), /unknown backend "tpu": use one of node-gpu, node/);
  let nodeLoads = false;
  try {
    await selectBackend("node", { log: () => {} });
    nodeLoads = true;
  } catch (e) {
    assert(/backend node was requested but does not load/.test((e as Error).message));
  }
  if (nodeLoads) console.log("tfjs-node is installed here; the refusal path was not exercised");
  await selectBackend("cpu", { log: () => {} });
});

Deno.test("automatic selection follows the order and leaves one notice per skipped backend", async () => {
  const logs: string[] = [];
  const info = await selectBackend(undefined, { log: (m) => logs.push(m) });
  const idx = BACKEND_ORDER.indexOf(info.name);
  assert(idx >= 0);
  assert(info.notices.length === idx, `picked ${info.name} after ${info.notices.length} notices`);
  assert(
    logs.length === idx && logs.every((l) => !l.includes("\n")),
    "one line per skipped backend",
  );
  for (let i = 0; i < idx; i++) {
    assert(logs[i].startsWith(`backend ${BACKEND_ORDER[i]} unavailable`));
  }
  await selectBackend("cpu", { log: () => {} });
});

Deno.test("the WebGPU adapter is probed in a child process; a dead probe is an error, not a hang", async () => {
  const p = await probeAdapterInChild();
  assert(p.error === undefined, `probe failed: ${p.error}`);
  assert(typeof p.found === "boolean");
  if (p.found) assert(typeof p.description === "string" && typeof p.software === "boolean");
  console.log(
    `WebGPU adapter here: ${p.found ? `${p.description} (software: ${p.software})` : "none"}`,
  );
  // killed before it can answer (starting deno takes far more than 1 ms)
  const dead = await probeAdapterInChild({ timeoutMs: 1 });
  assert(!dead.found && /printed no answer/.test(dead.error ?? ""), JSON.stringify(dead));
});

Deno.test("wasm fallback kernels agree with the cpu backend", async () => {
  const x = rand(2 * 6 * 6 * 3), w = rand(3 * 3 * 3 * 4), dw = rand(3 * 3 * 3 * 2);
  const a = rand(5 * 7), b = rand(5 * 4), seg = rand(6 * 3);
  const run = () => {
    const xt = tf.tensor4d(x, [2, 6, 6, 3]);
    const convGrad = tf.grad((f) => tf.sum(tf.square(tf.conv2d(xt, f as tf.Tensor4D, 2, "same"))));
    const dwGrads = tf.grads((xx, f) =>
      tf.sum(tf.square(tf.depthwiseConv2d(xx as tf.Tensor4D, f as tf.Tensor4D, 1, "valid")))
    );
    const [gx, gf] = dwGrads([xt, tf.tensor4d(dw, [3, 3, 3, 2])]);
    return {
      conv: convGrad(tf.tensor4d(w, [3, 3, 3, 4])).dataSync().slice(),
      dwx: gx.dataSync().slice(),
      dwf: gf.dataSync().slice(),
      seg: tf.unsortedSegmentSum(
        tf.tensor2d(seg, [6, 3]),
        tf.tensor1d([2, 0, 2, 1, 0, 2], "int32"),
        4,
      )
        .dataSync().slice(),
      tA: tf.matMul(tf.tensor2d(a, [5, 7]), tf.tensor2d(b, [5, 4]), true, false).dataSync().slice(),
      tB: tf.matMul(tf.tensor2d(b, [5, 4]), tf.tensor2d(b, [5, 4]), false, true).dataSync().slice(),
      tAB: tf.matMul(tf.tensor3d(a, [1, 5, 7]), tf.tensor3d(b, [1, 4, 5]), true, true).dataSync()
        .slice(),
    };
  };
  await selectBackend("cpu", { log: () => {} });
  const want = run();
  const info = await selectBackend("wasm", { log: () => {} });
  assert(info.name === "wasm");
  registerWasmFallbacks(); // idempotent
  for (const k of WASM_CPU_DELEGATED) assert(tf.getKernel(k, "wasm"), `${k} registered for wasm`);
  const got = run();
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    assert(close(got[k], want[k]), `${k}: wasm differs from cpu`);
  }
  await selectBackend("cpu", { log: () => {} });
});

Deno.test("first use of the cpu backend prints no 'install tfjs-node' banner", async () => {
  const backend = new URL("../../../stages/nn/backend.ts", import.meta.url).href;
  const code = `import * as tf from "@tensorflow/tfjs-core";
    import { selectBackend } from ${JSON.stringify(backend)};
    await selectBackend("cpu", { log: () => {} });
    tf.add(tf.tensor([1, 2]), 1).dataSync();
    console.error("done");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: new URL("../../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert(out.success, err);
  assert(err.includes("done"), err);
  assert(!err.includes("running TensorFlow.js in Node.js"), err);
});
