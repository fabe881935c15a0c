/**
 * Entry point: hands the stage registry (and the domain commands, if stages/mod.ts exports
 * `commands`) to the engine's CLI.
 *
 * ```sh
 * deno run -A cli.ts reproduce [target] | stage <name> | status | dag | gc | unlock
 * ```
 * @module
 */
import * as stages from "./stages/mod.ts";
import { cancelOnSignals, type DomainCommand, main } from "./pipeline/cli.ts";

if (import.meta.main) {
  const commands = (stages as { commands?: Record<string, DomainCommand> }).commands;
  const code = await main(Deno.args, {
    registry: stages.registry,
    commands,
    choices: stages.optionChoices,
    signal: cancelOnSignals(),
  });
  Deno.exit(code);
}
