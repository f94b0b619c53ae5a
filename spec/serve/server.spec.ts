/**
 * `serve` without a browser: it reads only a regular file whose real path is inside the
 * run directory (a symlink to a file elsewhere, a FIFO, a device are refused by name, and
 * their contents never reach the client); a damaged line is reported by number and kind,
 * not by contents; HEAD is answered; a client that does not read is dropped instead of
 * buffered without limit, while a client that reads gets every line.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import { RecordingWriter, makeHeader, EventInput } from '../../lib/record/writer';
import { startServer, RunningServer } from '../../lib/serve/server';
import { startStaticServer } from '../../lib/serve/static';
import { main } from '../../cli/main';
import type { Io } from '../../cli/command';

const SECRET = 'SECRET-CONTENT-do-not-serve';
let root: string;
const servers: RunningServer[] = [];
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-'));
});
afterAll(async () => {
  for (const s of servers) await s.close();
  fs.rmSync(root, { recursive: true, force: true });
});

let n = 0;
const runDir = (): string => {
  const d = path.join(root, `run${n++}`);
  fs.mkdirSync(d);
  return d;
};

const metrics = (step: number): EventInput => ({
  type: 'metrics',
  key: { seed: 0, phase: 0, step },
  role: 'teacher',
  loss: 1 / (1 + step),
  gradNorm: 1,
  extras: {},
  ms: 1,
});

const record = (file: string, events: readonly EventInput[]): void => {
  const w = RecordingWriter.create(
    file,
    makeHeader({ config: { method: 'teacher' }, seed: 0, kind: 'teacher', backend: 'wasm' }),
  );
  if (E.isLeft(w)) throw w.left;
  events.forEach((e) => w.right.append(e));
  w.right.close();
};

const serve = async (dir: string, extra: { speed?: number; stallMs?: number } = {}): Promise<RunningServer> => {
  const s = await startServer({
    runDir: dir,
    port: 0,
    pollMs: 20,
    speed: extra.speed ?? 1e6,
    ...(extra.stallMs !== undefined ? { stallMs: extra.stallMs } : {}),
  });
  servers.push(s);
  return s;
};

type Message = { type: string; message?: string; step?: number };

/** The data messages of a replay, read until "replayed" (the server keeps the stream open) or until it ends. */
const events = async (s: RunningServer): Promise<Message[]> => {
  const stop = new AbortController();
  const res = await fetch(`${s.url}events`, { signal: stop.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const chunks: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(decoder.decode(value, { stream: true }));
    if (chunks.slice(-2).join('').endsWith('data: {"type":"replayed"}\n\n')) break;
  }
  stop.abort();
  return chunks
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as Message);
};

describe('only regular files inside the run directory are served', () => {
  test(
    'a recording that is a symlink to a file outside the run is refused by name; its contents are ' + 'never sent',
    async () => {
      const secret = path.join(root, 'secret.txt');
      fs.writeFileSync(secret, `${SECRET}\nroot:x:0:0:root:/root:/bin/bash\n`);
      const dir = runDir();
      fs.symlinkSync(secret, path.join(dir, 'recording.ndjson'));
      const s = await serve(dir);
      const text = JSON.stringify(await events(s));
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('root:x');
      expect(text).toContain(
        `recording.ndjson: its real path is outside the run directory ${dir}; refusing to serve it`,
      );
    },
  );

  test('a symlink to /dev/zero and a FIFO in the run directory are refused without being read', async () => {
    const zero = runDir();
    fs.symlinkSync('/dev/zero', path.join(zero, 'recording.ndjson'));
    expect((await events(await serve(zero))).map((m) => m.message)).toEqual([
      expect.stringContaining('its real path is outside the run directory'),
    ]);
    const fifo = runDir();
    // no mkfifo: the /dev/zero case above stands
    if (spawnSync('mkfifo', [path.join(fifo, 'recording.ndjson')]).status !== 0) return;
    expect((await events(await serve(fifo))).map((m) => m.message)).toEqual([
      expect.stringContaining('recording.ndjson: not a regular file; refusing to serve it'),
    ]);
  });

  test('a symlink that stays inside the run directory is followed', async () => {
    const dir = runDir();
    record(path.join(dir, 'attempt-1.ndjson'), [metrics(0), metrics(1)]);
    fs.symlinkSync('attempt-1.ndjson', path.join(dir, 'recording.ndjson'));
    expect((await events(await serve(dir))).map((m) => m.type)).toEqual(['header', 'metrics', 'metrics', 'replayed']);
  });

  test('`serve --page`: a symlink in the site to a file outside it is not served', async () => {
    const secret = path.join(root, 'site-secret.txt');
    fs.writeFileSync(secret, SECRET);
    const site = runDir();
    fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>site</title>');
    fs.writeFileSync(path.join(site, 'model.json'), '{}');
    fs.symlinkSync(secret, path.join(site, 'leak.json'));
    const s = await startStaticServer({ root: site, port: 0 });
    servers.push(s);
    expect((await fetch(`${s.url}model.json`)).status).toBe(200);
    const leak = await fetch(`${s.url}leak.json`);
    expect([leak.status, await leak.text()]).toEqual([404, 'not found\n']);
  });

  test('`serve --recording` outside the run directory is a usage error', async () => {
    let err = '';
    const io: Io = {
      stdout: () => undefined,
      stderr: (t) => void (err += t),
      stderrIsTTY: false,
      columns: 100,
      interrupted: () => Promise.resolve(),
    };
    expect(await main(['serve', runDir(), '--recording', '/etc/passwd', '--port', '0'], io)).toBe(1);
    expect(err).toContain('--recording: expected a file inside the run directory');
  });
});

