/**
 * The command line: `reproduce [target]`, `stage <name>`, `status`, `dag`, `gc`, `unlock`,
 * plus domain commands handed in by the entry point.
 *
 * Exit codes: 0 ok; 1 a stage failed, was skipped or returned a failing verdict, or the store
 * could not be used (one line: cause and path); 2 invalid pipeline or usage (one line; nothing
 * run or written); 130 cancelled.
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { formatDiagnostic, PipelineError } from "./spec.ts";
import { Project, type StageState } from "./project.ts";
import { formatDuration, runStages, type RunSummary } from "./run.ts";
import { cacheKey, diffIngredients } from "./key.ts";
import { treeSize } from "./store.ts";
import { dependents } from "./dag.ts";
import { describeKind, kindsMarkdown, listKinds } from "./kinds.ts";
import { didYouMean, UsageError } from "./usage.ts";
import type { Registry } from "./types.ts";
import { clusterOptions, runOne } from "./executor/setup.ts";

/** Engine-wide options shared by every command. */
export interface GlobalOptions {
  /** pipeline.yaml path. */
  pipeline: string;
  /** Artifact store root. */
  artifacts: string;
  /** `--set key=value` overrides. */
  set: string[];
  /** ctx.options passed to stages: `mirror`, `backend`, `lock`, `update_lock`. */
  options: Record<string, string>;
  /** Rehash everything. */
  verify: boolean;
}

/** What a domain command gets from the engine. */
export interface EngineApi {
  /** Global options as parsed from the command line. */
  globals: GlobalOptions;
  /** Loads and validates the pipeline and opens the store (a PipelineError exits 2). */
  open(): Promise<Project>;
  /** Writes a line to stdout. */
  stdout(line: string): void;
  /** Writes a line to stderr. */
  stderr(line: string): void;
}

/** A domain subcommand (e.g. `metrics`, `report`). */
export interface DomainCommand {
  /** One line for `--help`. */
  description: string;
  /**
   * Runs the command with its own arguments (engine flags such as --pipeline, --artifacts,
   * --set, --mirror, --backend, --verify already removed). Returns the exit code.
   */
  run(args: string[], api: EngineApi): Promise<number>;
}

/** Options of {@link main}. */
export interface MainOptions {
  /** Kinds by name. */
  registry: Registry;
  /** Extra subcommands by name. */
  commands?: Record<string, DomainCommand>;
  /** stdout line writer (default console.log). */
  stdout?: (line: string) => void;
  /** stderr line writer (default console.error). */
  stderr?: (line: string) => void;
  /** Cancels a running reproduce/stage (the entry point wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Environment lookup (default Deno.env.get); `DSE_DATA_MIRROR` sets the default --mirror. */
  env?: (name: string) => string | undefined;
  /** Draw progress bars (default: stdout is a terminal). */
  tty?: boolean;
  /**
   * The values the domain accepts for an option passed to stages, e.g. `{ backend: ["cpu",
   * "wasm"] }`: any other value is a usage error (exit 2) before anything runs.
   */
  choices?: Record<string, readonly string[]>;
}

const USAGE = `usage: cli.ts <command> [options]

commands:
  reproduce [target]   run a target (default: the pipeline's default target)
  stage <name>         run a stage and what it needs (exact name, glob, or prefix <name>-*)
  status [target]      table of stage, state, reason, key, last duration
  dag [target]         ASCII tree of the DAG (--dot: Graphviz)
  gc                   list objects the pipeline no longer reaches (--apply deletes them)
  unlock [stage...]    remove lock files (all, or those of the named stages)
  kinds [name]         the stage kinds: purpose, inputs, outputs, params (--markdown: docs page)

options:
  --pipeline <file>    pipeline file (default pipeline.yaml)
  --artifacts <dir>    artifact store (default artifacts)
  --set key=value      override a top-level param (repeatable)
  --mirror <dir>       data mirror passed to stages (default: $DSE_DATA_MIRROR)
  --backend <name>     compute backend passed to stages
  --lock <file>        downloads lock file passed to stages (default downloads.lock.json)
  --jobs <n>           stages run concurrently, each in a worker thread (default 1: in-process)
  --executor <name>    local (default) or slurm: one sbatch job per stage (--jobs caps jobs in flight)
  --sbatch-arg=<flag>  an extra sbatch flag, e.g. --sbatch-arg=--account=lab (repeatable)
  --remote <url>       shared cache s3://bucket/prefix (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID...)
  --in-process         with --jobs: run stages on the main thread (async interleaving only)
  --dry-run            show what would run; run and write nothing (reproduce, stage)
  --json               machine-readable output (reproduce, stage, status)
  --force              re-run the named stage even if fresh (stage)
  --explain <stage>    status: show key ingredients and what changed since the last run
  --verify             rehash every file instead of trusting the stat cache
  --update-lock        downloads: re-pin files without a published sha256 in downloads.lock.json
  --dot                dag: Graphviz output
  --apply              gc: actually delete`;

