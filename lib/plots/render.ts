/**
 * Figures: a Vega-Lite spec → SVG (vega, headless `renderer: 'none'`) → PNG (resvg).
 *
 * vega and vega-lite ship as ES modules only, and vega-canvas uses top-level await, so
 * this CommonJS project (and jest's module sandbox) cannot `require` them. They run in a
 * worker thread instead: a real Node context where `import()` works. The worker compiles
 * and renders every spec of a batch, then exits; the PNG step (a CommonJS native addon)
 * runs here.
 */
import * as fs from 'fs';
import { pathToFileURL } from 'url';
import { Worker } from 'worker_threads';
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '../util/atomicWrite';

/** A Vega-Lite spec as plain JSON (typed loosely: vega-lite's types are ESM-only too). */
export type VegaLiteSpec = Record<string, unknown>;

/** The worker: CommonJS source evaluated in a fresh thread; imports vega by absolute URL. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
(async () => {
  const vega = await import(workerData.vega);
  const vl = await import(workerData.vegaLite);
  const out = [];
  for (const spec of workerData.specs) {
    const compiled = vl.compile(spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    out.push(await view.toSVG());
    view.finalize();
  }
  parentPort.postMessage({ svgs: out });
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

const moduleUrl = (name: string): string => pathToFileURL(require.resolve(name)).href;

export class PlotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlotError';
  }
}

/** Renders Vega-Lite specs to SVG strings, in order. */
export const renderSvgs = (specs: readonly VegaLiteSpec[]): Promise<string[]> =>
  specs.length === 0
    ? Promise.resolve([])
    : new Promise((resolve, reject) => {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { specs, vega: moduleUrl('vega'), vegaLite: moduleUrl('vega-lite') },
        });
        let settled = false;
        worker.once('message', (m: { svgs?: string[]; error?: string }) => {
          settled = true;
          void worker.terminate();
          if (m.svgs !== undefined) resolve(m.svgs);
          else reject(new PlotError(`vega could not render a figure: ${m.error}`));
        });
        worker.once('error', (err) => !settled && reject(new PlotError(`vega worker failed: ${err.message}`)));
        worker.once(
          'exit',
          (code) => !settled && reject(new PlotError(`vega worker exited with code ${code} before rendering`)),
        );
      });

/** Fonts for the text of figures: the system's, with DejaVu Sans (Debian's default) preferred when present. */
const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/TTF', '/usr/share/fonts/dejavu'];
const fontFiles = (): string[] => {
  for (const dir of FONT_DIRS) {
    if (fs.existsSync(dir))
      return fs
        .readdirSync(dir)
        .filter((f) => /^DejaVuSans(-Bold)?\.ttf$/.test(f))
        .map((f) => `${dir}/${f}`);
  }
  return [];
};

/** Rasterises an SVG to PNG bytes on a white background; `scale` multiplies the SVG's pixel size. */
export const svgToPng = (svg: string, scale = 1): Buffer => {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: true,
      fontFiles: fontFiles(),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    imageRendering: 1, // optimizeSpeed: nearest-neighbour for embedded sample images
  });
  return resvg.render().asPng();
};

/** Renders specs to PNG bytes, in order. */
export const renderPngs = async (specs: readonly VegaLiteSpec[], scale = 1): Promise<Buffer[]> =>
  (await renderSvgs(specs)).map((svg) => svgToPng(svg, scale));

/** Writes each figure atomically; returns the files written. */
export const writeFigures = async (
  figures: ReadonlyArray<{ file: string; spec: VegaLiteSpec }>,
  scale = 1,
): Promise<string[]> => {
  const pngs = await renderPngs(
    figures.map((f) => f.spec),
    scale,
  );
  figures.forEach((f, i) => writeFileAtomic(f.file, pngs[i]));
  return figures.map((f) => f.file);
};
