/**
 * `dag [target]`: the DAG as an ASCII tree, or Graphviz with `--dot`.
 * @module
 */
import { dependents } from "../dag.ts";
import type { Project } from "../project.ts";
import type { EngineCommand } from "./command.ts";

/** `dag [target]`. */
export const dagCommand: EngineCommand = {
  usage: "dag [target]",
  description: "ASCII tree of the DAG (--dot: Graphviz)",
  flags: { dot: { type: "boolean", help: "Graphviz output" } },
  async run({ values, positionals }, ctx) {
    const project = await ctx.open();
    const only = positionals[0] ? new Set(project.targetStages(positionals[0])) : undefined;
    ctx.out(values.dot ? dagDot(project, only) : dagTree(project, only));
    return 0;
  },
};

function dagTree(project: Project, only?: Set<string>): string {
  const graph = project.pipeline.graph;
  const rev = dependents(graph);
  const names = [...graph.keys()].filter((n) => !only || only.has(n));
  const roots = names.filter((n) =>
    (graph.get(n) ?? []).filter((d) => !only || only.has(d)).length === 0
  );
  const seen = new Set<string>();
  const lines: string[] = [];
  const label = (n: string) => `${n} [${project.stage(n).kind}]`;
  function walk(n: string, prefix: string, last: boolean, top: boolean) {
    const branch = top ? "" : last ? "└── " : "├── ";
    if (seen.has(n)) {
      lines.push(`${prefix}${branch}${n} ↑`);
      return;
    }
    seen.add(n);
    lines.push(`${prefix}${branch}${label(n)}`);
    const kids = (rev.get(n) ?? []).filter((k) => !only || only.has(k));
    const next = top ? "" : prefix + (last ? "    " : "│   ");
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  }
  for (const r of roots) walk(r, "", true, true);
  lines.push(`(${names.length} stages; ↑ = shown above)`);
  return lines.join("\n");
}

function dagDot(project: Project, only?: Set<string>): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph pipeline {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"];
  for (const s of project.pipeline.stages.values()) {
    if (only && !only.has(s.name)) continue;
    lines.push(`  ${q(s.name)} [label=${q(`${s.name}\n${s.kind}`)}];`);
    for (const i of s.inputs) {
      lines.push(
        `  ${q(i.stage)} -> ${q(s.name)} [label=${
          q(i.output ? `${i.alias} (${i.output})` : i.alias)
        }];`,
      );
    }
  }
  lines.push("}");
  return lines.join("\n");
}
