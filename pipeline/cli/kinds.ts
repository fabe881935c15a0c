/**
 * `kinds [name...]`: the registered stage kinds (purpose, inputs, outputs, params);
 * `--markdown` prints the docs page (docs/kinds.md).
 * @module
 */
import { describeKind, kindsMarkdown, listKinds } from "../kinds.ts";
import { UsageError } from "../usage.ts";
import type { EngineCommand } from "./command.ts";

/** `kinds [name...]`. */
export const kindsCommand: EngineCommand = {
  usage: "kinds [name]",
  description: "the stage kinds: purpose, inputs, outputs, params (--markdown: docs page)",
  flags: { markdown: { type: "boolean", help: "the kinds as a Markdown page (docs/kinds.md)" } },
  run({ values, positionals }, ctx) {
    if (values.markdown) {
      ctx.out(kindsMarkdown(ctx.registry).trimEnd());
      return Promise.resolve(0);
    }
    if (!positionals.length) {
      ctx.out(listKinds(ctx.registry));
      return Promise.resolve(0);
    }
    for (const name of positionals) {
      const kind = ctx.registry.get(name);
      if (!kind) {
        throw new UsageError(
          `no stage kind '${name}'; known kinds: ${[...ctx.registry.keys()].join(", ")}`,
        );
      }
      ctx.out(describeKind(kind));
    }
    return Promise.resolve(0);
  },
};
