/**
 * `GET /jobs` of the live page: a queued experiment's jobs (lib/queue/jobsView) as JSON;
 * 404 when the run directory was not enqueued (the page then hides its jobs panel), 503
 * with the reason when the queue cannot be read.
 */
import type * as http from 'http';
import * as E from 'fp-ts/Either';
import { jobsView } from '../queue/jobsView';

export const serveJobs = async (runDir: string, res: http.ServerResponse): Promise<void> => {
  const view = await jobsView(runDir);
  const json = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (E.isLeft(view)) res.writeHead(503, json).end(JSON.stringify({ error: view.left }));
  else if (view.right === null) res.writeHead(404, json).end(JSON.stringify({ error: 'not a queued run' }));
  else res.writeHead(200, json).end(JSON.stringify(view.right));
};
