import assert from "node:assert/strict";
import sharp from "sharp";
import {
  caffePreprocess,
  centreSquare,
  decodeSquare,
  loadBatch,
} from "../../../stages/data/images.ts";
import { jpegBytes } from "../../helpers/fixtures_raw.ts";

/** A JPEG made of three equal bands (vertical bands if wide, horizontal if tall). */
async function bands(width: number, height: number): Promise<Uint8Array> {
  const px = new Uint8Array(width * height * 3);
  const colours = [[250, 10, 10], [10, 250, 10], [10, 10, 250]];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const b = width >= height ? Math.floor((3 * x) / width) : Math.floor((3 * y) / height);
      px.set(colours[b], (y * width + x) * 3);
    }
  }
  return new Uint8Array(
    await sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 100 }).toBuffer(),
  );
}

function mean(rgb: Uint8Array, c: number): number {
  let s = 0;
  for (let i = c; i < rgb.length; i += 3) s += rgb[i];
  return s / (rgb.length / 3);
}

Deno.test("images: centreSquare picks the middle square", () => {
  assert.deepStrictEqual(centreSquare(90, 30), { left: 30, top: 0, side: 30 });
  assert.deepStrictEqual(centreSquare(30, 91), { left: 0, top: 30, side: 30 });
  assert.deepStrictEqual(centreSquare(5, 5), { left: 0, top: 0, side: 5 });
});

Deno.test("images: decodeSquare keeps only the centre band of wide and tall JPEGs", async () => {
  for (const [w, h] of [[96, 32], [32, 96]]) {
    const rgb = await decodeSquare(await bands(w, h), { size: 16 });
    assert.strictEqual(rgb.length, 16 * 16 * 3);
    assert.ok(mean(rgb, 1) > 235, `green ${mean(rgb, 1)} for ${w}x${h}`);
    assert.ok(mean(rgb, 0) < 25 && mean(rgb, 2) < 25, `red/blue leak for ${w}x${h}`);
  }
  const grey = new Uint8Array(
    await sharp(new Uint8Array(20 * 20).fill(77), { raw: { width: 20, height: 20, channels: 1 } })
      .jpeg().toBuffer(),
  );
  const g = await decodeSquare(grey, { size: 4 });
  assert.strictEqual(g.length, 48);
  assert.ok(Math.abs(g[0] - 77) <= 2 && g[0] === g[1] && g[1] === g[2]);
  await assert.rejects(() => decodeSquare(new Uint8Array([1, 2, 3])), /cannot decode image/);
});

Deno.test("images: caffe preprocessing is BGR minus the ImageNet means", () => {
  const out = caffePreprocess(Uint8Array.from([10, 20, 30, 255, 0, 128]));
  const want = [30 - 103.939, 20 - 116.779, 10 - 123.68, 128 - 103.939, 0 - 116.779, 255 - 123.68];
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(out[i] - want[i]) < 1e-4);
});

Deno.test("images: loadBatch fills NHWC rows in path order", async () => {
  const dir = await Deno.makeTempDir();
  const paths: string[] = [];
  for (let i = 0; i < 5; i++) {
    const p = `${dir}/${i}.jpg`;
    await Deno.writeFile(
      p,
      await jpegBytes({ width: 30 + i * 7, height: 24, seed: i, rgb: [40 * i, 90, 60] }),
    );
    paths.push(p);
  }
  const batch = await loadBatch(paths, { size: 8, concurrency: 3 });
  assert.strictEqual(batch.length, 5 * 8 * 8 * 3);
  for (let i = 0; i < 5; i++) {
    const one = caffePreprocess(await decodeSquare(paths[i], { size: 8 }));
    assert.deepStrictEqual(batch.slice(i * 192, (i + 1) * 192), one);
  }
});
