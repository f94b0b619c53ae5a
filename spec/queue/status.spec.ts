import { stateOf, tally, JobRow } from '../../lib/queue/status';

describe('job states', () => {
  it.each([
    ['waiting', false, 'queued'],
    ['delayed', false, 'queued'],
    ['prioritized', false, 'queued'],
    ['waiting-children', false, 'queued'],
    ['waiting-children', true, 'done'],
    ['active', false, 'running'],
    ['active', true, 'running'],
    ['completed', true, 'done'],
    ['failed', false, 'failed'],
  ] as const)('BullMQ %s (own work done: %s) is %s', (queueState, staged, state) =>
    expect(stateOf(queueState, staged)).toBe(state),
  );

  it('counts each state', () => {
    const row = (state: JobRow['state']): JobRow =>
      ({
        id: state,
        name: 'x',
        depth: 0,
        state,
        queueState: '',
        attempts: 1,
        stalled: 0,
        data: {},
        waitingForChildren: false,
      }) as JobRow;
    const rows = [row('done'), row('done'), row('failed'), row('queued')];
    expect(tally(rows)).toEqual({ queued: 1, running: 0, done: 2, failed: 1 });
  });
});
