/**
 * The live view's server (Node http, no framework):
 *
 *   GET /                 the page (lib/serve/page.ts)
 *   GET /events           Server-Sent Events: the recording from its first line, then every
 *                         line appended while the run goes on (or, in replay mode, the
 *                         recording re-timed by `speed`); `id` = line number, so a browser
 *                         that reconnects continues where it stopped
 *   GET /figures/N.png    the samples of recording line N as a figure (lib/plots), rendered
 *                         on first request and cached
 *   GET /jobs             a queued experiment's jobs as JSON (./jobs.ts); 404 when not queued
 *
 * HEAD is answered like GET, without the body. Only a regular file whose real path is in
 * the run directory is read (lib/serve/tail.ts); a line that cannot be decoded is reported
 * by its number and the kind of damage, never by its contents. Each client is fed only as
 * fast as it reads: the file is read line by line for it, a write that fills its socket
 * waits for `drain`, and a client that takes longer than `stallMs` to drain is dropped
 * (its browser reconnects and continues from the last line it received).
 */
import * as http from 'http';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import type { AddressInfo } from 'net';
import { RawLine, RecordingError, EventDecoder, decodeHeader, eventDecoder } from '../record/reader';
import type { RecordingHeader, SampleEvent } from '../record/events';
import { tailLines, ServeFileError } from './tail';
import { eventMessage, headerMessage, ClientMessage } from './messages';
import { PAGE_HTML } from './page';
import { renderPngs } from '../plots/render';
import { samplesFigure } from '../plots/sampleFigure';
import { dataConfigOf, dataInfoOf } from '../plots/dataInfo';
import { RECORDING_FILE } from '../train/teacher';
import { phaseLabel } from '../phases/label';
import { serveJobs } from './jobs';

export interface ServeOptions {
  readonly runDir: string;
  /** Default `<runDir>/recording.ndjson`. */
  readonly recording?: string;
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
  /** Replay the (finished) recording at this factor of recorded time instead of following it live. */
  readonly speed?: number;
  readonly pollMs?: number;
  /** Drop a client whose socket has not drained for this long (default 30 s). */
  readonly stallMs?: number;
  /** Clients of /events served at once (default 256); more get 503 and retry. */
  readonly maxClients?: number;
  /** Told when a client is dropped for not reading. */
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  /** Clients of /events connected now (a dropped client no longer counts). */
  clients(): number;
  close(): Promise<void>;
}

interface Sent {
  readonly id: number;
  readonly message: ClientMessage;
}

/** A line's SSE text ('' when it shows nothing) and its recorded time. */
interface Cached {
  readonly offset: number;
  readonly text: string;
  readonly at: number | null;
}

/** Text of decoded lines kept for every client. */
const CACHE_BYTES = 64 << 20;

