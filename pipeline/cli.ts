/**
 * The command line (see cli/mod.ts): `main`, its options and the SIGINT wiring, re-exported
 * for the entry point and the tests.
 * @module
 */
export { cancelOnSignals, main, type MainOptions, usage } from "./cli/mod.ts";
export type { DomainCommand, EngineApi, GlobalOptions, RunOption } from "./types.ts";
