import assert from "node:assert/strict";
import { hasHdf5Signature } from "../../../stages/tensor_io/hdf5.ts";

const SIG = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

Deno.test("hasHdf5Signature: the signature at 0, 512 or 1024, nowhere else", () => {
  for (const off of [0, 512, 1024]) {
    const b = new Uint8Array(1100);
    b.set(SIG, off);
    assert.ok(hasHdf5Signature(b), `offset ${off}`);
  }
  const elsewhere = new Uint8Array(1100);
  elsewhere.set(SIG, 3);
  assert.ok(!hasHdf5Signature(elsewhere));
  assert.ok(!hasHdf5Signature(new Uint8Array(SIG.slice(0, 7))), "truncated");
  assert.ok(!hasHdf5Signature(new TextEncoder().encode("MATLAB 5.0 MAT-file")));
});
