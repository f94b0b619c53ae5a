/**
 * pipelines/preflight.ts: the decoded entry (`validate` loads and decodes a config itself, then checks the rest)
 * reports exactly what the decoding entry reports, for every bad-config fixture and the valid bases.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { runConfigIssues } from '../../lib/train/configs';
import { PIPELINE_CODECS, preflightPipeline, preflightPipelineDecoded } from '../../pipelines/preflight';

const DIR = path.resolve(__dirname, '../fixtures/bad-configs');
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expect.json'))
  .sort();

const messageOf = (r: E.Either<Error, unknown>): string => (E.isLeft(r) ? r.left.message : 'accepted');

test.each(fixtures)('%s: the decoded entry reports what the decoding entry reports', (file) => {
  const input: unknown = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
  const whole = preflightPipeline(input, `config ${file}`);
  const decoded = runConfigIssues(input, PIPELINE_CODECS);
  // a fixture the codec refuses never reaches the decoded entry; the rest must fail there with the same report
  if (E.isLeft(decoded)) {
    expect(E.isLeft(whole)).toBe(true);
    return;
  }
  const later = preflightPipelineDecoded({ ...decoded.right, input }, `config ${file}`);
  expect(E.isLeft(later)).toBe(true);
  expect(messageOf(later)).toBe(messageOf(whole));
});

test('valid experiment and sweep configs pass the decoded entry unchanged', () => {
  const configs = [
    { method: 'experiment', task: 'ring8' },
    { method: 'sweep', task: 'uneven7', budgets: [128, 256] },
    { method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, steps: 100 },
  ];
  for (const input of configs) {
    const decoded = runConfigIssues(input, PIPELINE_CODECS);
    if (E.isLeft(decoded)) throw new Error(JSON.stringify(decoded.left));
    const r = preflightPipelineDecoded({ ...decoded.right, input });
    if (E.isLeft(r)) throw r.left;
    expect(r.right.input).toBe(input);
    expect(r.right.method).toBe(input.method);
  }
});

test('a sweep whose budgets are out of order is refused at budgets.1 by the decoded entry', () => {
  const input = { method: 'sweep', task: 'uneven7', budgets: [256, 128] };
  const decoded = runConfigIssues(input, PIPELINE_CODECS);
  if (E.isLeft(decoded)) throw new Error('the codec should accept it');
  expect(messageOf(preflightPipelineDecoded({ ...decoded.right, input }, 'config s.json'))).toContain(
    'budgets.1: expected budgets in ascending order, got 128 after 256',
  );
});
