/**
 * Test helper: run a linear-algebra test on every backend this box has — the TypeScript fallback
 * always, LAPACK when a system library loads (else that variant is registered as ignored, so the
 * test list shows what was not run).
 * @module
 */
import {
  linalgBackend,
  type LinalgBackendName,
  useLinalgBackend,
} from "../../stages/linalg/mod.ts";
import { loadLapack } from "../../stages/linalg/lapack.ts";

/** Whether a system LAPACK loaded on this box. */
export const LAPACK_LOADED: boolean = loadLapack().lapack !== undefined;

/** The backends available here, TypeScript first. */
export const BACKENDS: readonly LinalgBackendName[] = LAPACK_LOADED
  ? ["typescript", "lapack"]
  : ["typescript"];

/** Run `fn` with `backend` forced, restoring the previous choice afterwards (sync or async). */
export async function withBackend<T>(
  backend: LinalgBackendName,
  fn: () => T | Promise<T>,
): Promise<T> {
  const prev = useLinalgBackend(backend);
  try {
    if (linalgBackend().name !== backend) throw new Error(`backend ${backend} did not take`);
    return await fn();
  } finally {
    useLinalgBackend(prev);
  }
}

/** Register `fn` as one test per backend: `name [typescript]`, `name [lapack]`. */
export function testBothBackends(name: string, fn: () => void | Promise<void>): void {
  for (const backend of ["typescript", "lapack"] as const) {
    Deno.test({
      name: `${name} [${backend}]`,
      ignore: backend === "lapack" && !LAPACK_LOADED,
      fn: () => withBackend(backend, fn),
    });
  }
}
