/**
 * Self-documentation of stage kinds, generated from their schemas (never hand-copied): purpose,
 * inputs, outputs, params with types and defaults, and the files they read outside the store.
 * `kinds [name]` prints it; `kinds --markdown` writes the docs page (docs/kinds.md).
 * @module
 */
import type { Params, ParamSpec, Registry, StageKind } from "./types.ts";

function show(v: unknown): string {
  return JSON.stringify(v);
}

/** The default params of a kind (required ones left out). */
function defaults(kind: StageKind): Params {
  const p: Params = {};
  for (const [k, s] of Object.entries(kind.params)) if (s.default !== undefined) p[k] = s.default;
  return p;
}

/** The kind's outputs: the list, or for a function of params its value at the defaults. */
export function kindOutputs(kind: StageKind): { names: string[]; dynamic: boolean } {
  if (typeof kind.outputs !== "function") return { names: [...kind.outputs], dynamic: false };
  // with a required param unset, the names would be made up
  if (Object.values(kind.params).some((s) => s.default === undefined)) {
    return { names: [], dynamic: true };
  }
  try {
    return { names: kind.outputs(defaults(kind)), dynamic: true };
  } catch {
    return { names: [], dynamic: true };
  }
}

function typeLine(spec: ParamSpec): string {
  const parts: string[] = [spec.type];
  if (spec.default === undefined) parts.push("required");
  else parts.push(`default ${show(spec.default)}`);
  if (spec.enum) parts.push(`one of ${spec.enum.map(show).join(", ")}`);
  if (spec.file) parts.push("a file: its content is in the cache key");
  return parts.join("; ");
}

function inputLines(kind: StageKind): [string, string][] {
  if (kind.inputs === "any") return [["(any alias)", "every input it is given"]];
  return Object.entries(kind.inputs ?? {});
}

/**
 * One kind as plain text for the terminal: purpose, inputs, outputs, params.
 * @param kind the kind
 */
export function describeKind(kind: StageKind): string {
  const lines = [`${kind.name}: ${kind.description}`, "", "inputs"];
  const ins = inputLines(kind);
  if (!ins.length) lines.push("  (none)");
  const w = Math.max(0, ...ins.map(([a]) => a.length));
  for (const [a, d] of ins) lines.push(`  ${a.padEnd(w)}  ${d}`);
  const outs = kindOutputs(kind);
  lines.push("", `outputs${outs.dynamic ? " (depend on params; at the defaults)" : ""}`);
  lines.push(`  ${outs.names.join(", ") || (outs.dynamic ? "(named by the params)" : "(none)")}`);
  lines.push("", "params");
  const ps = Object.entries(kind.params);
  if (!ps.length) lines.push("  (none)");
  const pw = Math.max(0, ...ps.map(([n]) => n.length));
  for (const [n, s] of ps) {
    lines.push(`  ${n.padEnd(pw)}  ${typeLine(s)}`);
    if (s.doc) lines.push(`  ${"".padEnd(pw)}  ${s.doc}`);
  }
  if (kind.files) {
    lines.push("", "files outside the store: read from paths in its params; in the cache key");
  }
  return lines.join("\n");
}

/**
 * Every kind, one line each (name, purpose).
 * @param registry the kinds
 */
export function listKinds(registry: Registry): string {
  const w = Math.max(...[...registry.keys()].map((n) => n.length));
  return [...registry.values()].map((k) => `${k.name.padEnd(w)}  ${k.description}`).join("\n");
}

function md(text: string): string {
  return text.replace(/([<>*])/g, "\\$1");
}

/**
 * The docs page of every kind, in Markdown, in registry order.
 * @param registry the kinds
 */
export function kindsMarkdown(registry: Registry): string {
  const out = [
    "# Stage kinds",
    "",
    "Generated from the kinds' schemas by `npx -y deno@2.9.6 task kinds --markdown`; a test keeps",
    "this page in sync with the code. `npx -y deno@2.9.6 task kinds <name>` prints one kind.",
    "",
    "A param without a default is required. Inputs are named under `inputs:` in a pipeline file;",
    "an alias a kind does not declare is a validation error.",
    "",
    ...[...registry.values()].map((k) => `- [\`${k.name}\`](#${k.name}): ${md(k.description)}`),
  ];
  for (const kind of registry.values()) {
    out.push("", `## ${kind.name}`, "", md(kind.description), "", "**Inputs:**", "");
    const ins = inputLines(kind);
    if (!ins.length) out.push("- none");
    for (const [a, d] of ins) {
      out.push(kind.inputs === "any" ? `- any alias: ${md(d)}` : `- \`${a}\`: ${md(d)}`);
    }
    const outs = kindOutputs(kind);
    out.push(
      "",
      `**Outputs${outs.dynamic ? " (depend on params; at the defaults)" : ""}:** ${
        outs.names.map((n) => `\`${n}\``).join(", ") ||
        (outs.dynamic ? "named by the params" : "none")
      }`,
      "",
      "**Params:**",
      "",
    );
    const ps = Object.entries(kind.params);
    if (!ps.length) out.push("- none");
    for (const [n, s] of ps) {
      const bits: string[] = [s.type];
      bits.push(s.default === undefined ? "**required**" : `default \`${show(s.default)}\``);
      if (s.enum) bits.push(`one of ${s.enum.map((e) => `\`${show(e)}\``).join(", ")}`);
      if (s.file) bits.push("a file: its content is in the cache key");
      out.push(`- \`${n}\` (${bits.join(", ")})${s.doc ? `: ${md(s.doc)}` : ""}`);
    }
    if (kind.files) {
      out.push(
        "",
        "Files named in its params that are outside the store are read by content into the cache " +
          "key: editing one in place makes the stage stale (`status --explain` lists them).",
      );
    }
  }
  return out.join("\n") + "\n";
}
