/**
 * The flags every command takes: the engine's own (`--pipeline`, `--artifacts`, `--set`,
 * `--verify`) and the run options the domain declares ({@link RunOption}), which the engine
 * parses, validates and passes to the stages as `ctx.options` without knowing what they mean.
 * @module
 */
import { optionKey } from "../project.ts";
import type { GlobalOptions, RunOption } from "../types.ts";
import { didYouMean, UsageError } from "../usage.ts";

/** The engine's own flags that every command takes, for `--help`. */
export const ENGINE_FLAGS_HELP = [
  ["--pipeline <file>", "pipeline file (default pipeline.yaml)"],
  ["--artifacts <dir>", "artifact store (default artifacts)"],
  ["--set key=value", "override a top-level param (repeatable)"],
  ["--verify", "rehash every file instead of trusting the stat cache"],
] as const;

const ENGINE_VALUE_FLAGS = new Set(["pipeline", "artifacts", "set"]);

/** Throws when two declarations share a flag or a key, or a flag is one of the engine's. */
export function checkRunOptions(runOptions: readonly RunOption[]): void {
  const flags = new Set<string>(["verify", "help", ...ENGINE_VALUE_FLAGS]);
  const keys = new Set<string>();
  for (const o of runOptions) {
    if (!/^[a-z][a-z0-9-]*$/.test(o.flag)) {
      throw new Error(`run option --${o.flag}: a flag is lower-case letters, digits and '-'`);
    }
    if (flags.has(o.flag)) {
      throw new Error(`run option --${o.flag} is declared twice or is the engine's`);
    }
    if (keys.has(optionKey(o))) {
      throw new Error(`run option key '${optionKey(o)}' is declared twice`);
    }
    flags.add(o.flag);
    keys.add(optionKey(o));
  }
}

/**
 * Takes the engine's flags and the domain's run options out of `args`; returns the globals
 * and the rest (the command's own flags and positionals). A run option's value comes from the
 * command line, else from its environment variable; `choices` are checked here, so a bad value
 * is a usage error before anything runs.
 */
export function parseGlobals(
  args: readonly string[],
  options: { runOptions: readonly RunOption[]; env: (name: string) => string | undefined },
): { globals: GlobalOptions; rest: string[] } {
  const byFlag = new Map(options.runOptions.map((o) => [o.flag, o]));
  const given: Record<string, string[]> = {};
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
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(a);
    const run = m ? byFlag.get(m[1]) : undefined;
    if (m && run && run.value === undefined) {
      if (m[2] !== undefined) throw new UsageError(`--${m[1]} takes no value`);
      (given[m[1]] ??= []).push("1");
      continue;
    }
    if (m && (ENGINE_VALUE_FLAGS.has(m[1]) || run)) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new UsageError(`--${m[1]} needs a value`);
      (given[m[1]] ??= []).push(v);
      continue;
    }
    rest.push(a);
  }
  const globals: GlobalOptions = {
    pipeline: given.pipeline?.at(-1) ?? "pipeline.yaml",
    artifacts: given.artifacts?.at(-1) ?? "artifacts",
    set: given.set ?? [],
    options: {},
    verify,
  };
  for (const o of options.runOptions) {
    const v = given[o.flag]?.at(-1) ?? (o.env ? options.env(o.env) || undefined : undefined);
    if (v === undefined) continue;
    if (o.choices && !o.choices.includes(v)) {
      throw new UsageError(
        `unknown --${o.flag} '${v}'${didYouMean(v, o.choices)}; use one of ${o.choices.join(", ")}`,
      );
    }
    globals.options[optionKey(o)] = v;
  }
  return { globals, rest };
}

/** `--help` lines of the domain's run options. */
export function runOptionsHelp(runOptions: readonly RunOption[]): [string, string][] {
  return runOptions.map((o) => {
    const notes = [
      o.env ? `default: $${o.env}` : "",
      o.choices ? `one of ${o.choices.join(", ")}` : "",
      o.keyed ? "may enter cache keys" : "",
    ].filter(Boolean);
    return [
      `--${o.flag}${o.value ? ` ${o.value}` : ""}`,
      `${o.help}${notes.length ? ` (${notes.join("; ")})` : ""}`,
    ];
  });
}
