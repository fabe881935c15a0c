/**
 * Headless figure rendering: Vega-Lite spec → (vega-lite 6 compile) → Vega view with
 * `renderer: "none"` → SVG → PNG through `@resvg/resvg-js` with the system fonts
 * (Debian: `fonts-dejavu-core` supplies "DejaVu Sans").
 *
 * vega, vega-lite and resvg load on first use, not with the CLI (README, "Start-up").
 * @module
 */
import type * as vega from "vega";
import type { VlSpec } from "./figures.ts";

interface VegaLibs {
  vega: typeof import("vega");
  vegaLite: typeof import("vega-lite");
}

let libs: Promise<VegaLibs> | undefined;

function vegaLibs(): Promise<VegaLibs> {
  libs ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vegaLite]) => ({
    vega,
    vegaLite,
  }));
  return libs;
}

/** A rendered figure. */
export interface RenderedFigure {
  /** The SVG document (scale 1). */
  svg: string;
  /** PNG bytes at `scale`. */
  png: Uint8Array;
  /** PNG width in pixels. */
  width: number;
  /** PNG height in pixels. */
  height: number;
}

/** Compile a Vega-Lite spec to a Vega spec. */
export async function compileSpec(spec: VlSpec): Promise<vega.Spec> {
  const { vegaLite } = await vegaLibs();
  // deno-lint-ignore no-explicit-any
  return vegaLite.compile(spec as any).spec as vega.Spec;
}

/** Render a Vega-Lite spec to SVG (no browser, no canvas). */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const { vega } = await vegaLibs();
  const view = new vega.View(vega.parse(await compileSpec(spec)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Rasterise an SVG to PNG.
 * @param svg SVG text
 * @param options `scale` (default 2: crisp on high-DPI screens and in print)
 */
export async function svgToPng(
  svg: string,
  options: { scale?: number } = {},
): Promise<RenderedFigure> {
  // A native addon: loaded on first use, so that commands that draw nothing need no --allow-ffi.
  const { Resvg } = await import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    font: {
      loadSystemFonts: true,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  const img = resvg.render();
  return { svg, png: new Uint8Array(img.asPng()), width: img.width, height: img.height };
}

/** Render a Vega-Lite spec to SVG and PNG. */
export async function renderFigure(
  spec: VlSpec,
  options: { scale?: number } = {},
): Promise<RenderedFigure> {
  return await svgToPng(await renderSvg(spec), options);
}

/** Versions of the rendering libraries, for the provenance section. */
export async function renderVersions(): Promise<Record<string, string>> {
  const { vega, vegaLite } = await vegaLibs();
  // deno-lint-ignore no-explicit-any
  return { vega: vega.version, "vega-lite": (vegaLite as any).version ?? "unknown" };
}
