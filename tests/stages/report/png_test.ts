import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { decodePng, inkStats } from "../../../stages/report/png.ts";

function crcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
const CRC = crcTable();
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Independent PNG encoder: row y uses filter `filters[y % 5]`, so all five are exercised. */
function encodePng(
  w: number,
  h: number,
  ch: number,
  px: Uint8Array,
  colorType: number,
): Uint8Array {
  const stride = w * ch;
  const raw = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const v = px[y * stride + x];
      const a = x >= ch ? px[y * stride + x - ch] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= ch && y > 0 ? px[(y - 1) * stride + x - ch] : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f];
      raw[y * (stride + 1) + 1 + x] = (v - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("decodePng undoes all five filters (RGBA, RGB, grey)", () => {
  const w = 7, h = 11;
  for (const [ch, ct] of [[4, 6], [3, 2], [1, 0], [2, 4]]) {
    const px = new Uint8Array(w * h * ch);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 3) * 11) & 0xff;
    const png = decodePng(encodePng(w, h, ch, px, ct));
    assert.equal(png.width, w);
    assert.equal(png.height, h);
    for (let i = 0; i < w * h; i++) {
      const s = i * ch;
      const expect = ch >= 3
        ? [px[s], px[s + 1], px[s + 2], ch === 4 ? px[s + 3] : 255]
        : [px[s], px[s], px[s], ch === 2 ? px[s + 1] : 255];
      assert.deepEqual([...png.rgba.subarray(i * 4, i * 4 + 4)], expect, `pixel ${i}, ${ch} ch`);
    }
  }
});

Deno.test("decodePng rejects what it cannot read, saying why", () => {
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /bad signature/);
  const good = encodePng(2, 2, 3, new Uint8Array(12), 2);
  assert.throws(() => decodePng(good.subarray(0, good.length - 12)), /IEND/);
});

Deno.test("inkStats counts colours and ink inside a region", () => {
  // 10×10 white image with a red 2×2 square at (1,1) and a black pixel at (8,8).
  const w = 10, h = 10, px = new Uint8Array(w * h * 3).fill(255);
  const set = (x: number, y: number, c: number[]) => px.set(c, (y * w + x) * 3);
  for (const [x, y] of [[1, 1], [2, 1], [1, 2], [2, 2]]) set(x, y, [255, 0, 0]);
  set(8, 8, [0, 0, 0]);
  const png = decodePng(encodePng(w, h, 3, px, 2));
  const all = inkStats(png);
  assert.equal(all.distinctColours, 3);
  assert.equal(all.inkFraction, 5 / 100);
  assert.equal(all.colouredPixels, 4);
  const right = inkStats(png, { region: [0.5, 0.5, 1, 1] });
  assert.equal(right.distinctColours, 2);
  assert.equal(right.colouredPixels, 0);
  assert.equal(right.inkFraction, 1 / 25);
});
