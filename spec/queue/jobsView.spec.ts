import * as fs from 'fs';
import * as os from 'os';
import * as net from 'net';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { jobsView } from '../../lib/queue/jobsView';
import { writeQueuedRun, readQueuedRun } from '../../lib/queue/runFile';

describe('the live page’s jobs view', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-view-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a run directory that was not enqueued: no view (the page hides its panel)', async () => {
    expect(await jobsView(dir)).toEqual(E.right(null));
  });

  it('a queue that does not answer: Left with the reason, the password masked', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const queue = `redis://:pw@127.0.0.1:${port}`;
    writeQueuedRun(dir, { runId: 'r-1', queue, root: 'r-1.report', jobs: 4, enqueuedAt: new Date(0).toISOString() });
    const v = await jobsView(dir);
    const refused = new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127.0.0.1:${port}: .*ECONNREFUSED`);
    expect(E.isLeft(v) && v.left).toMatch(refused);
  });

  it('queue.json is decoded where it is read: a bad field is named', () => {
    const bad = { runId: 'r', queue: 'redis://q', root: 'r.report', jobs: 'four', enqueuedAt: '' };
    fs.writeFileSync(path.join(dir, 'queue.json'), JSON.stringify(bad));
    const r = readQueuedRun(dir);
    expect(E.isLeft(r) && r.left).toMatch(/queue\.json: jobs: /);
  });
});
