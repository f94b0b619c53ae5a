/**
 * `npx tsx bench/serveSoak.ts [--clients 200] [--slow 0.5] [--mb 10] [--seconds 45]`: a soak
 * of `phased-dmd serve`, not a timed test. Writes a recording of about `--mb` MB, starts the
 * real command on 127.0.0.1 in its own process, and connects `--clients` clients to
 * /events at once: a `--slow` fraction never read (their sockets stay paused), the rest
 * read everything. Prints the server's resident memory (VmRSS from /proc) before the
 * clients, its peak while they are connected and at the end, how many readers caught up
 * and how many stalled clients the server dropped. Linux only (reads /proc).
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import * as E from 'fp-ts/Either';
import { RecordingWriter, makeHeader } from '../lib/record/writer';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const CLIENTS = arg('clients', 200);
const SLOW = arg('slow', 0.5);
const MB = arg('mb', 10);
const SECONDS = arg('seconds', 45);

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
};

/** A recording of metrics lines (~250 B each) up to about `mb` MB; returns its last line number. */
const writeRecording = (file: string, mb: number): number => {
  const w = RecordingWriter.create(
    file,
    makeHeader({ config: { method: 'teacher' }, seed: 0, kind: 'teacher', backend: 'wasm' }),
    { fsyncEvery: 1 << 20 },
  );
  if (E.isLeft(w)) throw w.left;
  let step = 0;
  while (fs.statSync(file).size < mb * 1024 * 1024) {
    for (let i = 0; i < 1000; i++, step++)
      w.right.append({
        type: 'metrics',
        key: { seed: 0, phase: 0, step },
        role: 'teacher',
        loss: 1 / (1 + step),
        gradNorm: 0.5,
        extras: { exitStep: step % 7 },
        ms: 3.5,
      });
    w.right.sync();
  }
  w.right.close();
  return step + 1;
};

/** One SSE client over a raw socket: reads everything (counting the last id seen), or never reads. */
const client = (port: number, reads: boolean, lastLine: number) => {
  const state = { caughtUp: false, bytes: 0 };
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  if (!reads) socket.pause();
  else {
    let tail = '';
    socket.on('data', (b: Buffer) => {
      state.bytes += b.length;
      tail = (tail + b.toString('latin1')).slice(-200);
      if (tail.includes(`id: ${lastLine}\n`)) state.caughtUp = true;
    });
  }
  return { state, stop: () => socket.destroy() };
};

const main = async (): Promise<void> => {
  if (process.platform !== 'linux') throw new Error('the soak reads the server’s memory from /proc: Linux only');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-soak-'));
  const lastLine = writeRecording(path.join(dir, 'recording.ndjson'), MB);
  const size = fs.statSync(path.join(dir, 'recording.ndjson')).size;
  const bin = path.resolve(__dirname, '../bin/phased-dmd.js');
  const server = spawn(process.execPath, [bin, 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let dropped = 0;
  server.stderr.on('data', (b: Buffer) => (dropped += (b.toString().match(/dropped a client/g) ?? []).length));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout.on('data', (b: Buffer) => resolve(b.toString().trim()));
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const port = Number(new URL(url).port);
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssMb(server.pid!);
    const slow = Math.round(CLIENTS * SLOW);
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(port, i >= slow, lastLine));
    let peak = before;
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, rssMb(server.pid!));
    }
    const end = rssMb(server.pid!);
    const readers = clients.slice(slow);
    console.log(`serve soak: ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores), node ${process.version}`);
    console.log(
      `recording: ${(size / 1024 / 1024).toFixed(1)} MB, ${lastLine} lines; ${CLIENTS} clients at once on 127.0.0.1 ` +
        `(${slow} never read), ${SECONDS} s`,
    );
    console.log(
      `server RSS: ${before.toFixed(0)} MB before the clients, peak ${peak.toFixed(0)} MB, ${end.toFixed(0)} MB at ` +
        `the end`,
    );
    console.log(
      `readers caught up: ${readers.filter((c) => c.state.caughtUp).length} / ${readers.length} ` +
        `(${(readers.reduce((a, c) => a + c.state.bytes, 0) / 1024 / 1024).toFixed(0)} MB received)`,
    );
    console.log(`clients the server dropped for not reading: ${dropped} (of ${slow} that never read)`);
    clients.forEach((c) => c.stop());
  } finally {
    server.kill('SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