test('a damaged line is reported by its number and kind of damage, never by its contents', async () => {
  const dir = runDir();
  const file = path.join(dir, 'recording.ndjson');
  record(file, [metrics(0), metrics(1), metrics(2)]);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[2] = `{"type":"metrics","note":"${SECRET}"`; // not JSON
  lines[3] = lines[3].replace(/"loss":[0-9.e-]+/, '"loss":4.13e16'); // valid JSON, checksum broken
  fs.writeFileSync(file, lines.join('\n'));
  const got = await events(await serve(dir));
  expect(JSON.stringify(got)).not.toContain(SECRET);
  expect(got.filter((m) => m.type === 'issue').map((m) => m.message)).toEqual([
    'recording line 3: not valid JSON',
    'recording line 4: checksum mismatch: the line was changed, or a line before it was removed or reordered, after ' +
      'it was written',
  ]);
  expect(got.filter((m) => m.type === 'metrics')).toHaveLength(1);
});

test('HEAD is answered like GET, without a body; other methods get 405 naming both', async () => {
  const dir = runDir();
  record(path.join(dir, 'recording.ndjson'), [metrics(0)]);
  const s = await serve(dir);
  const head = await fetch(s.url, { method: 'HEAD' });
  expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([
    200,
    'text/html; charset=utf-8',
    '',
  ]);
  expect((await fetch(`${s.url}events`, { method: 'HEAD' })).status).toBe(200);
  const post = await fetch(s.url, { method: 'POST' });
  expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
});

describe('back-pressure', () => {
  // 300 checkpoint events with 80 kB file names: ~24 MB of messages, more than loopback socket buffers hold
  const big = (): string => {
    const dir = runDir();
    const name = 'c'.repeat(80 * 1024);
    record(
      path.join(dir, 'recording.ndjson'),
      Array.from({ length: 300 }, (_, i): EventInput => ({
        type: 'checkpoint',
        phase: 0,
        step: i,
        file: `${name}${i}`,
      })),
    );
    return dir;
  };

  test('a client that stops reading is dropped once it has not drained for stallMs', async () => {
    const s = await serve(big(), { stallMs: 300 });
    const { port } = new URL(s.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write('GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    socket.pause(); // never reads
    const started = Date.now();
    while (s.clients() === 0 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(s.clients()).toBe(1);
    while (s.clients() > 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    expect(s.clients()).toBe(0);
    socket.destroy();
  }, 30_000);

  test('a client that reads gets every line, in order', async () => {
    const got = await events(await serve(big(), { stallMs: 5000 }));
    const steps = got.filter((m) => m.type === 'checkpoint').map((m) => m.step);
    expect(steps).toEqual([...Array(300).keys()]);
  }, 30_000);
});
