import assert from "node:assert/strict";
import { decodeNpzArray, npzNames, readNpzArray } from "../../../stages/tensor_io/npz.ts";
import { encodeNpy } from "../../../stages/tensor_io/npy.ts";
import { zipBytes } from "../../helpers/fixtures_raw.ts";

Deno.test("npz: arrays by name from a deflated archive (savez_compressed layout)", async () => {
  const bytes = await zipBytes([
    { name: "X.npy", data: encodeNpy(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]) },
    { name: "y.npy", data: encodeNpy(new Int32Array([0, 2]), [2]) },
  ]);
  assert.deepEqual(npzNames(bytes), ["X", "y"]);
  const x = decodeNpzArray(bytes, "X");
  assert.deepEqual(x.shape, [2, 3]);
  assert.deepEqual(Array.from(x.data as Float64Array), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(decodeNpzArray(bytes, "y.npy").data as Int32Array), [0, 2]);
  assert.throws(
    () => decodeNpzArray(bytes, "Z", { source: "r.npz" }),
    /r.npz: no array 'Z'; it holds: X, y/,
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/r.npz`, bytes);
  assert.deepEqual((await readNpzArray(`${dir}/r.npz`, "y")).shape, [2]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("npz: a file that is not a zip says so", () => {
  assert.throws(
    () => decodeNpzArray(encodeNpy(new Float64Array([1]), [1]), "x", { source: "a.npz" }),
    /a.npz: not an .npz \(zip\) file/,
  );
});
