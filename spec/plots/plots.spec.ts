import { PNG } from 'pngjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { renderSvgs, svgToPng, writeFigures } from '../../lib/plots/render';
import { encodeImage, tileGrid, pngFacts, ImageData } from '../../lib/plots/png';
import { scatterSpec } from '../../lib/plots/scatter';
import { lossCurveSpec, thin, LossPoint } from '../../lib/plots/lossCurves';
import { sampleGridSpec, tilesOf } from '../../lib/plots/sampleGrid';
import { clipStripSpec } from '../../lib/plots/clipStrip';

const svgSize = (svg: string): [number, number] => {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  if (m === null) throw new Error('no svg size');
  return [Math.round(Number(m[1])), Math.round(Number(m[2]))];
};

/** Count of pixels within `tol` of an RGB colour. */
const countColour = (png: PNG, rgb: [number, number, number], tol = 8): number => {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4)
    if (
      Math.abs(png.data[i] - rgb[0]) <= tol &&
      Math.abs(png.data[i + 1] - rgb[1]) <= tol &&
      Math.abs(png.data[i + 2] - rgb[2]) <= tol
    )
      n++;
  return n;
};

const flat = (v: number, h = 6, w = 6): ImageData => ({
  height: h,
  width: w,
  channels: 1,
  values: new Array(h * w).fill(v),
});

describe('png tiles', () => {
  test('encodeImage maps [-1, 1] to [0, 255] and upscales by nearest neighbour', () => {
    const png = PNG.sync.read(encodeImage({ height: 1, width: 2, channels: 1, values: [-1, 1] }, undefined, 3));
    expect([png.width, png.height]).toEqual([6, 3]);
    expect([png.data[0], png.data[4 * 2], png.data[4 * 3], png.data[4 * 5 + 4 * 6 * 2]]).toEqual([0, 0, 255, 255]);
  });

  test('tileGrid places tiles with gaps, white elsewhere', () => {
    const png = PNG.sync.read(
      tileGrid(
        [
          [flat(-1), flat(1)],
          [null, flat(-1)],
        ],
        undefined,
        2,
        3,
      ),
    );
    expect([png.width, png.height]).toEqual([2 * 12 + 3, 2 * 12 + 3]);
    const px = (x: number, y: number) => png.data[(y * png.width + x) * 4];
    expect(px(0, 0)).toBe(0); // tile [0,0] black
    expect(px(13, 0)).toBe(255); // gap
    expect(px(15, 5)).toBe(255); // tile [0,1] white
    expect(px(5, 20)).toBe(255); // empty tile [1,0]
    expect(px(20, 20)).toBe(0); // tile [1,1] black
    expect(countColour(png, [0, 0, 0], 0)).toBe(2 * 144);
  });

  test('tileGrid refuses tiles of different sizes', () => {
    expect(() => tileGrid([[flat(0), flat(0, 4, 4)]])).toThrow(/tile \[0, 1\] is 4×4, expected 6×6/);
  });
});

