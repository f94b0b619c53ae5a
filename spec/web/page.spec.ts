/**
 * End to end: an exported student (and its teacher) on the static sampling page, hosted
 * by `phased-dmd serve --page`, in headless Chromium on tfjs's wasm backend. The page's
 * samples must equal Node's for the same seed (float tolerance: the same wasm kernels,
 * but Node may serve matrix products from the native BLAS addon), with and without a
 * picked class, and the page must load nothing from outside the site.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { main } from '../../cli/main';
import type { Io } from '../../cli/command';
import { useBackend } from '../../lib/backend';
import { loadExport } from '../../lib/portable/files';
import { writeCheckpoints } from '../portable/fixtures';
import { startStaticServer } from '../../lib/serve/static';
import type { ModelConfig } from '../../lib/models/config';

const ROOT = path.resolve(__dirname, '../..');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'].find((p) =>
  fs.existsSync(p),
);
if (CHROMIUM === undefined)
  console.warn(
    'spec/web/page.spec.ts SKIPPED: no chromium executable found (apt-get install -y chromium; .ci/run does)',
  );
const maybe = CHROMIUM === undefined ? describe.skip : describe;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface Drawn {
  values: number[];
  shape: number[];
  labels: number[] | null;
  msPerSample: number;
  nfe: number;
}
interface PageState {
  ready: Promise<{ backend: string; student: string; teacher: string | null }>;
  last: { student: Drawn | null; teacher: Drawn | null };
  draws: number;
  error: string | null;
}

const quietIo = (onUrl: (url: string) => void, stop: Promise<void>): Io => ({
  stdout: (t) => onUrl(t.trim()),
  stderr: () => undefined,
  stderrIsTTY: false,
  columns: 100,
  interrupted: () => stop,
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

maybe('the exported student in a browser page', () => {
  let dir: string;
  let profile: string;
  let site: string;
  let context: BrowserContext;
  let page: Page;
  let url = '';
  let stopServer: () => void = () => undefined;
  let served: Promise<number>;
  const requests: string[] = [];

  beforeAll(async () => {
    // the page as this checkout's sources build it
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), 'web'], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`npm run build (web) failed:\n${built.stderr}`);
    await useBackend('wasm');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdmd-web-'));
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
    site = path.join(dir, 'site');
    const ckpt = writeCheckpoints(dir);
    const io = quietIo(() => undefined, Promise.resolve());
    for (const model of [ckpt.student, ckpt.teacher])
      expect(await main(['export', '--model', model, '--format', 'tfjs', '--page', '--out', site], io)).toBe(0);
    const stop = new Promise<void>((resolve) => (stopServer = resolve));
    let gotUrl: (u: string) => void = () => undefined;
    const urlKnown = new Promise<string>((resolve) => (gotUrl = resolve));
    served = main(
      ['serve', '--page', site, '--port', '0'],
      quietIo((u) => gotUrl(u), stop),
    );
    url = await urlKnown;
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requests.push(r.url()));
  });

  afterAll(async () => {
    await context?.close();
    stopServer();
    await served;
    for (const d of [dir, profile]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  const pressSample = async (n: number, seed: number, cls: string): Promise<PageState['last']> => {
    const before = await page.evaluate(() => (window as unknown as { phasedDmd: PageState }).phasedDmd.draws);
    await page.fill('#n', String(n));
    await page.fill('#seed', String(seed));
    await page.selectOption('#class', cls);
    await page.click('#sample');
    await page.waitForFunction((b) => (window as unknown as { phasedDmd: PageState }).phasedDmd.draws > b, before, {
      timeout: 60_000,
    });
    return page.evaluate(() => (window as unknown as { phasedDmd: PageState }).phasedDmd.last);
  };

  test('samples on a button press equal Node’s for the same seed, student and teacher at 40 steps', async () => {
    await page.goto(url);
    const info = await page.evaluate(() => (window as unknown as { phasedDmd: PageState }).phasedDmd.ready);
    expect(info).toEqual({ backend: 'wasm', student: 'phased, 4 steps', teacher: '40 steps' });
    // a conditional model: the class picker lists its classes
    expect(await page.locator('#class option').allTextContents()).toEqual(['random', '0', '1', '2']);

    const last = await pressSample(300, 7, '');
    const student = loadExport(path.join(site, 'student'));
    const teacher = loadExport(path.join(site, 'teacher'));
    if (E.isLeft(student)) throw student.left;
    if (E.isLeft(teacher)) throw teacher.left;
    const s = student.right.sample({ n: 300, seed: 7 });
    const t = teacher.right.sample({ n: 300, seed: 7, sampler: { steps: 40 } });
    expect(last.student!.shape).toEqual([300, 2]);
    expect(maxAbsDiff(last.student!.values, s.x.dataSync())).toBeLessThan(1e-4);
    expect(last.student!.labels).toEqual(Array.from(s.labels!.dataSync()));
    expect(maxAbsDiff(last.teacher!.values, t.x.dataSync())).toBeLessThan(1e-4);
    expect(last.teacher!.nfe).toBe(40);
    // the figures and their timings are on the page
    expect(await page.locator('#student .title').textContent()).toBe('student, phased (4 steps)');
    expect(await page.locator('#teacher .title').textContent()).toBe('teacher (40 steps)');
    expect(await page.locator('#student .time').textContent()).toMatch(/^\d+\.\d{3} ms \/ sample$/);
    expect(await page.locator('#teacher .time').textContent()).toMatch(/^\d+\.\d{3} ms \/ sample$/);
    const painted = await page.evaluate(() => {
      const c = document.querySelector('#student canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let blue = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i] + 40) blue++;
      return blue;
    });
    expect(painted).toBeGreaterThan(100);
    tf.dispose([s.x, s.labels!, t.x, t.labels!]);

    // a picked class: every sample of that class, and still Node's numbers
    const picked = await pressSample(50, 3, '1');
    const labels = new Int32Array(50).fill(1);
    const s1 = student.right.sample({ n: 50, seed: 3, labels });
    const t1 = teacher.right.sample({ n: 50, seed: 3, labels, sampler: { steps: 40 } });
    expect(picked.student!.labels).toEqual(Array(50).fill(1));
    expect(maxAbsDiff(picked.student!.values, s1.x.dataSync())).toBeLessThan(1e-4);
    expect(maxAbsDiff(picked.teacher!.values, t1.x.dataSync())).toBeLessThan(1e-4);
    tf.dispose([s1.x, s1.labels!, t1.x, t1.labels!]);
    student.right.dispose();
    teacher.right.dispose();

    expect(await page.evaluate(() => (window as unknown as { phasedDmd: PageState }).phasedDmd.error)).toBeNull();
    // everything the page loaded came from the site
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => !r.startsWith(url))).toEqual([]);
    expect(requests.some((r) => r.endsWith('.wasm'))).toBe(true);
  });

  test('an image student without a teacher: a grid of images, the same numbers as Node', async () => {
    const imageDir = path.join(dir, 'images');
    fs.mkdirSync(imageDir);
    const unet = {
      kind: 'unet',
      size: 8,
      channels: 1,
      width: 4,
      timeEmbedDim: 8,
      numClasses: 2,
      seed: 5,
    } as ModelConfig;
    const ckpt = writeCheckpoints(imageDir, unet);
    const imageSite = path.join(imageDir, 'site');
    const io = quietIo(() => undefined, Promise.resolve());
    expect(await main(['export', '--model', ckpt.student, '--format', 'tfjs', '--page', '--out', imageSite], io)).toBe(
      0,
    );
    const server = await startStaticServer({ root: imageSite });
    try {
      await page.goto(server.url);
      const info = await page.evaluate(() => (window as unknown as { phasedDmd: PageState }).phasedDmd.ready);
      expect(info.teacher).toBeNull();
      expect(await page.inputValue('#n')).toBe('16');
      const last = await pressSample(9, 2, '');
      expect(last.teacher).toBeNull();
      expect(last.student!.shape).toEqual([9, 8, 8, 1]);
      const student = loadExport(path.join(imageSite, 'student'));
      if (E.isLeft(student)) throw student.left;
      const s = student.right.sample({ n: 9, seed: 2 });
      expect(maxAbsDiff(last.student!.values, s.x.dataSync())).toBeLessThan(1e-4);
      tf.dispose([s.x, s.labels!]);
      student.right.dispose();
      // 9 images of 8×8 in a 3 × 3 grid with 1-pixel gaps; the teacher's figure stays hidden
      expect(
        await page.evaluate(() => [
          (document.querySelector('#student canvas') as HTMLCanvasElement).width,
          (document.querySelector('#student canvas') as HTMLCanvasElement).height,
        ]),
      ).toEqual([27, 27]);
      expect(await page.locator('#teacher').isHidden()).toBe(true);
      expect(await page.locator('#status').textContent()).toContain('9 samples, seed 2');
    } finally {
      await server.close();
    }
  });

  test('the server refuses paths outside the site', async () => {
    const res = await fetch(`${url}..%2f..%2fetc%2fpasswd`);
    expect([400, 404]).toContain(res.status);
    const missing = await fetch(`${url}nope.json`);
    expect(missing.status).toBe(404);
    const wasm = await fetch(`${url}tfjs-backend-wasm.wasm`, { method: 'HEAD' });
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
  });
});
