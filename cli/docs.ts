/**
 * The "Configuration reference" of docs/config.md, generated from the io-ts codecs so it cannot
 * drift: the runtime codecs give the structure and types (every field, required or not),
 * the codecs' source gives each field's doc comment, the pipelines' defaults give the
 * defaults. `npm run docs` rewrites that section; a spec checks it is current.
 *
 * Doc comments are read by parsing the source files (TypeScript's parser only, no type
 * checker: fast), following each codec expression (`t.type({...})`, `t.intersection`,
 * identifiers to their declarations, imports to their files) in step with the runtime
 * codec.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as t from 'io-ts';
import { PhasedSchedule } from '../lib/phases/segment';
import * as ts from 'typescript';
import { packageRoot } from '../lib/util/packageRoot';
import {
  describeCodec,
  discriminant,
  literalOf,
  objectProps,
  tagOf,
  unionMembers,
  unwrap,
} from '../lib/config/codecWalk';
import { TeacherConfig, TEACHER_DEFAULTS } from '../lib/teacher/teacher';
import { DistillConfig, DISTILL_DEFAULTS } from '../lib/distill/distill';
import { ExperimentConfig, EXPERIMENT_DEFAULTS } from '../pipelines/experiment';

const ROOT = packageRoot();

export interface Section {
  readonly title: string;
  /** One line under the title. */
  readonly intro: string;
  readonly codec: t.Mixed;
  /** Where the codec is declared (for its doc comments). */
  readonly source: { readonly file: string; readonly name: string };
  readonly defaults?: unknown;
  /** How other sections' tables name this codec. */
  readonly refName: string;
}

export const SECTIONS: readonly Section[] = [
  {
    title: 'Teacher (`method: "teacher"`)',
    intro: 'Flow-matching teacher training (`lib/teacher/teacher.ts`).',
    codec: TeacherConfig,
    source: { file: 'lib/teacher/teacher.ts', name: 'TeacherConfig' },
    defaults: TEACHER_DEFAULTS,
    refName: 'teacher config',
  },
  {
    title: 'Distillation (`method: "dmd" | "vanilla" | "sgts" | "phased"`)',
    intro:
      'One-step DMD, vanilla few-step DMD, DMD with SGTS and Phased DMD (`lib/distill/distill.ts`). `teacher` is a ' +
      'checkpoint path or a teacher config (trained first).',
    codec: DistillConfig,
    source: { file: 'lib/distill/distill.ts', name: 'DistillConfig' },
    defaults: DISTILL_DEFAULTS,
    refName: 'distill config',
  },
  {
    title: 'Experiment (`method: "experiment"`)',
    intro:
      "The paper's comparison at small scale: a teacher against each student method over seeds, equal budget " +
      '(`pipelines/experiment.ts`). Budget, model, guidance, samples and condition default per task ' +
      '(`TASK_DEFAULTS` there).',
    codec: ExperimentConfig,
    source: { file: 'pipelines/experiment.ts', name: 'ExperimentConfig' },
    defaults: EXPERIMENT_DEFAULTS,
    refName: 'experiment config',
  },
];

/** Custom codecs (codecWalk `withShape`) → where their structural codec is declared. */
const STRUCTURE_SOURCES: ReadonlyMap<t.Mixed, { file: string; name: string }> = new Map([
  [PhasedSchedule, { file: 'lib/phases/segment.ts', name: 'ScheduleShape' }],
]);

/** Refined types, in words. */
export const BRANDS: Readonly<Record<string, string>> = {
  PositiveInt: 'integer ≥ 1',
  NonNegativeInt: 'integer ≥ 0',
  Positive: 'finite number > 0',
  NonNegative: 'finite number ≥ 0',
  UnitInterval: 'number in [0, 1]',
  Probability: 'number in [0, 1)',
};

// ── Doc comments from the source ─────────────────────────────────────────────

/** What the source says about a codec expression, aligned with the runtime codec's structure. */
interface DocNode {
  readonly doc: string;
  readonly props?: ReadonlyMap<string, DocNode>;
  readonly types?: readonly DocNode[];
  readonly type?: DocNode;
}

const EMPTY: DocNode = { doc: '' };

