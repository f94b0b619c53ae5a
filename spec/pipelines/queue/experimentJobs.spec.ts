import { decodeExperiment } from '../../../pipelines/experiment';
import {
  experimentFlow,
  experimentJobCount,
  jobId,
  studentJobs,
  teacherGroups,
  decodeJobData,
  nodeDir,
  describeNode,
} from '../../../pipelines/queue/experimentJobs';
import type { JobSpec } from '../../../lib/queue/flow';

const common = { runDir: '/shared/runs/x', runId: 'x-1', backend: 'wasm' as const, queue: 'redis://q:6379' };
const all = <D>(s: JobSpec<D>): JobSpec<D>[] => [s, ...(s.children ?? []).flatMap(all)];

describe('an experiment as jobs', () => {
  const experiment = (fields: object) => decodeExperiment({ method: 'experiment', ...fields });
  const r = experiment({ task: 'ring8', seeds: [0, 1, 2], methods: ['teacher', 'dmd', 'phased-4x2'] });

  it('report ← one teacher per seed; students join each teacher once it is trained', () => {
    const flow = experimentFlow(r, common);
    expect(flow.name).toBe('report');
    expect(flow.children!.map((c) => c.name)).toEqual(['teacher', 'teacher', 'teacher']);
    expect(flow.children!.map((c) => c.data.node)).toEqual(teacherGroups(r).map((g) => ({ kind: 'teacher', ...g })));
    const g = teacherGroups(r)[1];
    expect(studentJobs(r, common, g.key, g.seeds).map((s) => s.data.node)).toEqual([
      { kind: 'student', key: g.key, seed: 1, method: 'dmd' },
      { kind: 'student', key: g.key, seed: 1, method: 'phased-4x2' },
    ]);
    expect(experimentJobCount(r)).toBe(1 + 3 + 3 * 2);
  });

  it('ids are unique, without ":" (BullMQ refuses it), and the same when enqueued again with the same run id', () => {
    const students = teacherGroups(r).flatMap((g) => studentJobs(r, common, g.key, g.seeds));
    const ids = [...all(experimentFlow(r, common)), ...students].map((s) => s.id);
    expect(new Set(ids).size).toBe(experimentJobCount(r));
    ids.forEach((id) => expect(id).not.toContain(':'));
    expect(all(experimentFlow(r, common)).map((s) => s.id)).toEqual(all(experimentFlow(r, common)).map((s) => s.id));
  });

  it('teacher.seed: one teacher job for every seed (trained once, as in-process)', () => {
    const shared = experiment({ task: 'ring8', seeds: [0, 1], methods: ['dmd'], teacher: { seed: 7 } });
    const flow = experimentFlow(shared, common);
    const teachers = flow.children!.map((c) => c.data.node);
    expect(teachers).toEqual([{ kind: 'teacher', key: expect.any(String), seeds: [0, 1] }]);
    expect(experimentJobCount(shared)).toBe(1 + 1 + 2);
  });

  it('image tasks: the feature classifier is a job of its own beside the teachers, unless a saved one is given', () => {
    const mnist = experiment({ task: 'mnist', seeds: [0], methods: ['dmd'] });
    expect(experimentFlow(mnist, common).children!.map((c) => c.name)).toEqual(['classifier', 'teacher']);
    const fashion = experiment({ task: 'fashion-mnist', images: { pool: 2, size: 16 }, seeds: [0], methods: ['dmd'] });
    expect(experimentFlow(fashion, common).children!.map((c) => c.name)).toEqual(['classifier', 'teacher']);
    expect(nodeDir(common.runDir, { kind: 'classifier' })).toBe('/shared/runs/x/classifier');
    const given = experiment({ task: 'mnist', seeds: [0], methods: ['dmd'], classifier: { path: 'c.ckpt' } });
    expect(experimentFlow(given, common).children!.map((c) => c.name)).toEqual(['teacher']);
  });

  it('a job names the directory it writes', () => {
    const [g] = teacherGroups(r);
    const student = { kind: 'student' as const, key: g.key, seed: 2, method: 'dmd' as const };
    expect(nodeDir(common.runDir, student)).toBe('/shared/runs/x/seed-2/dmd');
    const teacher = { kind: 'teacher' as const, key: g.key, seeds: [0] };
    expect(nodeDir(common.runDir, teacher)).toBe(`/shared/runs/x/teachers/${g.key}`);
    expect(describeNode({ kind: 'student', key: g.key, seed: 2, method: 'dmd' })).toBe('seed 2 dmd');
    expect(jobId('x-1', { kind: 'report' })).toBe('x-1.report');
  });

  it('job data is decoded at the worker: a bad field is named', () => {
    const good = experimentFlow(r, common).data;
    expect(decodeJobData(JSON.parse(JSON.stringify(good)))).toEqual(good);
    expect(() => decodeJobData({ ...good, backend: 'gpu' })).toThrow(/backend/);
    const teacherAsStudent = { kind: 'student', key: 'k', seed: 0, method: 'teacher' };
    expect(() => decodeJobData({ ...good, node: teacherAsStudent })).toThrow(/method/);
  });
});
