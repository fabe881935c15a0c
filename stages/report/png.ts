/**
 * A small PNG decoder (8-bit greyscale, grey+alpha, RGB, RGBA; non-interlaced), enough to check
 * the report's rendered figures: size, distinct colours, and ink in the plot area.
 * @module
 */
import { inflateSync } from "node:zlib";

/** A decoded PNG as 8-bit RGBA. */
export interface DecodedPng {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** RGBA bytes, row-major, 4 per pixel. */
  rgba: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * Decode PNG bytes into RGBA.
 * @throws if the signature, header, or data are invalid, or the format is not supported
 * (palette, 16-bit and interlaced images are rejected with a message naming the field).
 */
export function decodePng(bytes: Uint8Array): DecodedPng {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SIGNATURE[i]) throw new Error("png: not a PNG file (bad signature)");
  }
  let at = 8;
  let width = 0, height = 0, bitDepth = 0, colorType = -1, interlace = 0;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (at + 8 <= bytes.length) {
    const len = readU32(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (data.length !== len) throw new Error(`png: chunk ${type} is truncated`);
    if (type === "IHDR") {
      width = readU32(data, 0);
      height = readU32(data, 4);
      bitDepth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      sawEnd = true;
      break;
    }
    at += 12 + len;
  }
  if (width === 0 || height === 0) throw new Error("png: missing or empty IHDR");
  if (!sawEnd) throw new Error("png: missing IEND (file truncated?)");
  if (bitDepth !== 8) throw new Error(`png: bit depth ${bitDepth} is not supported (only 8)`);
  if (interlace !== 0) throw new Error("png: interlaced images are not supported");
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (!channels) throw new Error(`png: colour type ${colorType} is not supported (palette?)`);
  const total = idat.reduce((s, c) => s + c.length, 0);
  const joined = new Uint8Array(total);
  let o = 0;
  for (const c of idat) {
    joined.set(c, o);
    o += c.length;
  }
  const raw = new Uint8Array(inflateSync(joined));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) {
    throw new Error(`png: inflated ${raw.length} bytes, expected ${height * (stride + 1)}`);
  }
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[row + x - channels] : 0;
      const b = y > 0 ? px[row - stride + x] : 0;
      const c = x >= channels && y > 0 ? px[row - stride + x - channels] : 0;
      let v: number;
      switch (filter) {
        case 0:
          v = src[x];
          break;
        case 1:
          v = src[x] + a;
          break;
        case 2:
          v = src[x] + b;
          break;
        case 3:
          v = src[x] + ((a + b) >> 1);
          break;
        case 4:
          v = src[x] + paeth(a, b, c);
          break;
        default:
          throw new Error(`png: unknown filter type ${filter} on row ${y}`);
      }
      px[row + x] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    if (channels === 4) rgba.set(px.subarray(s, s + 4), i * 4);
    else if (channels === 3) {
      rgba[i * 4] = px[s];
      rgba[i * 4 + 1] = px[s + 1];
      rgba[i * 4 + 2] = px[s + 2];
      rgba[i * 4 + 3] = 255;
    } else {
      rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = px[s];
      rgba[i * 4 + 3] = channels === 2 ? px[s + 1] : 255;
    }
  }
  return { width, height, rgba };
}

/** Summary of a region of a decoded image, for "is this figure blank?" checks. */
export interface InkStats {
  /** Number of distinct opaque RGB colours in the region. */
  distinctColours: number;
  /** Fraction of pixels that differ from the background colour. */
  inkFraction: number;
  /** Number of pixels that are neither near-grey nor background (i.e. carry a hue). */
  colouredPixels: number;
}

/**
 * Count colours and non-background pixels in a rectangle (fractions of the image size).
 * @param png decoded image
 * @param options `region` as [x0, y0, x1, y1] fractions (default: whole image); `background`
 * RGB (default white)
 */
export function inkStats(
  png: DecodedPng,
  options: { region?: [number, number, number, number]; background?: [number, number, number] } =
    {},
): InkStats {
  const [fx0, fy0, fx1, fy1] = options.region ?? [0, 0, 1, 1];
  const bg = options.background ?? [255, 255, 255];
  const x0 = Math.floor(fx0 * png.width), x1 = Math.ceil(fx1 * png.width);
  const y0 = Math.floor(fy0 * png.height), y1 = Math.ceil(fy1 * png.height);
  const colours = new Set<number>();
  let ink = 0, n = 0, coloured = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const r = png.rgba[i], g = png.rgba[i + 1], b = png.rgba[i + 2], a = png.rgba[i + 3];
      n++;
      // Composite over the background so a transparent PNG reads as background.
      const cr = Math.round((r * a + bg[0] * (255 - a)) / 255);
      const cg = Math.round((g * a + bg[1] * (255 - a)) / 255);
      const cb = Math.round((b * a + bg[2] * (255 - a)) / 255);
      colours.add((cr << 16) | (cg << 8) | cb);
      if (cr !== bg[0] || cg !== bg[1] || cb !== bg[2]) ink++;
      if (Math.max(cr, cg, cb) - Math.min(cr, cg, cb) > 40) coloured++;
    }
  }
  return { distinctColours: colours.size, inkFraction: n ? ink / n : 0, colouredPixels: coloured };
}
