import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseOverride, applyOverrides, parseConfigText, attributeIssues } from '../../cli/configFile';
import { loadPipelineConfig } from '../../cli/loadConfig';
import { unknownFields, describeCodec } from '../../lib/config/codecWalk';
import { ConfigError } from '../../lib/config/report';
import { DistillConfig } from '../../lib/distill/distill';
import { TeacherConfig } from '../../lib/teacher/teacher';
import { PhasedSchedule } from '../../lib/phases/segment';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};

/** The issues of a ConfigError thrown by `f`, as "path: message" lines. */
const issues = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('--set overrides', () => {
  test('dotted paths, [i] and .i indices; values as JSON when they parse, else strings', () => {
    expect(parseOverride('lr.generator=1e-4')).toEqual({
      source: 'lr.generator=1e-4',
      path: ['lr', 'generator'],
      value: 1e-4,
    });
    expect(parseOverride('schedule.phases[1].iterations=50').path).toEqual(['schedule', 'phases', 1, 'iterations']);
    expect(parseOverride('schedule.phases.1.iterations=50').path).toEqual(['schedule', 'phases', 1, 'iterations']);
    expect(parseOverride('teacher=runs/t/teacher.ckpt').value).toBe('runs/t/teacher.ckpt');
    expect(parseOverride('betas=[0,0.99]').value).toEqual([0, 0.99]);
    expect(parseOverride('name=a=b').value).toBe('a=b');
  });

  test('applies copies, creating objects on the way, never mutating the input', () => {
    const base = { method: 'phased', lr: { fake: 1 }, schedule: { phases: [{ steps: 1 }, { steps: 2 }] } };
    const out = applyOverrides(base, ['lr.generator=0.5', 'schedule.phases[1].steps=3', 'ema=0.9']);
    expect(out).toEqual({
      method: 'phased',
      lr: { fake: 1, generator: 0.5 },
      schedule: { phases: [{ steps: 1 }, { steps: 3 }] },
      ema: 0.9,
    });
    expect(base.schedule.phases[1].steps).toBe(2);
  });

  test.each([
    ['iterations', /expected key=value/],
    ['=3', /expected key=value/],
    ['a..b=1', /malformed key "a..b"/],
    ['teacher.steps=5', /teacher is "t.ckpt", not an object, so it has no field "steps"/],
    ['lr[0]=1', /lr is not an array/],
    ['phases[5].steps=1', /phases has 1 items, cannot set item \[5\]/],
  ])('%s is refused: %s', (set, message) => {
    expect(() => applyOverrides({ teacher: 't.ckpt', lr: {}, phases: [{}] }, [set])).toThrow(message);
  });

  test('issues caused by an override say so', () => {
    expect(
      attributeIssues(
        [
          { path: 'lr.generator', message: 'expected Positive, got -1' },
          { path: 'steps', message: 'x' },
        ],
        ['lr=-1', 'lr.generator=-1'],
      ),
    ).toEqual([
      { path: 'lr.generator', message: 'expected Positive, got -1 (from --set lr=-1)' },
      { path: 'steps', message: 'x' },
    ]);
  });
});

