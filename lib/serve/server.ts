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
 */
import * as http from 'http';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { Observable, Subscription, concatMap, defer, filter, from, of, timer, map, EMPTY } from 'rxjs';
import type { AddressInfo } from 'net';
import type { RawLine } from '../record/reader';
import type { RecordedEvent, RecordingHeader, SampleEvent } from '../record/events';
import { tailLines } from './tail';
import { decodeLine, eventMessage, headerMessage, ClientMessage } from './messages';
import { PAGE_HTML } from './page';
import { renderPngs } from '../plots/render';
import { samplesFigure } from '../cli/sampleFigure';
import { dataConfigOf, dataInfoOf } from '../cli/models';
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
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

interface Sent {
  readonly id: number;
  readonly message: ClientMessage;
}

export const startServer = async (o: ServeOptions): Promise<RunningServer> => {
  const file = o.recording ?? path.join(o.runDir, RECORDING_FILE);
  const samples = new Map<number, { event: SampleEvent; header: RecordingHeader | null }>();
  const figures = new Map<number, Promise<Buffer>>();
  let rendering: Promise<unknown> = Promise.resolve();

  /** Renders one sample event's figure (one render at a time: each starts a vega worker). */
  const figure = (line: number): Promise<Buffer> | null => {
    const s = samples.get(line);
    if (s === undefined) return null;
    let png = figures.get(line);
    if (png === undefined) {
      const shape = s.event.x.shape;
      const values = s.event.x.values instanceof Float32Array ? s.event.x.values : Float32Array.from(s.event.x.values);
      const labels = s.event.labels === null ? null : Int32Array.from(s.event.labels.values);
      const data = dataInfoOf(dataConfigOf(s.header?.config, file), shape.slice(1));
      const spec = samplesFigure([{ title: `${s.event.name}, ${phaseLabel(s.event.phase)}, step ${s.event.step}`, samples: { values, shape, labels } }], data);
      const rendered: Promise<Buffer> =
        spec === null ? Promise.reject(new Error('no figure for this sample shape')) : rendering.catch(() => undefined).then(() => renderPngs([spec]).then((b) => b[0]));
      rendered.catch(() => undefined); // handled where requested; never an unhandled rejection
      rendering = rendered;
      figures.set(line, rendered);
      return rendered;
    }
    return png;
  };

  /** The messages of the recording for one client, from line `after` + 1. */
  const messages = (after: number): Observable<Sent> => {
    let header: RecordingHeader | null = null;
    const decoded = (l: RawLine): Observable<Sent> => {
      const d = decodeLine(file, l);
      if (E.isLeft(d)) return of({ id: l.line, message: { type: 'issue', message: d.left.message } as ClientMessage });
      if ('header' in d.right) {
        header = d.right.header;
        return of({ id: l.line, message: headerMessage(d.right.header) });
      }
      const e: RecordedEvent = d.right.event;
      if (e.type === 'sample') samples.set(l.line, { event: e, header });
      if (l.line <= after) return EMPTY;
      return from(eventMessage(e, l.line, async (_e, line) => `/figures/${line}.png`)).pipe(
        filter((m): m is ClientMessage => m !== null),
        map((message) => ({ id: l.line, message })),
      );
    };
    const lines = tailLines(file, { pollMs: o.pollMs, follow: o.speed === undefined });
    if (o.speed === undefined) return lines.pipe(concatMap(decoded));
    // replay: each event waits its recorded gap, scaled (`at` restarts after a resume: never a negative wait)
    const speed = o.speed;
    return defer(() => {
      let previous: number | null = null;
      return lines.pipe(
        concatMap(decoded),
        concatMap((s) => {
          const at = 'at' in s.message ? (s.message as { at: number }).at : null;
          const wait = at === null || previous === null ? 0 : Math.max(0, at - previous) / speed;
          if (at !== null) previous = at;
          return wait > 0 ? timer(wait).pipe(map(() => s)) : of(s);
        }),
      );
    });
  };

  const clients = new Set<{ res: http.ServerResponse; sub: Subscription }>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
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
      const after = Number(req.headers['last-event-id'] ?? 0) || 0;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`retry: 1000\n: ${o.speed === undefined ? 'following' : `replaying at ${o.speed}x`} ${file}\n\n`);
      const client = {
        res,
        sub: messages(after).subscribe({
          next: (s) => res.write(`id: ${s.id}\ndata: ${JSON.stringify(s.message)}\n\n`),
          error: (err: Error) => {
            res.write(`data: ${JSON.stringify({ type: 'issue', message: err.message })}\n\n`);
            res.end();
          },
          complete: () => res.write(`data: ${JSON.stringify({ type: 'replayed' })}\n\n`),
        }),
      };
      clients.add(client);
      req.on('close', () => {
        client.sub.unsubscribe();
        clients.delete(client);
      });
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) {
          c.sub.unsubscribe();
          c.res.end();
        }
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
};
