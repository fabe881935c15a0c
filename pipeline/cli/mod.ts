/**
 * The command line: `reproduce [target]`, `stage <name>`, `status`, `dag`, `gc`, `unlock`,
 * `kinds`, plus the domain's commands and run options handed in by the entry point. `main`
 * parses the flags every command shares and dispatches; each command is one file here.
 *
 * Exit codes: 0 ok; 1 a stage failed, was skipped or returned a failing verdict, or the store
 * could not be used (one line: cause and path); 2 invalid pipeline or usage (one line; nothing
 * run or written); 130 cancelled.
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { PipelineError } from "../spec.ts";
import { Project } from "../project.ts";
import { didYouMean, explainPermission, UsageError } from "../usage.ts";
import type { DomainCommand, Registry, RunOption } from "../types.ts";
import type { CommandArgs, EngineCommand, Flag } from "./command.ts";
import { dagCommand } from "./dag.ts";
import { reportPipelineError } from "./errors.ts";
import { gcCommand } from "./gc.ts";
import { defaultJobs, machineResources } from "./jobs.ts";
import { kindsCommand } from "./kinds.ts";
import { checkRunOptions, ENGINE_FLAGS_HELP, parseGlobals, runOptionsHelp } from "./options.ts";
import { reproduceCommand, stageCommand } from "./reproduce.ts";
import { runOneCommand } from "./run_one.ts";
import { statusCommand } from "./status.ts";
import { unlockCommand } from "./unlock.ts";

/** Options of {@link main}. */
export interface MainOptions {
  /** Kinds by name. */
  registry: Registry;
  /** Extra subcommands by name. */
  commands?: Record<string, DomainCommand>;
  /**
   * The domain's run options (e.g. `--mirror`, `--backend`): parsed on every command, checked
   * against their `choices`, shown in `--help`, passed to stages as `ctx.options`.
   */
  runOptions?: readonly RunOption[];
  /** stdout line writer (default console.log). */
  stdout?: (line: string) => void;
  /** stderr line writer (default console.error). */
  stderr?: (line: string) => void;
  /** Cancels a running reproduce/stage (the entry point wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Environment lookup (default Deno.env.get), for the run options' `env` defaults. */
  env?: (name: string) => string | undefined;
  /** Draw progress bars (default: stdout is a terminal). */
  tty?: boolean;
  /** `--jobs` when not given (default: {@link defaultJobs} of this machine). */
  jobs?: number;
}

/** The engine's commands by name. */
export const ENGINE_COMMANDS: Readonly<Record<string, EngineCommand>> = {
  reproduce: reproduceCommand,
  stage: stageCommand,
  status: statusCommand,
  dag: dagCommand,
  gc: gcCommand,
  unlock: unlockCommand,
  kinds: kindsCommand,
  "run-one": runOneCommand,
};

/**
 * Runs the CLI with `args` (without the program name); returns the exit code.
 * Never calls Deno.exit.
 */
export async function main(args: readonly string[], options: MainOptions): Promise<number> {
  const out = options.stdout ?? ((s: string) => console.log(s));
  const err = options.stderr ?? ((s: string) => console.error(s));
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  const runOptions = options.runOptions ?? [];
  checkRunOptions(runOptions);
  const [cmd, ...cmdArgs] = args;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    out(usage(options));
    return cmd ? 0 : 2;
  }
  try {
    const { globals, rest } = parseGlobals(cmdArgs, { runOptions, env });
    const open = () =>
      Project.open({
        registry: options.registry,
        pipeline: globals.pipeline,
        artifacts: globals.artifacts,
        set: globals.set,
        options: globals.options,
        runOptions,
        verify: globals.verify,
      });
    const domain = options.commands?.[cmd];
    if (domain) return await domain.run(rest, { globals, open, stdout: out, stderr: err });
    const command = ENGINE_COMMANDS[cmd];
    if (!command) {
      const all = [...Object.keys(ENGINE_COMMANDS), ...Object.keys(options.commands ?? {})];
      throw new UsageError(
        `unknown command '${cmd}'${didYouMean(cmd, all)}; commands: ${all.join(", ")}`,
      );
    }
    const parsed = parseCommandArgs(cmd, rest);
    if (parsed.values.help) {
      out(usage(options));
      return 0;
    }
    return await command.run(parsed, {
      globals,
      open,
      out,
      err,
      registry: options.registry,
      signal: options.signal,
      tty: options.tty ?? Deno.stdout.isTerminal(),
      defaultJobs: () => options.jobs ?? defaultJobs(machineResources()),
      runOptions,
      env,
    });
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
      err(`error: ${explainPermission((e as Error).message)}`);
      return 1;
    }
    throw e;
  }
}

/**
 * Parses an engine command's flags and positionals (strict). A flag the command does not take
 * is a usage error naming the commands that do take it, or the nearest flag it does take.
 */
function parseCommandArgs(cmd: string, rest: string[]): CommandArgs {
  const command = ENGINE_COMMANDS[cmd];
  const flags: Record<string, Flag> = { ...command.flags, help: { type: "boolean", help: "" } };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--") break;
    const m = /^--([^=]+)(=.*)?$/s.exec(a);
    if (!m) continue;
    const name = m[1];
    const own = flags[name];
    if (own) {
      if (own.type === "string" && m[2] === undefined) i++;
      continue;
    }
    const elsewhere = Object.entries(ENGINE_COMMANDS).filter(([, c]) =>
      !c.hidden && name in c.flags
    )
      .map(([n]) => n);
    throw new UsageError(
      elsewhere.length
        ? `--${name} works with ${elsewhere.join(", ")}, not ${cmd}`
        : `unknown option --${name} for ${cmd}${
          didYouMean(`--${name}`, Object.keys(flags).map((f) => `--${f}`))
        }`,
    );
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: Object.fromEntries(
      Object.entries(flags).map(([n, f]) => [n, n === "help" ? { ...f, short: "h" } : f]),
    ) as Record<string, { type: "boolean" | "string"; short?: string }>,
  });
  return { values: values as CommandArgs["values"], positionals };
}

/** The `--help` text: commands, options (engine, domain, per command), domain commands. */
export function usage(options: Pick<MainOptions, "commands" | "runOptions">): string {
  const row = (a: string, b: string) => `  ${a.padEnd(20)} ${b}`;
  const lines = ["usage: cli.ts <command> [options]", "", "commands:"];
  const shown = Object.entries(ENGINE_COMMANDS).filter(([, c]) => !c.hidden);
  for (const [, c] of shown) lines.push(row(c.usage, c.description));
  lines.push("", "options:");
  for (const [a, b] of ENGINE_FLAGS_HELP) lines.push(row(a, b));
  for (const [a, b] of runOptionsHelp(options.runOptions ?? [])) lines.push(row(a, b));
  const seen = new Map<string, { help: string; value?: string; commands: string[] }>();
  for (const [name, c] of shown) {
    for (const [flag, f] of Object.entries(c.flags)) {
      const entry = seen.get(flag) ?? { help: f.help, value: f.value, commands: [] };
      entry.commands.push(name);
      seen.set(flag, entry);
    }
  }
  for (const [flag, f] of seen) {
    lines.push(
      row(`--${flag}${f.value ? ` ${f.value}` : ""}`, `${f.help} (${f.commands.join(", ")})`),
    );
  }
  const domain = Object.entries(options.commands ?? {});
  if (domain.length) {
    lines.push("", "domain commands:");
    for (const [n, c] of domain) lines.push(row(n, c.description));
  }
  return lines.join("\n");
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
