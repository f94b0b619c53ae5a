/**
 * End to end: `phased-dmd serve` in headless Chromium (Debian's chromium driven by
 * playwright-core). A recording is written event by event while the page is open: the
 * page must show what was recorded, then follow what is appended (live), per phase, with
 * the sample figure loaded; a replay server must play a finished recording to its end.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { RecordingWriter, makeHeader } from '../../lib/record/writer';
import { startServer, RunningServer } from '../../lib/serve/server';
import { main } from '../../cli/main';
import type { Io } from '../../cli/command';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'].find((p) =>
  fs.existsSync(p),
);
if (CHROMIUM === undefined)
  console.warn(
    'spec/serve/live.spec.ts SKIPPED: no chromium executable found (install Debian\'s "chromium" package: apt-get ' +
      'install -y chromium; .ci/run does)',
  );
const maybe = CHROMIUM === undefined ? describe.skip : describe;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A phased config (2 phases of 10 iterations) the header names; the page takes its totals from it. */
const CONFIG = { method: 'phased', teacher: 'teacher.ckpt', iterations: 20, preset: '4x2', steps: 4 };

const ring = (n: number): Float32Array =>
  Float32Array.from({ length: 2 * n }, (_, i) =>
    i % 2 === 0 ? 2 * Math.cos(Math.floor(i / 2)) : 2 * Math.sin(Math.floor(i / 2)),
  );

const metrics = (w: RecordingWriter, phase: number, from: number, to: number): void => {
  for (let step = from; step < to; step++) {
    w.append({
      type: 'metrics',
      key: { seed: 0, phase, step },
      role: 'fake',
      loss: 1 + phase + 1 / (1 + step),
      gradNorm: 1,
      extras: {},
      ms: 10,
    });
    w.append({
      type: 'metrics',
      key: { seed: 0, phase, step },
      role: 'generator',
      loss: 0.5 / (1 + step),
      gradNorm: 1,
      extras: {},
      ms: 10,
    });
  }
  w.sync();
};

maybe('phased-dmd serve in headless Chromium', () => {
  let dir: string;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-run-'));
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    for (const s of servers) await s.close();
    for (const d of [dir, profile]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  const text = (selector: string) => page.locator(selector).first().textContent();

  test('shows what is recorded, then follows appended events live, per phase, with sample figures', async () => {
    const file = path.join(dir, 'recording.ndjson');
    const w = E_right(
      RecordingWriter.create(file, makeHeader({ config: CONFIG, seed: 0, kind: 'phased', backend: 'cpu' }), {
        fsyncEvery: 1,
      }),
    );
    metrics(w, 0, 0, 4);
    const server = await startServer({ runDir: dir, port: 0, pollMs: 50 });
    servers.push(server);
    await page.goto(server.url);

    await page.waitForFunction(
      () => document.querySelector('[data-phase="0"] .step')?.textContent === 'step 4 / 10',
      null,
      { timeout: 10_000 },
    );
    expect(await text('#method')).toBe('phased');
    expect(await text('#status')).toBe('running');
    expect(await page.locator('[data-phase="0"] .loss').allTextContents()).toEqual(['fake 1.250', 'generator 0.1250']);
    expect(await page.locator('[data-phase="0"] polyline').count()).toBe(2);

    // the run goes on: the page follows without reloading
    metrics(w, 0, 4, 10);
    w.append({ type: 'phaseEnd', phase: 0, summary: {} });
    w.append({
      type: 'sample',
      name: 'phased',
      phase: 0,
      step: 10,
      x: { dtype: 'float32', shape: [200, 2], values: ring(200) },
      labels: null,
      nfe: 2,
    });
    metrics(w, 1, 0, 3);
    await page.waitForFunction(
      () => document.querySelector('[data-phase="1"] .step')?.textContent === 'step 3 / 10',
      null,
      { timeout: 10_000 },
    );
    expect(await text('[data-phase="0"] .step')).toBe('step 10 / 10');
    expect(await text('[data-phase="0"] .done')).toBe('(done)');
    await page.waitForFunction(
      () => {
        const img = document.querySelector('img.sample[data-name="phased"]') as HTMLImageElement | null;
        return img !== null && img.complete && img.naturalWidth > 100;
      },
      null,
      { timeout: 15_000 },
    );
    expect(await text('figure[data-name="phased"] figcaption')).toBe('phased: phase 1, step 10, 2 NFE, 200 samples');

    metrics(w, 1, 3, 10);
    w.append({ type: 'checkpoint', phase: 1, step: 10, file: 'student.ckpt' });
    w.append({ type: 'end', status: 'complete', phase: 1, step: 10 });
    w.close();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'complete', null, {
      timeout: 10_000,
    });
    expect(await text('[data-phase="1"] .step')).toBe('step 10 / 10');
    expect(await text('#log')).toContain('checkpoint at phase 2, step 10: student.ckpt');
    // phases are shown from 1 (the page keys them by their stored 0-based index)
    expect(await text('[data-phase="0"] h2')).toMatch(/^phase 1\b/);
    expect(await text('[data-phase="1"] h2')).toMatch(/^phase 2\b/);
  });

  test('replays a finished recording at a chosen speed to its end', async () => {
    const server = await startServer({ runDir: dir, port: 0, speed: 50, pollMs: 50 });
    servers.push(server);
    await page.goto(server.url);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'replayed', null, {
      timeout: 15_000,
    });
    expect(await text('[data-phase="0"] .step')).toBe('step 10 / 10');
    expect(await text('[data-phase="1"] .step')).toBe('step 10 / 10');
    expect(await page.locator('img.sample').count()).toBe(1);
  });

  test('a tab without animation frames (hidden) still shows the final steps once the run has ended', async () => {
    const hidden = await context.newPage();
    try {
      await hidden.addInitScript(() => {
        window.requestAnimationFrame = () => 0;
      });
      const server = await startServer({ runDir: dir, port: 0, speed: 50, pollMs: 50 });
      servers.push(server);
      await hidden.goto(server.url);
      // polled by a timer: playwright's default polling waits for animation frames, which never come here
      await hidden.waitForFunction(() => document.getElementById('status')?.textContent === 'replayed', null, {
        polling: 100,
        timeout: 15_000,
      });
      expect(await hidden.locator('[data-phase="0"] .step').textContent()).toBe('step 10 / 10');
      expect(await hidden.locator('[data-phase="1"] .step').textContent()).toBe('step 10 / 10');
      expect(await hidden.locator('[data-phase="1"] .done').textContent()).toBe('(done)');
    } finally {
      await hidden.close();
    }
  });

  test('`phased-dmd serve` prints its URL, serves until interrupted, exits 0', async () => {
    let stop: () => void = () => undefined;
    let out = '';
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const io: Io = {
      stdout: (t) => void (out += t),
      stderr: () => undefined,
      stderrIsTTY: false,
      columns: 100,
      interrupted: () => stopped,
    };
    const exit = main(['serve', dir, '--port', '0'], io);
    for (let i = 0; i < 100 && out === ''; i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\n$/);
    const page = await fetch(out.trim());
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>phased-dmd live</title>');
    stop();
    expect(await exit).toBe(0);
  });

  test('the figure of a line without samples is a 404, other paths too', async () => {
    const server = servers[0];
    expect((await page.request.get(`${server.url}figures/2.png`)).status()).toBe(404);
    expect((await page.request.get(`${server.url}nope`)).status()).toBe(404);
  });
});

function E_right<A>(e: { _tag: 'Left'; left: unknown } | { _tag: 'Right'; right: A }): A {
  if (e._tag === 'Left') throw e.left;
  return e.right;
}