const sources = new Map<string, ts.SourceFile>();
const sourceOf = (file: string): ts.SourceFile | null => {
  const abs = path.resolve(ROOT, file);
  if (!sources.has(abs)) {
    const candidates = [abs, `${abs}.ts`, path.join(abs, 'index.ts')];
    const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
    if (found === undefined) return null;
    sources.set(abs, ts.createSourceFile(found, fs.readFileSync(found, 'utf8'), ts.ScriptTarget.ES2022, true));
  }
  return sources.get(abs)!;
};

const jsDocOf = (node: ts.Node): string =>
  ts
    .getJSDocCommentsAndTags(node)
    .map((d) => (ts.isJSDoc(d) ? (ts.getTextOfJSDocComment(d.comment) ?? '') : ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();

/** The declaration of `name` in `sf`: a local const, or an import followed to its file. */
const declarationOf = (
  sf: ts.SourceFile,
  name: string,
  depth = 0,
): { init: ts.Expression; sf: ts.SourceFile; doc: string } | null => {
  if (depth > 8) return null;
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st))
      for (const d of st.declarationList.declarations)
        if (ts.isIdentifier(d.name) && d.name.text === name && d.initializer)
          return { init: d.initializer, sf, doc: jsDocOf(st) };
    if (
      ts.isImportDeclaration(st) &&
      st.importClause?.namedBindings &&
      ts.isNamedImports(st.importClause.namedBindings) &&
      ts.isStringLiteral(st.moduleSpecifier)
    ) {
      const spec = st.importClause.namedBindings.elements.find((e) => e.name.text === name);
      if (spec !== undefined && st.moduleSpecifier.text.startsWith('.')) {
        const target = sourceOf(path.relative(ROOT, path.resolve(path.dirname(sf.fileName), st.moduleSpecifier.text)));
        return target === null ? null : declarationOf(target, (spec.propertyName ?? spec.name).text, depth + 1);
      }
    }
    // `export { X } from './y'` re-exports
    if (
      ts.isExportDeclaration(st) &&
      st.exportClause &&
      ts.isNamedExports(st.exportClause) &&
      st.moduleSpecifier &&
      ts.isStringLiteral(st.moduleSpecifier)
    ) {
      const spec = st.exportClause.elements.find((e) => e.name.text === name);
      if (spec !== undefined) {
        const target = sourceOf(path.relative(ROOT, path.resolve(path.dirname(sf.fileName), st.moduleSpecifier.text)));
        return target === null ? null : declarationOf(target, (spec.propertyName ?? spec.name).text, depth + 1);
      }
    }
  }
  return null;
};

const calleeName = (e: ts.CallExpression): string =>
  ts.isPropertyAccessExpression(e.expression)
    ? e.expression.name.text
    : ts.isIdentifier(e.expression)
      ? e.expression.text
      : '';

/** The doc tree of a codec expression. */
const docTree = (expr: ts.Expression, sf: ts.SourceFile, depth = 0): DocNode => {
  if (depth > 40) return EMPTY;
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr)) return docTree(expr.expression, sf, depth + 1);
  if (ts.isIdentifier(expr)) {
    const d = declarationOf(sf, expr.text);
    if (d === null) return EMPTY;
    const inner = docTree(d.init, d.sf, depth + 1);
    // a refined number's doc describes the refinement (the Type column already names it), not the field
    const refinement = ts.isCallExpression(d.init) && ['brand', 'refinement'].includes(calleeName(d.init));
    return { ...inner, doc: inner.doc || (refinement ? '' : d.doc) };
  }
  if (ts.isCallExpression(expr)) {
    const name = calleeName(expr);
    const [arg] = expr.arguments;
    if ((name === 'type' || name === 'partial') && arg && ts.isObjectLiteralExpression(arg)) {
      const props = new Map<string, DocNode>();
      for (const p of arg.properties) {
        if (!(ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) || p.name === undefined) continue;
        const key = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : p.name.getText(sf);
        const value = ts.isPropertyAssignment(p)
          ? docTree(p.initializer, sf, depth + 1)
          : docTree(p.name as ts.Identifier, sf, depth + 1);
        const own = jsDocOf(p);
        props.set(key, { ...value, doc: own || firstSentence(value.doc) });
      }
      return { doc: '', props };
    }
    if ((name === 'intersection' || name === 'union' || name === 'tuple') && arg && ts.isArrayLiteralExpression(arg))
      return { doc: '', types: arg.elements.map((e) => docTree(e, sf, depth + 1)) };
    if (
      (name === 'array' || name === 'readonlyArray' || name === 'exact' || name === 'strict' || name === 'readonly') &&
      arg
    )
      return { doc: '', type: docTree(arg, sf, depth + 1) };
  }
  return EMPTY;
};

