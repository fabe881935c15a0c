import { entriesPipeline, matrixPipeline, registry } from "../bench/pipeline.ts";
import { parsePipeline } from "../pipeline/spec.ts";
const which = Deno.args[0] ?? "entries";
const text = which === "entries" ? entriesPipeline(Number(Deno.args[1] ?? 10000)) : matrixPipeline(1000, 100);
const t = performance.now();
const p = parsePipeline(text, { file: "bench.yaml", registry });
console.log(which, p.stages.size, (performance.now() - t).toFixed(0), "ms");
