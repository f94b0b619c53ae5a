/**
 * A static file server for an exported site (the sampling page, its script and wasm
 * binaries, the models): GET and HEAD only, regular files whose real path is under the site
 * directory only (a symlink out of it is not followed).
 * `application/wasm` matters: browsers compile wasm while it downloads only with that type.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { RunningServer } from './server';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.png': 'image/png',
};

/** The file a request path names inside `root`, or null when it would leave it. */
export const resolveInside = (root: string, pathname: string): string | null => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const file = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
};

export const startStaticServer = async (o: {
  readonly root: string;
  readonly host?: string;
  readonly port?: number;
}): Promise<RunningServer> => {
  const root = path.resolve(o.root);
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new Error(
      `${root}: no index.html (write a site with \`phased-dmd export --format tfjs --page --out ${o.root}\`)`,
    );
  }
  const realRoot = fs.realpathSync(root);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = resolveInside(root, url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname);
    if (target === null) {
      res.writeHead(400).end('bad path\n');
      return;
    }
    fs.realpath(target, (e, real) =>
      fs.stat(real ?? target, (err, st) => {
        if (e !== null || err !== null || !st.isFile() || !real.startsWith(realRoot + path.sep)) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        res.writeHead(200, {
          'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream',
          'content-length': st.size,
          'cache-control': 'no-store',
        });
        if (req.method === 'HEAD') res.end();
        else fs.createReadStream(real).pipe(res);
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    clients: () => 0, // no event streams: each request is answered whole
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
