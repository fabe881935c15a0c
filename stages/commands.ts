/**
 * The domain's part of the command line: its run options (`--mirror`, `--backend`, `--lock`,
 * `--update-lock`, which the engine parses and passes to the stages as `ctx.options`) and its
 * subcommands, `metrics` (the stable row interface for CI and scripts) and `report` (the
 * tables of a target's report, in the terminal). The engine hands the commands an
 * {@link EngineApi}; they read artifacts only through it.
 * @module
 */
import { parseArgs } from "node:util";
import type { DomainCommand, EngineApi, RunOption } from "../pipeline/types.ts";
import { BACKEND_ORDER } from "./nn/backend_names.ts";
import { type CheckRow, readCheckResult, summaryLine } from "./formats/check_result.ts";
import { collectRows, type MetricRow } from "./formats/metrics.ts";
import { renderTerminalReport } from "./report/terminal.ts";

/** Object directories of the target's stages that are fresh, with the names of the missing ones. */
async function freshDirs(
  api: EngineApi,
  target: string | undefined,
  filter: (kind: string) => boolean,
): Promise<{ dirs: string[]; missing: string[] }> {
  const project = await api.open();
  const names = project.closure(project.targetStages(target));
  const dirs: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    if (!filter(project.stage(name).kind)) continue;
    const dir = await project.objectDir(name);
    if (dir) dirs.push(dir);
    else missing.push(name);
  }
  return { dirs, missing };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
}

/** What a check compared one metric of a row with (`metrics --json`'s `expected` field). */
export interface RowExpectation {
  /** published, anchor or regression. */
  kind: CheckRow["kind"];
  /** i2t, t2i or avg. */
  metric: CheckRow["metric"];
  /** The expected value. */
  expected: number;
  /** Its tolerance. */
  tol: number;
  /** Within it. */
  ok: boolean;
  /** Where the expected value comes from. */
  source: string;
}

/**
 * Attach to each metrics row what the target's checks compared it with, by kind: a row gets
 * `expected: RowExpectation[]` when a check matched it (same stage and labels).
 */
export function withExpectations(
  rows: readonly MetricRow[],
  checked: readonly CheckRow[],
): (MetricRow & { expected?: RowExpectation[] })[] {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  return rows.map((r) => {
    const hits = checked.filter((c) =>
      c.stage === r.stage && same(c.method, r.method) && same(c.dataset, r.dataset) &&
      same(c.similarity, r.similarity) && c.pca === r.pca
    );
    if (!hits.length) return { ...r };
    return {
      ...r,
      expected: hits.map((c) => ({
        kind: c.kind,
        metric: c.metric,
        expected: c.expected,
        tol: c.tol,
        ok: c.ok,
        source: c.source,
      })),
    };
  });
}

/** `metrics [target] [--json]`: every evaluated row of the target. */
export const metricsCommand: DomainCommand = {
  description: "every evaluated mAP row of a target ({dataset, method, pca, similarity, ...})",
  async run(args: string[], api: EngineApi): Promise<number> {
    const { values, positionals } = parse(args);
    const { dirs, missing } = await freshDirs(
      api,
      positionals[0],
      (k) => k === "evaluate" || k === "random",
    );
    const checks = await freshDirs(api, positionals[0], (k) => k === "check");
    const results = await Promise.all(checks.dirs.map((d) => readCheckResult(d)));
    const rows = withExpectations(
      await collectRows(dirs, { skipMissing: true }),
      results.flatMap((c) => c.rows),
    );
    if (values.json) {
      api.stdout(JSON.stringify(rows, null, 1));
    } else {
      for (const r of rows) {
        const kinds = [...new Set((r.expected ?? []).map((e) => e.kind))].join("+") || "-";
        api.stdout(
          [r.dataset, r.method, r.pca ? "pca" : "-", r.similarity, r.i2t, r.t2i, r.avg, kinds]
            .map((v) => typeof v === "number" ? v.toFixed(4) : String(v)).join("\t"),
        );
      }
      for (const c of results) api.stdout(`check: ${summaryLine(c.counts)}`);
    }
    if (missing.length) {
      api.stderr(
        `metrics: ${missing.length} evaluation stage(s) not built yet (${
          missing.slice(0, 5).join(", ")
        }${missing.length > 5 ? ", …" : ""}); run \`deno task reproduce${
          positionals[0] ? ` ${positionals[0]}` : ""
        }\``,
      );
    }
    return 0;
  },
};

/** `report [target]`: the report tables in the terminal, and the path of report.html. */
export const reportCommand: DomainCommand = {
  description: "print a target's report tables and the path of its report.html",
  async run(args: string[], api: EngineApi): Promise<number> {
    const { positionals } = parse(args);
    const { dirs, missing } = await freshDirs(api, positionals[0], (k) => k === "report");
    if (!dirs.length) {
      api.stderr(
        `report: no built report in target ${positionals[0] ?? "(default)"}${
          missing.length ? ` (not built: ${missing.join(", ")})` : ""
        }; run \`deno task reproduce${positionals[0] ? ` ${positionals[0]}` : ""}\` first`,
      );
      return 1;
    }
    const tty = Deno.stdout.isTerminal();
    api.stdout(await renderTerminalReport(dirs, { color: tty, width: terminalWidth(tty) }));
    return 0;
  },
};

/** The terminal's width, or 100 columns when stdout is not a terminal. */
function terminalWidth(tty: boolean): number {
  if (!tty) return 100;
  try {
    return Math.max(40, Deno.consoleSize().columns);
  } catch {
    return 100;
  }
}

/** Domain subcommands by name, handed to the engine's CLI by `cli.ts`. */
export const commands: Record<string, DomainCommand> = {
  metrics: metricsCommand,
  report: reportCommand,
};

/**
 * The run options of this domain. Only `--backend` may change results: the kinds that depend
 * on it (train-dse, cnn-features) resolve it in their `environment()`, so the backend actually
 * used is in their cache keys and manifests; every other kind ignores it and keeps its key.
 * A mirror and a lock file change where bytes come from, never the bytes (downloads are
 * checked against pinned sha256 digests), so they never enter a key.
 */
export const runOptions: readonly RunOption[] = [
  {
    flag: "mirror",
    value: "<dir>",
    env: "DSE_DATA_MIRROR",
    help: "data mirror passed to stages",
    keyed: false,
  },
  {
    flag: "backend",
    value: "<name>",
    choices: ["auto", ...BACKEND_ORDER],
    help: "compute backend passed to stages",
    keyed: true,
    record: true,
  },
  {
    flag: "lock",
    value: "<file>",
    help: "downloads lock file passed to stages (default downloads.lock.json)",
    keyed: false,
  },
  {
    flag: "update-lock",
    help: "downloads: re-pin files without a published sha256 in downloads.lock.json",
    keyed: false,
  },
];