const GLOBAL_VALUE = new Set(["pipeline", "artifacts", "set", "mirror", "backend", "lock"]);

function splitGlobals(
  args: string[],
): { globals: Record<string, string[]>; rest: string[]; verify: boolean } {
  const globals: Record<string, string[]> = {};
  const rest: string[] = [];
  let verify = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      rest.push(...args.slice(i));
      break;
    }
    if (a === "--verify") {
      verify = true;
      continue;
    }
    if (a === "--update-lock") {
      (globals["update-lock"] ??= []).push("1");
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (m && GLOBAL_VALUE.has(m[1])) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new UsageError(`--${m[1]} needs a value`);
      (globals[m[1]] ??= []).push(v);
      continue;
    }
    rest.push(a);
  }
  return { globals, rest, verify };
}

/**
 * Runs the CLI with `args` (without the program name); returns the exit code.
 * Never calls Deno.exit.
 */
export async function main(args: readonly string[], options: MainOptions): Promise<number> {
  const out = options.stdout ?? ((s: string) => console.log(s));
  const err = options.stderr ?? ((s: string) => console.error(s));
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  const [cmd, ...cmdArgs] = args;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    out(USAGE + domainHelp(options.commands));
    return cmd ? 0 : 2;
  }
  try {
    const { globals: g, rest, verify } = splitGlobals(cmdArgs);
    const globals: GlobalOptions = {
      pipeline: g.pipeline?.at(-1) ?? "pipeline.yaml",
      artifacts: g.artifacts?.at(-1) ?? "artifacts",
      set: g.set ?? [],
      options: {},
      verify,
    };
    const mirror = g.mirror?.at(-1) ?? env("DSE_DATA_MIRROR");
    if (mirror) globals.options.mirror = mirror;
    if (g.backend) globals.options.backend = g.backend.at(-1)!;
    if (g.lock) globals.options.lock = g.lock.at(-1)!;
    if (g["update-lock"]) globals.options.update_lock = "1";
    for (const [name, allowed] of Object.entries(options.choices ?? {})) {
      const v = globals.options[name];
      if (v !== undefined && !allowed.includes(v)) {
        throw new UsageError(
          `unknown --${name} '${v}'${didYouMean(v, allowed)}; use one of ${allowed.join(", ")}`,
        );
      }
    }
    const open = () =>
      Project.open({
        registry: options.registry,
        pipeline: globals.pipeline,
        artifacts: globals.artifacts,
        set: globals.set,
        options: globals.options,
        verify: globals.verify,
      });
    const allCommands = [
      ...["reproduce", "stage", "status", "dag", "gc", "unlock"],
      ...Object.keys(options.commands ?? {}),
    ];
    const domain = options.commands?.[cmd];
    if (domain) return await domain.run(rest, { globals, open, stdout: out, stderr: err });
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        "dry-run": { type: "boolean" },
        "in-process": { type: "boolean" },
        json: { type: "boolean" },
        jobs: { type: "string" },
        force: { type: "boolean" },
        explain: { type: "string" },
        dot: { type: "boolean" },
        apply: { type: "boolean" },
        markdown: { type: "boolean" },
        executor: { type: "string" },
        remote: { type: "string" },
        "sbatch-arg": { type: "string", multiple: true },
        "expect-key": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      out(USAGE + domainHelp(options.commands));
      return 0;
    }
    const jobs = values.jobs === undefined ? 1 : Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) {
      throw new UsageError(`--jobs must be a positive integer`);
    }
    const tty = options.tty ?? Deno.stdout.isTerminal();
    switch (cmd) {
      case "reproduce":
      case "stage": {
        const project = await open();
        let names: string[];
        let force = new Set<string>();
        let target: string | undefined;
        if (cmd === "reproduce") {
          if (positionals.length > 1) throw new UsageError("reproduce takes at most one target");
          if (values.force) throw new UsageError("--force works with `stage <name>`");
          target = positionals[0] ?? project.pipeline.defaultTarget;
          names = project.targetStages(target);
        } else {
          if (positionals.length !== 1) throw new UsageError("usage: stage <name> [--force]");
          const picked = project.matchStages(positionals[0]);
          if (!picked.length) {
            throw new UsageError(
              `no stage matches '${positionals[0]}' (exact name, glob, or prefix '${
                positionals[0]
              }-*')${didYouMean(positionals[0], project.pipeline.stages.keys())}; see \`status\``,
            );
          }
          names = project.closure(picked);
          if (values.force) force = new Set(picked);
        }
        const summary = await runStages(project, names, {
          ...await clusterOptions(values, { project, globals, env, warn: err }),
          jobs,
          workers: values["in-process"] ? false : undefined,
          dryRun: values["dry-run"],
          force,
          signal: options.signal,
          write: values.json ? err : out,
          tty: tty && !values.json,
        });
        reportSummary(summary, { json: !!values.json, target, out, err });
        if (options.signal?.aborted) return 130;
        return summary.ok ? 0 : 1;
      }
      case "run-one": // what a Slurm job runs (executor/setup.ts)
        return await runOne(await open(), positionals, {
          ...values,
          expectKey: values["expect-key"],
          write: err,
        });
      case "status": {
        const project = await open();
        if (values.explain) {
          return await explain(project, values.explain, { json: !!values.json, out });
        }
        const names = positionals[0] ? project.targetStages(positionals[0]) : undefined;
        const states = await project.states(names);
        await project.store.cache.save().catch(() => {});
        if (values.json) {
          out(JSON.stringify(
            states.map((s) => ({
              stage: s.name,
              kind: s.kind,
              state: s.state,
              reason: s.reason,
              key: s.key ?? null,
              object: s.objectDir ?? null,
              last_duration_ms: s.last?.duration_ms ?? null,
              verdict: s.manifest?.verdict ?? null,
            })),
            null,
            1,
          ));
        } else out(await statusTable(states, terminalWidth(tty)));
        return 0;
      }
      case "dag": {
        const project = await open();
        const only = positionals[0] ? new Set(project.targetStages(positionals[0])) : undefined;
        out(values.dot ? dagDot(project, only) : dagTree(project, only));
        return 0;
      }
      case "gc":
        return await gc(await open(), { apply: !!values.apply, out });
      case "kinds": {
        if (values.markdown) {
          out(kindsMarkdown(options.registry).trimEnd());
          return 0;
        }
        if (!positionals.length) {
          out(listKinds(options.registry));
          return 0;
        }
        for (const name of positionals) {
          const kind = options.registry.get(name);
          if (!kind) {
            throw new UsageError(
              `no stage kind '${name}'; known kinds: ${[...options.registry.keys()].join(", ")}`,
            );
          }
          out(describeKind(kind));
        }
        return 0;
      }
      case "unlock": {
        const project = await open();
        let keys: string[] | undefined;
        if (positionals.length) {
          keys = [];
          for (const p of positionals) {
            const picked = project.matchStages(p);
            if (!picked.length) {
              throw new UsageError(
                `no stage matches '${p}'${didYouMean(p, project.pipeline.stages.keys())}`,
              );
            }
            for (const n of picked) {
              const k = await project.keyOf(n);
              if (k) keys.push(k);
            }
          }
        }
        const removed = await project.store.unlock(keys);
        for (const r of removed) {
          out(
            `unlocked ${r.key.slice(0, 12)} ${
              r.owner ? `(${r.owner.stage}, pid ${r.owner.pid} on ${r.owner.host})` : ""
            }${r.alive ? "  WARNING: the owner still runs" : ""}`,
          );
        }
        if (!removed.length) out("no locks");
        return 0;
      }
      default:
        throw new UsageError(
          `unknown command '${cmd}'${didYouMean(cmd, allCommands)}; commands: ${
            allCommands.join(", ")
          }`,
        );
    }
  } catch (e) {
    if (e instanceof PipelineError) {
      reportPipelineError(e, err);
      return 2;
    }
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      err(`error: ${(e as Error).message} (--help for usage)`);
      return 2;
    }
    // A file-system error outside a stage (EACCES, EROFS, ENOSPC, ENOTDIR... on the store, or a
    // permission the task lacks): its cause and path in one line, not a stack trace.
    const code = (e as { code?: string }).code;
    if (
      (code && /^E[A-Z]+$/.test(code)) || e instanceof Deno.errors.PermissionDenied ||
      e instanceof Deno.errors.NotCapable
    ) {
      err(`error: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}

/** Most spec errors shown; YAML syntax errors after the first usually follow from it. */
const MAX_SPEC_ERRORS = 20;

/**
 * Prints a pipeline's errors: the first with a source excerpt and a caret, then the others up
 * to a cap (only the first of YAML syntax errors, whose followers are mostly its echoes).
 */
function reportPipelineError(e: PipelineError, err: (s: string) => void) {
  const ds = e.diagnostics;
  if (!ds.length) return;
  err(formatDiagnostic(ds[0]));
  for (const l of sourceExcerpt(ds[0])) err(l);
  const cap = ds[0].message.startsWith("YAML:") ? 1 : MAX_SPEC_ERRORS;
  for (const d of ds.slice(1, cap)) err(formatDiagnostic(d));
  if (ds.length > cap) {
    err(
      `... and ${ds.length - cap} more error(s)${
        cap === 1 ? ", most of them caused by this one: fix it and run again" : ""
      }`,
    );
  }
  err(`pipeline invalid: ${ds.length} error(s); nothing was run`);
}

/** The diagnostic's source line (tabs shown as →) and a caret under its column. */
function sourceExcerpt(d: { file: string; line?: number; col?: number }): string[] {
  if (d.line === undefined) return [];
  let text: string;
  try {
    text = Deno.readTextFileSync(d.file);
  } catch {
    return [];
  }
  const line = text.split(/\r?\n/)[d.line - 1];
  if (line === undefined) return [];
  const num = String(d.line);
  const shown = line.replaceAll("\t", "→");
  const col = Math.max(1, Math.min(d.col ?? 1, shown.length + 1));
  return [
    `  ${num} | ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`,
    `  ${" ".repeat(num.length)} | ${" ".repeat(col - 1)}^${
      line.includes("\t") ? "  (→ is a tab: indent with spaces)" : ""
    }`,
  ];
}

function domainHelp(commands?: Record<string, DomainCommand>): string {
  if (!commands || !Object.keys(commands).length) return "";
  return `\n\ndomain commands:\n${
    Object.entries(commands).map(([n, c]) => `  ${n.padEnd(20)} ${c.description}`).join("\n")
  }`;
}

function reportSummary(
  summary: RunSummary,
  o: { json: boolean; target?: string; out: (s: string) => void; err: (s: string) => void },
) {
  const count = (s: string) => summary.stages.filter((r) => r.state === s).length;
  const failedVerdicts = summary.stages.filter((r) => r.verdict && !r.verdict.ok);
  if (o.json) {
    o.out(JSON.stringify({ target: o.target ?? null, ...summary }, null, 1));
    return;
  }
  const parts = ["done", "cached", "would-run", "failed", "skipped", "cancelled"]
    .map((s) => [s, count(s)] as const).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  o.out(
    `${summary.ok ? "ok" : "FAILED"}: ${parts.join(", ") || "nothing to do"} in ${
      formatDuration(summary.duration_ms)
    }`,
  );
  for (const r of summary.stages.filter((r) => r.state === "failed")) {
    o.out(`  failed ${r.name}: ${r.error}${r.log ? `\n    log: ${r.log}` : ""}`);
  }
  for (const r of failedVerdicts) o.out(`  verdict FAIL ${r.name}: ${r.verdict!.summary}`);
}

/** Width of the terminal, or 100 columns when stdout is not one. */
function terminalWidth(tty: boolean): number {
  if (!tty) return 100;
  try {
    const c = Deno.consoleSize().columns;
    return c >= 40 ? c : 100;
  } catch {
    return 100;
  }
}

/** Wraps `text` at spaces to lines of at most `width` characters; longer words are split. */
function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  let cur = "";
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > width) {
      if (cur) lines.push(cur);
      cur = "";
      lines.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (!cur) cur = word;
    else if (cur.length + 1 + word.length <= width) cur += ` ${word}`;
    else {
      lines.push(cur);
      cur = word;
    }
  }
  if (cur) lines.push(cur);
  return lines.join("\n");
}

async function statusTable(states: StageState[], columns: number): Promise<string> {
  const { default: Table } = await import("cli-table3");
  const head = ["stage", "state", "reason", "key", "last"];
  const rows = states.map((s) => [
    s.name,
    s.state,
    s.reason.length > 170 ? `${s.reason.slice(0, 167)}...` : s.reason,
    s.key ? s.key.slice(0, 12) : "",
    s.last ? formatDuration(s.last.duration_ms) : "",
  ]);
  const widest = (i: number) => Math.max(head[i].length, ...rows.map((r) => r[i].length));
  // 6 borders, 2 spaces of padding per column; the reason column takes what is left
  const fixed = widest(1) + widest(3) + widest(4);
  const room = columns - 6 - 10 - fixed;
  const stageW = Math.max(5, Math.min(widest(0), Math.floor(room * 0.45)));
  const reasonW = Math.max(10, room - stageW);
  const widths = [stageW, widest(1), reasonW, widest(3), widest(4)];
  const table = new Table({
    head,
    style: { head: [], border: [], compact: true },
    colWidths: widths.map((w) => w + 2),
  });
  for (const r of rows) table.push(r.map((c, i) => wrapText(c, widths[i])));
  const n = (k: string) => states.filter((s) => s.state === k).length;
  return `${table.toString()}\n${n("fresh")} fresh, ${n("stale")} stale, ${n("missing")} missing, ${
    n("running")
  } running`;
}

async function explain(
  project: Project,
  name: string,
  o: { json: boolean; out: (s: string) => void },
): Promise<number> {
  if (!project.pipeline.stages.has(name)) {
    const near = project.matchStages(name);
    throw new UsageError(
      `no stage '${name}'${
        near.length
          ? `; did you mean ${near.slice(0, 5).join(", ")}?`
          : didYouMean(name, project.pipeline.stages.keys())
      }`,
    );
  }
  const st = await project.state(name);
  const ing = st.ingredients;
  const last = st.last;
  const changed = ing && last ? diffIngredients(last.ingredients, ing) : [];
  if (o.json) {
    o.out(
      JSON.stringify(
        {
          stage: name,
          state: st.state,
          reason: st.reason,
          key: st.key ?? null,
          ingredients: ing ?? null,
          last: last ?? null,
          changed,
        },
        null,
        1,
      ),
    );
    return 0;
  }
  const lines: string[] = [];
  lines.push(`stage ${name} (kind ${st.kind}): ${st.state}${st.reason ? ` (${st.reason})` : ""}`);
  lines.push(`key      ${st.key ?? "(unknown until upstream is fresh)"}`);
  if (!ing) {
    lines.push(`params   ${JSON.stringify(project.stage(name).params)}`);
  } else {
    const mark = (cond: boolean) => (cond ? "  ← changed" : "");
    const p = last?.ingredients;
    lines.push(`format   ${ing.format}${mark(!!p && p.format !== ing.format)}`);
    lines.push("code");
    for (const [f, d] of Object.entries(ing.code).sort()) {
      lines.push(`  ${f}  ${d.slice(0, 12)}${mark(!!p && p.code[f] !== d)}`);
    }
    if (Object.keys(ing.deps).length) lines.push("deps");
    for (const [s, v] of Object.entries(ing.deps).sort()) {
      lines.push(`  ${s} → ${v}${mark(!!p && p.deps[s] !== v)}`);
    }
    lines.push("params");
    for (const [k, v] of Object.entries(ing.params)) {
      lines.push(
        `  ${k} = ${JSON.stringify(v)}${
          mark(!!p && JSON.stringify(p.params[k]) !== JSON.stringify(v))
        }`,
      );
    }
    lines.push("inputs");
    for (const [a, i] of Object.entries(ing.inputs)) {
      lines.push(
        `  ${a} ← ${i.stage}${i.output ? `/${i.output}` : ""}  ${i.digest.slice(0, 12)}${
          mark(!!p && p.inputs[a]?.digest !== i.digest)
        }`,
      );
    }
    lines.push("env");
    for (const [k, v] of Object.entries(ing.env)) {
      lines.push(`  ${k} = ${v}${mark(!!p && p.env[k] !== v)}`);
    }
    lines.push("files (read by the stage, not another stage's output)");
    const files = Object.entries(ing.files ?? {});
    if (!files.length) lines.push("  (none)");
    for (const [f, d] of files) {
      lines.push(`  ${f}  ${d.slice(0, 12)}${mark(!!p && p.files?.[f] !== d)}`);
    }
  }
  if (!last) lines.push("last run: none recorded");
  else {
    lines.push(
      `last run: key ${last.key.slice(0, 12)}, ${last.finished}, ${
        formatDuration(last.duration_ms)
      }`,
    );
    if (ing) {
      lines.push(
        changed.length
          ? `changed since last run:\n${changed.map((c) => `  - ${c}`).join("\n")}`
          : cacheKey(ing) === last.key
          ? "unchanged since last run"
          : "unchanged ingredients",
      );
    }
  }
  o.out(lines.join("\n"));
  return 0;
}

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

function fmtBytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

async function gc(
  project: Project,
  o: { apply: boolean; out: (s: string) => void },
): Promise<number> {
  const keep = new Set<string>();
  for (const s of await project.states()) {
    if (s.key) keep.add(s.key);
    else if (s.last) keep.add(s.last.key);
  }
  const store = project.store;
  let total = 0, n = 0;
  for (const key of await store.listObjects()) {
    if (keep.has(key)) continue;
    const m = await store.readManifest(key);
    if (await store.isLocked(key)) continue;
    const size = await treeSize(store.objectDir(key));
    total += size;
    n++;
    o.out(
      `${o.apply ? "removed" : "would remove"} ${key.slice(0, 12)}  ${
        (m?.stage ?? "?").padEnd(30)
      } ${fmtBytes(size)}`,
    );
    if (o.apply) await store.removeObject(key);
  }
  let scratch = 0;
  try {
    for await (const e of Deno.readDir(`${store.root}/scratch`)) {
      if (await store.isLocked(e.name)) continue;
      // Checkpoints of a key the pipeline still needs are kept until its object commits; after
      // that (a kill between commit and scratch removal) they are garbage.
      const committed = (await store.readManifest(e.name)) !== undefined;
      if (keep.has(e.name) && !committed) continue;
      const size = await treeSize(`${store.root}/scratch/${e.name}`);
      scratch += size;
      o.out(
        `${o.apply ? "removed" : "would remove"} scratch/${e.name.slice(0, 12)}  ${fmtBytes(size)}`,
      );
      if (o.apply) await Deno.remove(`${store.root}/scratch/${e.name}`, { recursive: true });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (o.apply) {
    await store.cleanTmp();
    await store.cache.save().catch(() => {});
  }
  o.out(
    `${o.apply ? "removed" : "would remove"} ${n} object(s), ${fmtBytes(total)}${
      scratch ? ` + ${fmtBytes(scratch)} scratch` : ""
    }${o.apply ? "" : " (dry run; pass --apply to delete)"}`,
  );
  return 0;
}

/** Wires SIGINT/SIGTERM to an AbortController (for the entry point). Returns its signal. */
export function cancelOnSignals(): AbortSignal {
  const ac = new AbortController();
  const handler = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error("\ncancelling (again to force)...");
    ac.abort(new Error("cancelled"));
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(s, handler);
    } catch {
      // signals unsupported here
    }
  }
  return ac.signal;
}
