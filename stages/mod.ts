/**
 * The stage registry: every domain stage kind, by name. `cli.ts` hands it to the engine.
 * @module
 */
import type { Registry, StageKind } from "../pipeline/types.ts";
import { kinds as baselines } from "./baselines/mod.ts";
import { kinds as check } from "./check/mod.ts";
import { kinds as data } from "./data/mod.ts";
import { kinds as dse } from "./dse/mod.ts";
import { runOptions } from "./commands.ts";
import { kinds as evaluation } from "./eval/mod.ts";
import { kinds as report } from "./report/mod.ts";

/** Every kind, in registration order. Names must be unique. */
export const allKinds: StageKind[] = [
  ...data,
  ...baselines,
  ...dse,
  ...evaluation,
  ...check,
  ...report,
];

/** Kinds by name. */
export const registry: Registry = buildRegistry(allKinds);

/**
 * The values the stages accept for run options with `choices` (`--backend`), from
 * {@link runOptions}; the CLI rejects any other before running anything.
 */
export const optionChoices: Record<string, readonly string[]> = Object.fromEntries(
  runOptions.flatMap((o) => (o.choices ? [[o.flag, o.choices]] : [])),
);

function buildRegistry(kinds: StageKind[]): Registry {
  const map = new Map<string, StageKind>();
  for (const k of kinds) {
    if (map.has(k.name)) throw new Error(`stage kind "${k.name}" is registered twice`);
    map.set(k.name, k);
  }
  return map;
}

export { commands, runOptions } from "./commands.ts";