const firstSentence = (s: string): string => {
  const m = /^(.*?[.:;])(\s|$)/.exec(s);
  return (m ? m[1] : s).replace(/[:;]$/, '.');
};

const docOfExport = (file: string, name: string): DocNode => {
  const sf = sourceOf(file);
  const d = sf === null ? null : declarationOf(sf, name);
  return d === null ? EMPTY : { ...docTree(d.init, d.sf), doc: d.doc };
};

// ── Rows ─────────────────────────────────────────────────────────────────────

export interface FieldRow {
  readonly field: string;
  readonly type: string;
  readonly required: boolean;
  readonly defaultValue?: unknown;
  readonly doc: string;
  /** Applies only to one variant of a union: `data.kind = "npy"`. */
  readonly when?: string;
}

/** The doc node of a codec after the same unwrapping the runtime walk does. */
const unwrapDoc = (c: t.Mixed, d: DocNode): DocNode => {
  const structure = STRUCTURE_SOURCES.get(c);
  if (structure !== undefined) return docOfExport(structure.file, structure.name);
  const tag = tagOf(c);
  if ((tag === 'ExactType' || tag === 'ReadonlyType' || tag === 'StrictType') && d.type)
    return unwrapDoc((c as unknown as { type: t.Mixed }).type, d.type);
  return d;
};

interface Field {
  readonly key: string;
  readonly codec: t.Mixed;
  readonly required: boolean;
  readonly doc: DocNode;
}

/** The fields of an object codec with their doc nodes (intersections flattened in order). */
const fieldsOf = (c: t.Mixed, d: DocNode): Field[] => {
  const dd = unwrapDoc(c, d);
  const u = unwrap(c) as t.Mixed & { props?: t.Props; types?: t.Mixed[] };
  const tag = tagOf(u);
  if ((tag === 'InterfaceType' || tag === 'PartialType') && u.props)
    return Object.entries(u.props).map(([key, codec]) => ({
      key,
      codec,
      required: tag === 'InterfaceType',
      doc: dd.props?.get(key) ?? EMPTY,
    }));
  if (tag === 'IntersectionType' && u.types)
    return u.types.flatMap((m, i) => (objectProps(m) === null ? [] : fieldsOf(m, dd.types?.[i] ?? EMPTY)));
  return [];
};

const valueAt = (o: unknown, p: readonly string[]): unknown =>
  p.reduce<unknown>(
    (v, k) =>
      v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined,
    o,
  );

const rowsOf = (
  c: t.Mixed,
  d: DocNode,
  prefix: string,
  defaults: unknown,
  names: ReadonlyMap<t.Mixed, string>,
  when?: string,
  skip?: string,
): FieldRow[] =>
  fieldsOf(c, d)
    .filter((f) => f.key !== skip)
    .flatMap((f) => {
      const field = prefix ? `${prefix}.${f.key}` : f.key;
      const isObjectUnion =
        unionMembers(f.codec)?.every((m) => objectProps(m) !== null) === true &&
        discriminant(unionMembers(f.codec)!) !== null;
      const own: FieldRow = {
        field,
        type: names.has(f.codec)
          ? names.get(f.codec)!
          : isObjectUnion
            ? `object, by ${discriminant(unionMembers(f.codec)!)}`
            : describeCodec(f.codec, names),
        required: f.required,
        defaultValue: field.includes('[]') ? undefined : valueAt(defaults, field.split('.')),
        doc: f.doc.doc,
        ...(when ? { when } : {}),
      };
      return [own, ...expand(f.codec, f.doc, field, defaults, names, when)];
    });

