/** `phased-dmd serve <run-dir>`: a local web page showing a run live (or a recording replaying). */
import * as path from 'path';
import { defineCommand } from './command';
import { int, num, str, UsageError } from './args';
import { startServer } from '../lib/serve/server';
import { RECORDING_FILE } from '../lib/checkpoint/files';
import { startStaticServer } from '../lib/serve/static';

/** Where the page is served unless --port says otherwise. */
export const DEFAULT_PORT = 8765;

export const serveCommand = defineCommand({
  name: 'serve',
  summary:
    'Serve a local web page that shows a run’s metrics and latest samples per phase as they stream (or as its ' +
    'recording replays).',
  args: '<run-dir> | --page <site>',
  positionals: { min: 0, max: 1 },
  options: {
    port: int(`port to listen on (default ${DEFAULT_PORT}; 0 = any free port)`, 'n'),
    host: str('address to listen on (default 127.0.0.1: this machine only)', 'addr'),
    speed: num('replay the recording at this factor of recorded time instead of following it live', 'x'),
    recording: str('the recording to show, inside the run directory (default <run-dir>/recording.ndjson)', 'file'),
    page: str(
      'instead of a run: host a site written by `export --format tfjs --page` ' +
        '(the page samples an exported student in the browser)',
      'site',
    ),
  },
  description:
    'Start it before, during or after a run: the page catches up with what is recorded, then follows new lines as ' +
    'the run appends them (a recording that does not exist yet is waited for). Sample snapshots are drawn as ' +
    'figures on the server. Stop with Ctrl-C.',
  examples: [
    'phased-dmd serve runs/phased',
    'phased-dmd serve runs/phased --speed 20 --port 9000',
    'phased-dmd serve --page site',
  ],
  run: async ({ options: o, positionals }, io) => {
    if (o.page !== undefined) {
      if (positionals.length > 0 || o.speed !== undefined || o.recording !== undefined) {
        throw new UsageError('--page: serves a site, not a run: give no <run-dir>, --speed or --recording');
      }
      if (o.port !== undefined && (o.port < 0 || o.port > 65535)) {
        throw new UsageError(`--port: expected 0…65535, got ${o.port}`);
      }
      const site = await startStaticServer({ root: o.page, host: o.host ?? '127.0.0.1', port: o.port ?? 8765 });
      io.stdout(`${site.url}\n`);
      io.stderr(`serving the site ${path.resolve(o.page)}; Ctrl-C stops\n`);
      await io.interrupted();
      await site.close();
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('serve: expected a <run-dir> (or --page <site>)');
    if (o.speed !== undefined && !(o.speed > 0))
      throw new UsageError(`--speed: expected a positive factor, got ${o.speed}`);
    if (o.port !== undefined && (o.port < 0 || o.port > 65535))
      throw new UsageError(`--port: expected 0…65535, got ${o.port}`);
    const inside = path.relative(path.resolve(positionals[0]), path.resolve(o.recording ?? positionals[0]));
    if (inside.startsWith('..') || path.isAbsolute(inside))
      throw new UsageError(
        `--recording: expected a file inside the run directory ${positionals[0]}, got ${o.recording}`,
      );
    const server = await startServer({
      runDir: positionals[0],
      ...(o.recording !== undefined ? { recording: o.recording } : {}),
      host: o.host ?? '127.0.0.1',
      port: o.port ?? DEFAULT_PORT,
      ...(o.speed !== undefined ? { speed: o.speed } : {}),
      log: (line) => io.stderr(`${line}\n`),
    });
    io.stdout(`${server.url}\n`);
    io.stderr(
      `serving ${path.resolve(o.recording ?? path.join(positionals[0], RECORDING_FILE))}` +
        `${o.speed !== undefined ? ` (replay at ${o.speed}×)` : ' (live)'}; Ctrl-C stops\n`,
    );
    await io.interrupted();
    await server.close();
    return 0;
  },
});