describe('config files', () => {
  test('JSON and YAML give the same value', () => {
    expect(parseConfigText('{"method": "dmd", "teacher": "t.ckpt", "lr": {"fake": 1e-4}}', 'a.json')).toEqual(
      parseConfigText('method: dmd\nteacher: t.ckpt\nlr: { fake: 1.0e-4 }\n', 'a.yaml'),
    );
  });

  test('syntax errors name the file and the place', () => {
    expect(issues(() => parseConfigText('{"method": }', 'bad.json'))).toEqual([
      expect.stringMatching(/^\(file\): not valid JSON: /),
    ]);
    expect(issues(() => parseConfigText('method: dmd\n  teacher: [x\n', 'bad.yaml'))).toEqual([
      expect.stringMatching(/^\(file\): not valid YAML: line \d+, column \d+: /),
    ]);
    expect(issues(() => loadPipelineConfig(path.join(tmp, 'missing.yaml')))).toEqual(['(file): file not found']);
  });

  test(
    'every problem of a file and its overrides at once, each with its path; unknown fields with a ' + 'suggestion',
    () => {
      const f = write(
        'bad.yaml',
        [
          'method: phased',
          'teacher:',
          '  method: teacher',
          '  data: { kind: mixture, name: ring9 }',
          'iteratons: 50',
          'schedule:',
          '  shift: 5',
          '  phases:',
          '    - interval: { start: 1, end: 0.5 }',
          '      steps: 2',
          '      iterations: 10',
          '    - interval: { start: 0.4, end: 0 }',
          '      steps: 2',
          '      iterations: 10',
          '      updateRatoi: 3',
          '',
        ].join('\n'),
      );
      expect(issues(() => loadPipelineConfig(f, { set: ['lr.generator=-1'] }))).toEqual([
        'teacher.data.name: expected "ring8" | "grid25" | "uneven7" | "rings2" | "skew3", got "ring9"',
        'lr.generator: expected Positive, got -1 (from --set lr.generator=-1)',
        'schedule.phases[0].interval.end: must equal phases[1].interval.start (t=0.5 vs t=0.4): phases must be ' +
          'contiguous',
        'iteratons: unknown field; did you mean "iterations"?',
        'schedule.phases[1].updateRatoi: unknown field; did you mean "updateRatio"?',
      ]);
    },
  );

  test('an unknown method lists the known ones; --seed is an override', () => {
    expect(issues(() => loadPipelineConfig(write('m.json', '{"method": "dmd2"}')))).toEqual([
      expect.stringMatching(
        /^method: expected one of "teacher", "dmd", "vanilla", "sgts", "phased", "experiment", "sweep", got "dmd2"$/,
      ),
    ]);
    const ok = loadPipelineConfig(write('ok.json', '{"method": "sgts", "teacher": "t.ckpt"}'), {
      seed: 7,
      set: ['iterations=20'],
    });
    expect(ok).toMatchObject({
      kind: 'distill',
      method: 'sgts',
      input: { method: 'sgts', teacher: 't.ckpt', iterations: 20, seed: 7 },
    });
    expect(
      issues(() => loadPipelineConfig(write('s.json', '{"method": "sgts", "teacher": "t.ckpt"}'), { seed: -1 })),
    ).toEqual(['seed: expected NonNegativeInt, got -1 (from --set seed=-1)']);
  });
});

describe('codec walking', () => {
  test('unknown fields inside union variants, arrays and custom codecs', () => {
    expect(
      unknownFields(TeacherConfig, {
        method: 'teacher',
        data: { kind: 'npy', path: 'x.npy', lables: 'y.npy' },
        model: { kind: 'mlp', hiden: [8] },
      }),
    ).toEqual([
      { path: 'data.lables', message: 'unknown field; did you mean "labels"?' },
      { path: 'model.hiden', message: 'unknown field; did you mean "hidden"?' },
    ]);
    expect(unknownFields(DistillConfig, { method: 'dmd', teacher: 't', zzz: 1 })).toEqual([
      { path: 'zzz', message: expect.stringMatching(/^unknown field; expected one of method, teacher, seed, /) },
    ]);
    expect(
      unknownFields(PhasedSchedule, {
        shift: 5,
        phases: [{ interval: { start: 1, end: 0 }, steps: 1, iterations: 1, extra: true }],
      }),
    ).toEqual([{ path: 'phases[0].extra', message: expect.stringMatching(/^unknown field/) }]);
  });

  test('types read as in the docs', () => {
    const teacher = (TeacherConfig as unknown as { types: Array<{ props: Record<string, import('io-ts').Mixed> }> })
      .types;
    expect(describeCodec(teacher[1].props.steps)).toBe('PositiveInt');
    expect(describeCodec(teacher[1].props.betas)).toBe('[UnitInterval, UnitInterval]');
    expect(describeCodec(teacher[0].props.method)).toBe('"teacher"');
  });
});

describe('shipped configs', () => {
  const dir = path.resolve(__dirname, '../../pipelines/configs');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f)) : [];
  test.each(files)('pipelines/configs/%s validates (no unknown fields)', (f) => {
    expect(() => loadPipelineConfig(path.join(dir, f))).not.toThrow();
  });
});