/** The nested rows of a field: object fields, array items, union variants. */
const expand = (
  c: t.Mixed,
  d: DocNode,
  field: string,
  defaults: unknown,
  names: ReadonlyMap<t.Mixed, string>,
  when?: string,
): FieldRow[] => {
  if (names.has(c)) return [];
  if (objectProps(c) !== null) return rowsOf(c, d, field, defaults, names, when);
  const u = unwrap(c) as t.Mixed & { type?: t.Mixed };
  const dd = unwrapDoc(c, d);
  const tag = tagOf(u);
  if ((tag === 'ArrayType' || tag === 'ReadonlyArrayType') && u.type)
    return expand(u.type, dd.type ?? EMPTY, `${field}[]`, defaults, names, when);
  const members = unionMembers(c);
  if (members !== null && members.every((m) => objectProps(m) !== null)) {
    const disc = discriminant(members);
    if (disc === null) return [];
    const literals = members.map((m) => literalOf(objectProps(m)!.props.find((p) => p.key === disc)!.codec));
    const discRow: FieldRow = {
      field: `${field}.${disc}`,
      type: literals.map((l) => JSON.stringify(l)).join(' \\| '),
      required: true,
      doc: `Selects the variant; the rows marked *${field}.${disc} = …* apply to that variant only.`,
      ...(when ? { when } : {}),
    };
    return [
      discRow,
      ...members.flatMap((m, i) =>
        rowsOf(
          m,
          dd.types?.[i] ?? EMPTY,
          field,
          defaults,
          names,
          `${field}.${disc} = ${JSON.stringify(literals[i])}`,
          disc,
        ),
      ),
    ];
  }
  return [];
};

export const sectionRows = (s: Section, all: readonly Section[] = SECTIONS): FieldRow[] => {
  const names = new Map(all.filter((o) => o !== s).map((o) => [o.codec, o.refName] as const));
  return rowsOf(s.codec, docOfExport(s.source.file, s.source.name), '', s.defaults, names);
};

// ── Markdown ─────────────────────────────────────────────────────────────────

const cell = (s: string): string => s.replace(/\n/g, ' ').replace(/(?<!\\)\|/g, '\\|');

const showDefault = (r: FieldRow): string => {
  if (r.required) return 'required';
  if (r.defaultValue === undefined) return '';
  return `\`${cell(JSON.stringify(r.defaultValue))}\``;
};

export const sectionMarkdown = (s: Section): string => {
  const rows = sectionRows(s);
  return [
    `### ${s.title}`,
    '',
    s.intro,
    '',
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| \`${r.field}\` | \`${cell(r.type)}\` | ${showDefault(r)} | ` +
        `${r.when ? `*${cell(r.when)}.* ` : ''}${cell(r.doc)} |`,
    ),
    '',
  ].join('\n');
};

const HEADING = '## Configuration reference';

/** The body of the reference section (after its heading). */
export const configReference = (): string =>
  [
    '',
    '<!-- Generated by `npm run docs` (cli/docs.ts) from the io-ts codecs; do not edit by hand. -->',
    '',
    'Pipeline configs are JSON or YAML files; `phased-dmd validate <file>` checks one, and `--set path=value` ' +
      'overrides any field below (e.g. `--set lr.generator=1e-4`, `--set "schedule.phases[1].iterations=200"`). ' +
      'Unknown fields are errors. Nested fields are written with dots; `[]` marks the items of a list.',
    '',
    `Refined number types: ${Object.entries(BRANDS)
      .map(([k, v]) => `\`${k}\` = ${v}`)
      .join('; ')}.`,
    '',
    ...SECTIONS.map(sectionMarkdown),
  ].join('\n');

/** Where the section's body lies in the text: after its heading line, up to the next "## " heading. */
const bodyRange = (readme: string): { from: number; to: number } | null => {
  const start = readme.indexOf(`${HEADING}\n`);
  if (start < 0) return null;
  const from = start + HEADING.length + 1;
  const next = readme.indexOf('\n## ', from);
  return { from, to: next < 0 ? readme.length : next };
};

/** Replaces the body of "## Configuration reference" in the text. */
export const withReference = (readme: string, body: string): string => {
  const r = bodyRange(readme);
  if (r === null) throw new Error(`docs/config.md has no "${HEADING}" section`);
  const rest = readme.slice(r.to + 1);
  return `${readme.slice(0, r.from)}${body.replace(/\n+$/, '')}\n${rest === '' ? '' : `\n${rest}`}`;
};

/** The current section body (for the drift spec), without trailing newlines. */
export const currentReference = (readme: string): string => {
  const r = bodyRange(readme);
  return r === null ? '' : readme.slice(r.from, r.to).replace(/\n+$/, '');
};

if (require.main === module) {
  const file = path.join(ROOT, 'docs', 'config.md');
  const before = fs.readFileSync(file, 'utf8');
  const after = withReference(before, configReference());
  if (after !== before) fs.writeFileSync(file, after);
  process.stdout.write(
    after === before
      ? 'docs/config.md: configuration reference is up to date\n'
      : 'docs/config.md: configuration reference regenerated\n',
  );
}
