/**
 * Bad input, configs: every fixture under spec/fixtures/bad-configs/*.json is rejected
 * before any training, with the path its sidecar `.expect.json` names and a message
 * containing its expectation — by the pipeline decoder (cli/loadConfig: the method's
 * codec, unknown fields refused) and, for what a codec cannot see (files, derived
 * schedules, memory estimates), by the preflight checks (lib/train/preflight.ts; experiments
 * and sweeps through pipelines/preflight.ts, which hands the runners' configs on to it).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { preflight, distillShape, distillMemoryIssues } from '../../lib/train/preflight';
import { mlpSize } from '../../lib/models/memory';
import type { DistillConfig } from '../../lib/distill/distill';
import { preflightPipeline } from '../../pipelines/preflight';
import { ConfigError } from '../../lib/config/report';
import { runTeacher } from '../../lib/train/teacher';
import { runDistill } from '../../lib/train/distill';
import { useBackend } from '../../lib/backend';

const DIR = path.resolve(__dirname, '../fixtures/bad-configs');
const names = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expect.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

interface Expectation {
  readonly why: string;
  readonly path: string;
  /** Substring(s) the issue's message must contain. */
  readonly message: string | readonly string[];
}

const fixture = (name: string): { config: unknown; expect: Expectation } => ({
  config: JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8')),
  expect: JSON.parse(fs.readFileSync(path.join(DIR, `${name}.expect.json`), 'utf8')) as Expectation,
});

beforeAll(async () => {
  await useBackend('wasm');
  // the fixtures name files relative to the repository root
  process.chdir(path.resolve(__dirname, '../..'));
});

test('there are at least 30 malformed configs, each with an expectation', () => {
  expect(names.length).toBeGreaterThanOrEqual(30);
  for (const n of names) expect(fs.existsSync(path.join(DIR, `${n}.expect.json`))).toBe(true);
});

test.each(names)('%s is rejected with its path and expectation', (name) => {
  const { config, expect: want } = fixture(name);
  const r = preflightPipeline(config, `config ${name}.json`);
  if (E.isRight(r)) throw new Error(`${name} (${want.why}) was accepted`);
  expect(r.left).toBeInstanceOf(ConfigError);
  const issue = r.left.issues.find((i) => i.path === want.path);
  if (issue === undefined) throw new Error(`${name}: no issue at ${want.path}; got\n${r.left.message}`);
  for (const m of typeof want.message === 'string' ? [want.message] : want.message) expect(issue.message).toContain(m);
  // the one-line-per-issue report names the config, the path and the expectation
  expect(r.left.message).toContain(`invalid config ${name}.json:`);
  expect(r.left.message).toContain(`${want.path}: `);
});

test('the valid base configs the fixtures vary pass preflight', () => {
  const teacher = { method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, steps: 100 };
  const distill = { method: 'phased', teacher: 'spec/fixtures/bad-files/teacher.ckpt', iterations: 20 };
  for (const c of [teacher, distill]) {
    const r = preflight(c);
    if (E.isLeft(r)) throw r.left;
  }
  const experiment = { method: 'experiment', task: 'ring8' };
  const sweep = { method: 'sweep', task: 'ring8', budgets: [100, 200] };
  for (const c of [teacher, distill, experiment, sweep, { ...experiment, task: 'mnist' }]) {
    const r = preflightPipeline(c);
    if (E.isLeft(r)) throw r.left;
  }
});

test('the runners refuse bad configs before writing anything', async () => {
  const out = fs.mkdtempSync(path.join(require('os').tmpdir(), 'bad-config-'));
  try {
    await expect(runTeacher(fixture('lr-negative').config, { outDir: out, record: true })).rejects.toThrow(
      /invalid teacher config:\nlr: expected Positive, got -0\.001/,
    );
    await expect(runDistill(fixture('schedule-gap').config, { outDir: out, record: true })).rejects.toThrow(
      /schedule\.phases\[0\]\.interval\.end: must equal phases\[1\]\.interval\.start/,
    );
    await expect(runTeacher(fixture('npy-truncated').config, { outDir: out, record: true })).rejects.toThrow(
      /truncated\.npy: truncated \.npy data/,
    );
    await expect(
      runDistill(fixture('distill-teacher-truncated').config, { outDir: out, record: true }),
    ).rejects.toThrow(/truncated-teacher\.ckpt: truncated or padded/);
    expect(fs.readdirSync(out)).toEqual([]);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('the regression term passes preflight on every method; a bad field is refused before anything runs, named', () => {
  const input = { method: 'sgts', teacher: { method: 'teacher', data: { kind: 'mixture', name: 'ring8' } } };
  for (const method of ['sgts', 'vanilla', 'phased', 'dmd'])
    expect(E.isRight(preflight({ ...input, method, regression: { weight: 0.25, warmup: 10 } }))).toBe(true);
  const refused = preflight({ ...input, regression: { weight: -1 } }, 'config sgts.json');
  expect(E.isLeft(refused) && refused.left.message).toMatch(/regression\.weight: expected NonNegative, got -1/);
});

describe('the distillation memory estimate', () => {
  const teacher = mlpSize([4], 8, 2);
  const config = (c: Record<string, unknown>): DistillConfig =>
    ({ method: 'phased', teacher: 'spec/fixtures/bad-files/teacher.ckpt', iterations: 20, ...c }) as DistillConfig;

  test('a config’s shape: its phases, largest batch and the field that sets it, LoRA, phasing', () => {
    expect(distillShape(config({ preset: '4x4', batchSize: 64 }))).toEqual({
      phases: 4,
      batch: 64,
      batchPath: 'batchSize',
      concurrent: false,
    });
    expect(distillShape(config({ method: 'sgts', experts: { lora: { rank: 4 } }, phasing: 'concurrent' }))).toEqual({
      phases: 1,
      batch: 256,
      batchPath: 'batchSize',
      loraRank: 4,
      concurrent: true,
    });
    const schedule = {
      shift: 1,
      phases: [
        { interval: { start: 1, end: 0.5 }, steps: 1, iterations: 2 },
        { interval: { start: 0.5, end: 0 }, steps: 1, iterations: 2, batchSize: 512 },
      ],
    };
    expect(distillShape(config({ schedule }))).toMatchObject({
      phases: 2,
      batch: 512,
      batchPath: 'schedule.phases.1.batchSize',
    });
    // a malformed schedule is reported by the schedule check, not estimated
    expect(distillShape(config({ preset: '4x4', steps: 6 }))).toBeNull();
  });

  test('within the budget nothing is said; over it, the estimate at the field that dominates', () => {
    const shape = distillShape(config({ preset: '4x2', batchSize: 1000 }))!;
    expect(distillMemoryIssues(teacher, shape, 1e9)).toEqual([]);
    const [batch] = distillMemoryIssues(teacher, shape, 1000);
    expect(batch.path).toBe('batchSize');
    expect(batch.message).toContain('the activations of a batch of 1,000');
    expect(batch.message).toContain('1 frozen expert of finished phases');
    const [experts] = distillMemoryIssues(teacher, distillShape(config({ batchSize: 1 }))!, 100);
    expect(experts.path).toBe('experts');
    expect(experts.message).toContain('LoRA experts');
    const lora = distillShape(config({ batchSize: 1, experts: { lora: { rank: 3 } } }))!;
    expect(distillMemoryIssues(teacher, lora, 100, 'x')[0].path).toBe('x.experts.lora.rank');
  });
});
