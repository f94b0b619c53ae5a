/**
 * The configuration reference (docs/config.md) is generated from the io-ts codecs: it must equal
 * what `npm run docs` would write now (so it cannot drift), and it must cover every field
 * of every config with its doc comment and default.
 */
import * as fs from 'fs';
import * as path from 'path';
import { configReference, currentReference, withReference, sectionRows, SECTIONS } from '../../cli/docs';
import { objectProps } from '../../lib/config/codecWalk';
import { TEACHER_DEFAULTS } from '../../lib/teacher/teacher';

const CONFIG_DOC = fs.readFileSync(path.resolve(__dirname, '../../docs/config.md'), 'utf8');

describe('configuration reference', () => {
  test('docs/config.md holds exactly the generated reference (run `npm run docs` after changing a codec)', () => {
    expect(currentReference(CONFIG_DOC)).toBe(configReference().replace(/\n+$/, ''));
  });

  test('withReference replaces only that section', () => {
    const doc = '# x\n\n## A\n\na\n\n## Configuration reference\n\nold\n\n## B\n\nb\n';
    expect(withReference(doc, '\nnew\n')).toBe('# x\n\n## A\n\na\n\n## Configuration reference\n\nnew\n\n## B\n\nb\n');
    expect(currentReference(withReference(doc, '\nnew\n'))).toBe('\nnew');
  });

  test('every top-level field of every config has a row; required ones say so', () => {
    for (const s of SECTIONS) {
      const rows = sectionRows(s);
      for (const p of objectProps(s.codec)!.props) {
        const row = rows.find((r) => r.field === p.key && r.when === undefined);
        expect(row).toBeDefined();
        expect(row!.required).toBe(p.required);
      }
    }
  });

  test('nested fields, union variants, list items, defaults and doc comments come through', () => {
    const teacher = sectionRows(SECTIONS[0]);
    const byField = (f: string, when?: string) => teacher.find((r) => r.field === f && r.when === when);
    expect(byField('conditionDropout')).toMatchObject({
      type: 'Probability',
      defaultValue: TEACHER_DEFAULTS.conditionDropout,
      doc: 'Probability p_drop of replacing the label by ∅ (CFG training).',
    });
    expect(byField('sampler.guidance')).toMatchObject({
      type: 'Finite',
      defaultValue: 1,
      doc: 'CFG scale g; 1 = plain conditional.',
    });
    expect(byField('data.kind')?.type).toContain('"npy"');
    expect(byField('data.path', 'data.kind = "npy"')).toMatchObject({ type: 'string', required: true });
    const distill = sectionRows(SECTIONS[1]);
    expect(distill.find((r) => r.field === 'teacher')?.type).toBe('string \\| teacher config');
    expect(distill.find((r) => r.field === 'schedule.phases[].iterations')).toMatchObject({
      type: 'PositiveInt',
      required: true,
      doc: 'Generator updates in this phase.',
    });
    expect(distill.find((r) => r.field === 'schedule.phases[].interval.start')?.doc).toBe('A phase boundary.');
  });
});