export const startServer = async (o: ServeOptions): Promise<RunningServer> => {
  const file = o.recording ?? path.join(o.runDir, RECORDING_FILE);
  const samples = new Map<number, { event: SampleEvent; header: RecordingHeader | null }>();
  const figures = new Map<number, Promise<Buffer>>();
  let rendering: Promise<unknown> = Promise.resolve();

  /** Renders one sample event's figure (one render at a time: each starts a vega worker). */
  const figure = (line: number): Promise<Buffer> | null => {
    const s = samples.get(line);
    if (s === undefined) return null;
    const png = figures.get(line);
    if (png === undefined) {
      const shape = s.event.x.shape;
      const values = s.event.x.values instanceof Float32Array ? s.event.x.values : Float32Array.from(s.event.x.values);
      const labels = s.event.labels === null ? null : Int32Array.from(s.event.labels.values);
      const data = dataInfoOf(dataConfigOf(s.header?.config, file), shape.slice(1));
      const spec = samplesFigure(
        [
          {
            title: `${s.event.name}, ${phaseLabel(s.event.phase)}, step ${s.event.step}`,
            samples: { values, shape, labels },
          },
        ],
        data,
      );
      const rendered: Promise<Buffer> =
        spec === null
          ? Promise.reject(new Error('no figure for this sample shape'))
          : rendering.catch(() => undefined).then(() => renderPngs([spec]).then((b) => b[0]));
      rendered.catch(() => undefined); // handled where requested; never an unhandled rejection
      rendering = rendered;
      figures.set(line, rendered);
      return rendered;
    }
    return png;
  };

  /** What a client is told about a line that cannot be shown: its number and the damage, not its contents. */
  const issue = (id: number, err: unknown): Sent => {
    const why =
      err instanceof ServeFileError
        ? err.message
        : err instanceof RecordingError
          ? `recording line ${err.line ?? id}: ${err.brief ?? 'cannot be decoded'}`
          : 'cannot read the recording';
    return { id, message: { type: 'issue', message: why } };
  };

  /**
   * Each line's SSE text, decoded once for all clients (up to CACHE_BYTES of text; past
   * that each client decodes for itself). An entry is used only for a line at the same
   * byte offset, so a recording replaced under the same name is decoded afresh.
   */
  const cache = new Map<number, Cached>();
  let cached = 0;

  /**
   * The SSE text of one recording line (with its `at`, for replay pacing) for a client that has seen lines up to
   * `after`.
   */
  const decoder = (after: number) => {
    let header: RecordingHeader | null = null;
    let decodeEvent: EventDecoder | null = null;
    const sse = (s: Sent): string => `id: ${s.id}\ndata: ${JSON.stringify(s.message)}\n\n`;
    const fresh = async (l: RawLine, decode: EventDecoder): Promise<Cached> => {
      const d = decode(l);
      if (E.isLeft(d)) return { offset: l.offset, text: sse(issue(l.line, d.left)), at: null };
      const e = d.right;
      if (e.type === 'sample') samples.set(l.line, { event: e, header });
      const m = await eventMessage(e, l.line, async (_e, line) => `/figures/${line}.png`);
      return { offset: l.offset, text: m === null ? '' : sse({ id: l.line, message: m }), at: 'at' in e ? e.at : null };
    };
    return async (l: RawLine): Promise<Cached> => {
      if (l.line === 1) {
        const h = decodeHeader(file, l);
        if (E.isLeft(h)) return { offset: 0, text: sse(issue(1, h.left)), at: null };
        header = h.right;
        decodeEvent = eventDecoder(file, h.right, l);
        return { offset: 0, text: sse({ id: 1, message: headerMessage(h.right) }), at: null };
      }
      if (decodeEvent === null) return { offset: l.offset, text: '', at: null };
      const hit = cache.get(l.line);
      let c: Cached;
      if (hit !== undefined && hit.offset === l.offset) {
        decodeEvent.skip(l);
        c = hit;
      } else {
        c = await fresh(l, decodeEvent);
        if (hit === undefined && cached + c.text.length <= CACHE_BYTES) {
          cache.set(l.line, c);
          cached += c.text.length;
        }
      }
      return l.line <= after ? { ...c, text: '' } : c;
    };
  };

  const stallMs = o.stallMs ?? 30_000;

  /** Writes to a client; resolves false when the client went away or was dropped for not reading. */
  const send = (res: http.ServerResponse, text: string, signal: AbortSignal): Promise<boolean> => {
    if (signal.aborted || res.destroyed) return Promise.resolve(false);
    if (res.write(text)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        res.off('drain', drained);
        signal.removeEventListener('abort', aborted);
        if (!ok && !signal.aborted)
          o.log?.(`dropped a client that read nothing for ${stallMs / 1000} s (it reconnects where it stopped)`);
        if (!ok) res.destroy();
        resolve(ok);
      };
      const drained = () => done(true);
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), stallMs);
      res.once('drain', drained);
      signal.addEventListener('abort', aborted);
    });
  };

  /** Streams the recording to one client, line by line, at the pace it reads (and, replaying, at `speed`). */
  const stream = async (res: http.ServerResponse, after: number, signal: AbortSignal): Promise<void> => {
    const decode = decoder(after);
    let previous: number | null = null;
    // replay: each event waits its recorded gap, scaled (`at` restarts after a resume: never a negative wait);
    // gaps under a millisecond are summed until they are worth a timer
    let owed = 0;
    try {
      for await (const batch of tailLines(file, {
        pollMs: o.pollMs,
        follow: o.speed === undefined,
        root: o.runDir,
        signal,
      })) {
        // one write per batch of lines (a write per line costs a system call each), flushed before a replay wait
        let out = '';
        for (const l of batch) {
          const c = await decode(l);
          if (c.text === '') continue;
          if (o.speed !== undefined && c.at !== null && previous !== null)
            owed += Math.max(0, c.at - previous) / o.speed;
          if (owed >= 1) {
            if (out !== '' && !(await send(res, out, signal))) return;
            out = '';
            await new Promise((r) => setTimeout(r, owed));
            owed = 0;
          }
          if (c.at !== null) previous = c.at;
          out += c.text;
        }
        if (out !== '' && !(await send(res, out, signal))) return;
        // let the other clients (and the sockets) have a turn
        await new Promise((r) => setImmediate(r));
      }
      if (!signal.aborted) await send(res, `data: ${JSON.stringify({ type: 'replayed' })}\n\n`, signal);
    } catch (err) {
      if (!signal.aborted && !res.destroyed) res.end(`data: ${JSON.stringify(issue(0, err).message)}\n\n`);
    }
  };

  const clients = new Set<{ res: http.ServerResponse; stop: AbortController }>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE_HTML);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/events') {
      if (clients.size >= (o.maxClients ?? 256)) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('too many clients; retry later');
        return;
      }
      const after = Number(req.headers['last-event-id'] ?? 0) || 0;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      res.write(
        `retry: 1000\n: ${o.speed === undefined ? 'following' : `replaying at ${o.speed}x`} the run's recording\n\n`,
      );
      const client = { res, stop: new AbortController() };
      clients.add(client);
      const forget = () => {
        client.stop.abort();
        clients.delete(client);
      };
      res.on('close', forget);
      void stream(res, after, client.stop.signal).finally(forget);
      return;
    }
    if (url.pathname === '/jobs') {
      void serveJobs(o.runDir, res);
      return;
    }
    const fig = /^\/figures\/(\d+)\.png$/.exec(url.pathname);
    if (fig !== null) {
      const png = figure(Number(fig[1]));
      if (png === null) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no samples on that line (yet)');
        return;
      }
      png.then(
        (b) => res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'max-age=3600' }).end(b),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    clients: () => clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) {
          c.stop.abort();
          c.res.end();
        }
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
};
