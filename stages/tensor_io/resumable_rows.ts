/**
 * Resumable production of a float32 row matrix in a stage's scratch space.
 *
 * Rows are appended batch by batch to `<stem>.f32`; after each batch `<stem>.json` records the job
 * and the rows done (written to a temp file and renamed, so it is never half-written). A killed run
 * restarts at the next batch; bytes past the recorded count are truncated away.
 * @module
 */

/** Options of {@link produceRowsResumable}. */
export interface ResumableRowsOptions {
  /** Scratch file stem; `<stem>.f32` and `<stem>.json` hold the state. */
  scratch: string;
  /** Identifies the job: a checkpoint of another job is discarded. Must be JSON. */
  job: unknown;
  /** Rows per batch (also the resume granularity). */
  batch: number;
  /** Cancels between batches. */
  signal?: AbortSignal;
  /** Progress callback (rows done, total). */
  progress?: (done: number, total: number) => void;
  /** Log lines. */
  log?: (msg: string) => void;
  /** What a row is, for the log (default `row`). */
  unit?: string;
}

/**
 * Produces `n` rows of `width` float32 values, resuming from the scratch state.
 * @param shape `{ n, width }` of the result
 * @param produce writes rows `start … start+count−1` and returns them (length ≥ count·width)
 * @returns the n × width values, row-major
 */
export async function produceRowsResumable(
  shape: { n: number; width: number },
  produce: (start: number, count: number) => Promise<Float32Array>,
  options: ResumableRowsOptions,
): Promise<Float32Array> {
  const { n, width } = shape;
  const stateFile = `${options.scratch}.json`;
  const dataFile = `${options.scratch}.f32`;
  const job = JSON.stringify(options.job);
  let done = 0;
  try {
    const st = JSON.parse(await Deno.readTextFile(stateFile));
    if (JSON.stringify(st.job) === job) done = st.done;
    else options.log?.(`scratch ${stateFile} is for another job; starting over`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      options.log?.(`unreadable ${stateFile}; starting over`);
    }
  }
  const f = await Deno.open(dataFile, { read: true, write: true, create: true });
  try {
    await f.truncate(done * width * 4);
    if (done > 0) options.log?.(`resuming at ${options.unit ?? "row"} ${done} of ${n}`);
    await f.seek(0, Deno.SeekMode.End);
    while (done < n) {
      options.signal?.throwIfAborted();
      const m = Math.min(options.batch, n - done);
      const rows = await produce(done, m);
      const bytes = new Uint8Array(rows.buffer, rows.byteOffset, m * width * 4);
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.syncData();
      done += m;
      await Deno.writeTextFile(
        `${stateFile}.tmp`,
        JSON.stringify({ job: JSON.parse(job), done }),
      );
      await Deno.rename(`${stateFile}.tmp`, stateFile);
      options.progress?.(done, n);
    }
  } finally {
    f.close();
  }
  const raw = await Deno.readFile(dataFile);
  if (raw.length !== n * width * 4) {
    throw new Error(
      `scratch ${dataFile} has ${raw.length} bytes, expected ${n * width * 4}; ` +
        `delete the stage's scratch directory and re-run`,
    );
  }
  return new Float32Array(raw.buffer, raw.byteOffset, n * width);
}
