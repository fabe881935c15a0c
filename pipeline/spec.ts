/**
 * The pipeline spec: see {@link ./spec/mod.ts}. Kept as this path so that `pipeline/project.ts`,
 * `pipeline/cli.ts` and the tests import it unchanged.
 * @module
 */
export * from "./spec/mod.ts";
