/**
 * The default of `--jobs`: as many stages side by side as the machine has cores, capped by
 * memory. The rule:
 *
 * ```
 * jobs = max(1, min(available parallelism, ⌊available memory / STAGE_MEMORY⌋))
 * ```
 *
 * where the available parallelism is `os.availableParallelism()` (the CPUs this process may
 * run on), the available memory is the system's `MemAvailable`, lowered to the cgroup's
 * `memory.max − memory.current` inside a container with a memory limit, and
 * {@link STAGE_MEMORY} is a per-stage estimate. When memory cannot be read (no `--allow-sys`),
 * only the cores count. `--jobs N` overrides the rule; `--jobs 1` runs stages in-process.
 * @module
 */
import { availableParallelism } from "node:os";

/**
 * Memory a running stage is assumed to need: 1 GiB. Measured (peak RSS of a whole Deno process,
 * `/usr/bin/time`, wasm backend): a DSE training at the paper's d = 2048 on 2173 Wikipedia-sized
 * rows peaks at 0.23 GiB with 128-d image features (the `quick` target's) and 0.96 GiB with
 * 4096-d fc6 features (the `paper` target's).
 */
export const STAGE_MEMORY = 2 ** 30;

/** What the rule reads from the machine. */
export interface MachineResources {
  /** CPUs this process may run on. */
  cores: number;
  /** Bytes of memory available for new work, if known. */
  availableMemory?: number;
}

/** The default `--jobs` for a machine (see the module doc for the rule). */
export function defaultJobs(
  machine: MachineResources,
  options: { stageMemory?: number } = {},
): number {
  const perStage = options.stageMemory ?? STAGE_MEMORY;
  const byMemory = machine.availableMemory === undefined
    ? Infinity
    : Math.floor(machine.availableMemory / perStage);
  return Math.max(1, Math.min(Math.floor(machine.cores), byMemory));
}

/** Reads this machine's cores and available memory (memory left out when it cannot be read). */
export function machineResources(): MachineResources {
  let cores = 1;
  try {
    cores = availableParallelism();
  } catch {
    cores = navigator.hardwareConcurrency ?? 1;
  }
  let availableMemory: number | undefined;
  try {
    availableMemory = Deno.systemMemoryInfo().available;
  } catch {
    return { cores };
  }
  const limit = cgroupMemoryLeft();
  if (limit !== undefined) availableMemory = Math.min(availableMemory, limit);
  return { cores, availableMemory };
}

/** `memory.max − memory.current` of this process's cgroup (v2), if it has a limit. */
function cgroupMemoryLeft(): number | undefined {
  try {
    const max = Deno.readTextFileSync("/sys/fs/cgroup/memory.max").trim();
    if (!/^\d+$/.test(max)) return undefined;
    const cur = Number(Deno.readTextFileSync("/sys/fs/cgroup/memory.current").trim());
    return Math.max(0, Number(max) - (Number.isFinite(cur) ? cur : 0));
  } catch {
    return undefined;
  }
}
