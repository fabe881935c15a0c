/**
 * Entry point: hands the domain (stage registry, subcommands and run options of stages/mod.ts)
 * to the engine's CLI.
 *
 * ```sh
 * deno run -A cli.ts reproduce [target] | stage <name> | status | dag | gc | unlock
 * ```
 * @module
 */
import { commands, registry, runOptions } from "./stages/mod.ts";
import { cancelOnSignals, main } from "./pipeline/cli/mod.ts";

if (import.meta.main) {
  const code = await main(Deno.args, {
    registry,
    commands,
    runOptions,
    signal: cancelOnSignals(),
  });
  Deno.exit(code);
}
