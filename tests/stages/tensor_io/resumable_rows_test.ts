import assert from "node:assert/strict";
import { produceRowsResumable } from "../../../stages/tensor_io/resumable_rows.ts";

function rowsFrom(start: number, count: number, width: number): Float32Array {
  const out = new Float32Array(count * width);
  for (let i = 0; i < out.length; i++) out[i] = start * width + i;
  return out;
}

Deno.test("produceRowsResumable: a run killed mid-way resumes at the next batch", async () => {
  const dir = await Deno.makeTempDir();
  const scratch = `${dir}/rows`;
  const shape = { n: 10, width: 3 };
  const calls: number[] = [];
  await assert.rejects(
    produceRowsResumable(shape, (start, count) => {
      if (start >= 6) throw new Error("killed");
      calls.push(start);
      return Promise.resolve(rowsFrom(start, count, 3));
    }, { scratch, job: { id: 1 }, batch: 3 }),
    /killed/,
  );
  assert.deepEqual(calls, [0, 3]);
  // a half-written batch beyond the recorded count is dropped on resume
  const f = await Deno.open(`${scratch}.f32`, { append: true });
  await f.write(new Uint8Array(7));
  f.close();
  const logs: string[] = [];
  const resumed: number[] = [];
  const out = await produceRowsResumable(shape, (start, count) => {
    resumed.push(start);
    return Promise.resolve(rowsFrom(start, count, 3));
  }, { scratch, job: { id: 1 }, batch: 3, log: (m) => void logs.push(m) });
  assert.deepEqual(resumed, [6, 9]);
  assert.deepEqual(Array.from(out), Array.from(rowsFrom(0, 10, 3)));
  assert.ok(logs.some((l) => /resuming at row 6 of 10/.test(l)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("produceRowsResumable: a checkpoint of another job is discarded", async () => {
  const dir = await Deno.makeTempDir();
  const scratch = `${dir}/rows`;
  await produceRowsResumable({ n: 4, width: 2 }, (s, c) => Promise.resolve(rowsFrom(s, c, 2)), {
    scratch,
    job: { id: "a" },
    batch: 2,
  });
  const starts: number[] = [];
  const out = await produceRowsResumable({ n: 4, width: 2 }, (s, c) => {
    starts.push(s);
    return Promise.resolve(rowsFrom(s, c, 2).map((v) => -v));
  }, { scratch, job: { id: "b" }, batch: 2 });
  assert.deepEqual(starts, [0, 2]);
  assert.equal(out[2], -2);
  await Deno.remove(dir, { recursive: true });
});
