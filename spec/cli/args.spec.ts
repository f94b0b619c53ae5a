import { parseCommandArgs, str, int, num, flag, list, choice, formatOptions, UsageError } from '../../cli/args';

const OPTIONS = {
  out: str('output', 'dir', { required: true }),
  n: int('count'),
  speed: num('factor'),
  resume: flag('continue'),
  set: list('override', 'key=value'),
  method: choice('which', ['a', 'b']),
};

const parse = (argv: string[], positionals = { min: 0, max: 1 }) =>
  parseCommandArgs('demo', OPTIONS, argv, positionals);

describe('parseCommandArgs', () => {
  test('types every option: strings, integers, numbers, flags, repeatable lists, choices', () => {
    const p = parse([
      'cfg.yaml',
      '--out',
      'runs/x',
      '--n',
      '12',
      '--speed=2.5',
      '--resume',
      '--set',
      'a=1',
      '--set',
      'b.c=[1,2]',
      '--method',
      'b',
    ]);
    expect(p.positionals).toEqual(['cfg.yaml']);
    expect(p.options).toEqual({
      help: false,
      verbose: false,
      out: 'runs/x',
      n: 12,
      speed: 2.5,
      resume: true,
      set: ['a=1', 'b.c=[1,2]'],
      method: 'b',
    });
  });

  test('absent options: undefined, false, or []', () => {
    const p = parse(['--out', 'o']);
    expect([p.options.n, p.options.resume, p.options.set, p.options.method]).toEqual([undefined, false, [], undefined]);
  });

  test.each([
    [['--out', 'o', '--bogus'], /Unknown option '--bogus'/],
    [['--n', '3'], /--out is required/],
    [['--out', 'o', '--n', '2.5'], /--n: expected an integer, got "2.5"/],
    [['--out', 'o', '--speed', 'fast'], /--speed: expected a number, got "fast"/],
    [['--out', 'o', '--method', 'c'], /--method: expected one of a, b, got "c"/],
    [['--out', 'o', 'x', 'y'], /unexpected argument "y"/],
    [['--out'], /argument missing/],
  ])('%j is a UsageError: %s', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });

  test('a missing positional is named', () => {
    expect(() => parse(['--out', 'o'], { min: 1, max: 1 })).toThrow('expected 1 argument, got 0');
  });

  test('--help skips the required checks', () => {
    expect(parse(['--help']).options.help).toBe(true);
    expect(parse(['-h']).options.help).toBe(true);
  });

  test('help lists every option with its argument and notes', () => {
    const help = formatOptions(OPTIONS);
    for (const name of [...Object.keys(OPTIONS), 'help', 'verbose']) expect(help).toContain(`--${name}`);
    expect(help).toMatch(/--out <dir> +output \(required\)/);
    expect(help).toMatch(/--set <key=value> +override \(repeatable\)/);
    expect(help).toMatch(/--method <a\|b> +which/);
    expect(help).toMatch(/-h, --help/);
  });
});
