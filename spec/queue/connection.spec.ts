import * as net from 'net';
import * as E from 'fp-ts/Either';
import { parseQueueUrl, pingRedis, openQueueConnection } from '../../lib/queue/connection';

describe('queue address', () => {
  it('reads host, port and database; the port defaults to 6379, the database to 0', () => {
    const url = (u: string) => ({ url: u });
    expect(parseQueueUrl('redis://10.0.0.5:6390/3')).toEqual(
      E.right({ host: '10.0.0.5', port: 6390, db: 3, ...url('redis://10.0.0.5:6390/3') }),
    );
    expect(parseQueueUrl('redis://queue.lab')).toEqual(
      E.right({ host: 'queue.lab', port: 6379, db: 0, ...url('redis://queue.lab') }),
    );
    expect(parseQueueUrl('redis://:s%40cret@queue.lab:6390')).toEqual(
      E.right({ host: 'queue.lab', port: 6390, db: 0, password: 's@cret', ...url('redis://:s%40cret@queue.lab:6390') }),
    );
  });

  it.each([
    ['queue.lab', /expected redis:\/\/host:port/],
    ['localhost:6379', /scheme redis:\/\//],
    ['http://localhost:6379', /scheme redis:\/\//],
    ['redis://localhost:6379/x', /database number/],
  ])('refuses %s, saying what is expected', (raw, message) => {
    const r = parseQueueUrl(raw);
    expect(E.isLeft(r) && r.left).toMatch(message);
  });

  it('a port where nothing listens: Left with the reason, quickly', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const r = await openQueueConnection(`redis://127.0.0.1:${port}`);
    const refused = new RegExp(`--queue: cannot reach Redis at redis://127.0.0.1:${port}: .*ECONNREFUSED`);
    expect(E.isLeft(r) && r.left).toMatch(refused);
  });

  it('a server that is not Redis: Left naming its answer', async () => {
    const server = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const r = await pingRedis({ host: '127.0.0.1', port, db: 0, url: `redis://127.0.0.1:${port}` });
    server.close();
    expect(E.isLeft(r) && r.left).toMatch(/answered "HTTP\/1.1 400 Bad Request" to PING \(not a Redis server\?\)/);
  });

  it('a server that wants a password: Left with its refusal, the password kept out of the message', async () => {
    let sent = '';
    const refusal = '-WRONGPASS invalid username-password pair';
    const server = net.createServer((s) => s.on('data', (b) => ((sent += b), s.write(`${refusal}\r\n`))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const r = await pingRedis({ host: '127.0.0.1', port, db: 0, password: 'hunter2', url });
    server.close();
    expect(sent).toBe('*2\r\n$4\r\nAUTH\r\n$7\r\nhunter2\r\nPING\r\n');
    expect(E.isLeft(r) && r.left).toBe(`redis://:***@127.0.0.1:${port} answered "${refusal}"`);
  });
});