describe('figures (vega → svg → png)', () => {
  // one worker start renders every figure of the spec
  let svgs: string[] = [];
  const ring = Array.from({ length: 400 }, (_, i) => [
    2 * Math.cos((i % 8) * (Math.PI / 4)) + 0.01 * (i % 7),
    2 * Math.sin((i % 8) * (Math.PI / 4)),
  ]).flat();
  const losses: LossPoint[] = [0, 1].flatMap((phase) =>
    ['generator', 'fake'].flatMap((role) =>
      Array.from({ length: 50 }, (_, step) => ({
        phase,
        role,
        step,
        loss: 1 / (1 + step) + (role === 'fake' ? 0.5 : 0),
      })),
    ),
  );
  const digits = Array.from({ length: 6 * 8 * 8 }, (_, i) => (Math.floor(i / 64) % 2 === 0 ? -1 : 1));
  const clip = Array.from({ length: 2 * 4 * 8 * 8 }, (_, i) => {
    const f = Math.floor(i / 64) % 4;
    const col = i % 8;
    return col === 2 * f ? 1 : -1; // a bar moving right
  });
  const specs = [
    scatterSpec(
      [
        { title: 'teacher', points: ring },
        { title: 'student', points: ring.map((v) => v * 0.5), labels: Array.from({ length: 400 }, (_, i) => i % 8) },
      ],
      {
        centres: [
          [2, 0],
          [0, 2],
        ],
      },
    ),
    lossCurveSpec(losses, { title: 'losses' }),
    sampleGridSpec(
      [
        {
          title: 'phased',
          tiles: tilesOf(digits, [8, 8, 1], ['0', '0', '0', '1', '1', '1'], ['s0', 's1', 's2', 's0', 's1', 's2']),
        },
      ],
      { tile: 24 },
    ),
    clipStripSpec([{ title: 'teacher', clips: clip, frames: 4, height: 8, width: 8, names: ['right', 'right'] }]),
  ];

  beforeAll(async () => {
    svgs = await renderSvgs(specs);
  });

  test('every figure renders to a PNG of the SVG size, not blank', () => {
    expect(svgs).toHaveLength(specs.length);
    for (const svg of svgs) {
      const facts = pngFacts(svgToPng(svg));
      expect([facts.width, facts.height]).toEqual(svgSize(svg));
      expect(facts.blank).toBe(false);
      expect(facts.width).toBeGreaterThan(50);
    }
  });

  test('scatter: side-by-side panels hold every point', () => {
    const [w] = svgSize(svgs[0]);
    expect(w).toBeGreaterThan(2 * 260);
    expect((svgs[0].match(/<path[^>]*class="?[^"]*"?[^>]*>/g) ?? []).length).toBeGreaterThan(0);
    // circles render as paths within the symbol group: 2 × 400 points + 2 × 2 centres
    const marks = svgs[0].match(/mark-symbol[\s\S]*?<\/g>/g) ?? [];
    const symbols = marks.reduce((n, g) => n + (g.match(/<path /g) ?? []).length, 0);
    expect(symbols).toBe(2 * 400 + 2 * 2);
  });

  test('loss curves: one panel per phase, one line per role', () => {
    // the panels of phase indices 0 and 1, titled from 1
    expect(svgs[1]).toContain('phase 1');
    expect(svgs[1]).toContain('phase 2');
    expect(svgs[1]).not.toContain('phase 0');
    const lines = (svgs[1].match(/mark-line[\s\S]*?<\/g>/g) ?? []).reduce(
      (n, g) => n + (g.match(/<path /g) ?? []).length,
      0,
    );
    expect(lines).toBe(4);
  });

  test('sample grid: the tiles show (black and white pixels in tile-sized blocks)', () => {
    const png = PNG.sync.read(svgToPng(svgs[2]));
    // 3 black and 3 white tiles of 22×22 drawn pixels (24 px steps, 1 px margin)
    expect(countColour(png, [0, 0, 0], 0)).toBeGreaterThanOrEqual(3 * 20 * 20);
    expect(svgs[2]).toContain('phased');
  });

  test('clip strips: one tile per frame per clip', () => {
    expect((svgs[3].match(/<image /g) ?? []).length).toBe(2 * 4);
  });

  test('thin keeps at most max points per series and the last point', () => {
    const t = thin(losses, 10);
    expect(t.filter((p) => p.phase === 0 && p.role === 'fake').length).toBeLessThanOrEqual(11);
    expect(t.some((p) => p.phase === 1 && p.role === 'generator' && p.step === 49)).toBe(true);
  });

  test('writeFigures writes decodable PNGs atomically (no temp files left)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plots-'));
    const files = await writeFigures([{ file: path.join(dir, 'a.png'), spec: specs[1] }], 2);
    expect(fs.readdirSync(dir)).toEqual(['a.png']);
    const facts = pngFacts(fs.readFileSync(files[0]));
    const [w, h] = svgSize(svgs[1]);
    expect([facts.width, facts.height]).toEqual([2 * w, 2 * h]);
  });

  test('a broken spec is a PlotError naming vega', async () => {
    await expect(renderSvgs([{ mark: 'nonsense' }])).rejects.toThrow(/vega could not render/);
  });
});
