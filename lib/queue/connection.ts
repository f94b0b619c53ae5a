/**
 * Where the job queue lives: a Redis server named by `--queue redis://host:port[/db]`.
 * Parsed once at the edge into the options BullMQ's client takes; a reachability check
 * answers quickly with the reason, where the client itself would retry forever.
 */
import * as net from 'net';
import * as E from 'fp-ts/Either';

export interface QueueConnection {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  /** `redis://:password@host:port` (a server with `requirepass`). */
  readonly password?: string;
  /** The address as given, for messages. */
  readonly url: string;
}

/** `redis://host:port[/db]` → connection; Left names what is wrong with it. */
export const parseQueueUrl = (raw: string): E.Either<string, QueueConnection> => {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return E.left(`--queue: expected redis://host:port[/db], got ${JSON.stringify(masked(raw))}`);
  }
  const shown = JSON.stringify(masked(raw));
  if (u.protocol !== 'redis:')
    return E.left(`--queue: expected the scheme redis://, got ${JSON.stringify(u.protocol)} in ${shown}`);
  if (u.hostname === '') return E.left(`--queue: expected a host in ${shown}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbPart = u.pathname.replace(/^\//, '');
  const db = dbPart === '' ? 0 : Number(dbPart);
  if (!Number.isInteger(db) || db < 0)
    return E.left(`--queue: expected a database number after the port, got ${JSON.stringify(dbPart)}`);
  const password = u.password === '' ? undefined : decodeURIComponent(u.password);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return E.right({ host, port, db, ...(password === undefined ? {} : { password }), url: raw });
};

/** The options BullMQ's Redis client takes (workers need maxRetriesPerRequest null). */
export interface BullConnection {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly password?: string;
  readonly maxRetriesPerRequest: null;
}

export const bullConnection = (c: QueueConnection): BullConnection => ({
  host: c.host,
  port: c.port,
  db: c.db,
  ...(c.password === undefined ? {} : { password: c.password }),
  maxRetriesPerRequest: null,
});

/** The address without its password, for messages. */
export const masked = (url: string): string => url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');

/** Sends PING and waits for +PONG: Right when a Redis server answers within `timeoutMs`. */
export const pingRedis = (c: QueueConnection, timeoutMs = 2000): Promise<E.Either<string, void>> =>
  new Promise((resolve) => {
    const shown = masked(c.url);
    const socket = net.connect({ host: c.host, port: c.port });
    let reply = '';
    const done = (r: E.Either<string, void>): void => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done(E.left(`no answer from ${shown} within ${timeoutMs} ms`)));
    const arg = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    const auth = c.password === undefined ? '' : `*2\r\n${arg('AUTH')}${arg(c.password)}`;
    socket.on('connect', () => socket.write(`${auth}PING\r\n`));
    socket.on('data', (b) => {
      reply += b.toString('latin1');
      const lines = reply.split('\r\n');
      const refused = lines.find((l) => l.startsWith('-'));
      if (refused !== undefined) done(E.left(`${shown} answered ${JSON.stringify(refused)}`));
      else if (lines.includes('+PONG')) done(E.right(undefined));
      else if (lines.length > (c.password === undefined ? 1 : 2))
        done(E.left(`${shown} answered ${JSON.stringify(reply.trim())} to PING (not a Redis server?)`));
    });
    socket.on('error', (err) => done(E.left(`cannot reach Redis at ${shown}: ${err.message}`)));
  });

/** Parses an address and checks that a server answers there: the connection, or what is wrong. */
export const openQueueConnection = async (raw: string): Promise<E.Either<string, QueueConnection>> => {
  const c = parseQueueUrl(raw);
  if (E.isLeft(c)) return c;
  const ok = await pingRedis(c.right);
  return E.isLeft(ok) ? E.left(`--queue: ${ok.left}`) : c;
};
