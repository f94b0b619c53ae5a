/**
 * Small runner until the CLI lands (lib/cli):
 *   tsx pipelines/runScript.ts run <config.json> [--out DIR]
 *   tsx pipelines/runScript.ts eval <checkpoint> --mixture ring8 [--n 5000] [--seed 0]
 * `run` prints the wall time; `eval` prints one JSON line.
 */
import * as fs from 'fs';
import { useBackend, nativeStatus } from '../lib/backend';
import { runConfig, disposeRun } from './run';
import { evaluateCheckpoint } from './evaluate';
import { MIXTURES, MixtureName } from '../lib/data/mixtures';

const usage = 'usage: runScript.ts run <config.json> [--out DIR] | eval <checkpoint> --mixture ring8|grid25 [--n N] [--seed S]';

const option = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  if (i + 1 >= args.length) throw new Error(`--${name}: expected a value`);
  return args[i + 1];
};

const integer = (v: string | undefined, name: string, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};

const main = async (args: string[]): Promise<void> => {
  const [command, target] = args;
  if (target === undefined || (command !== 'run' && command !== 'eval')) throw new Error(usage);
  await useBackend('wasm');
  const native = nativeStatus();
  process.stderr.write(`backend wasm, native kernels ${native.active ? `active (${native.blas ?? 'BLAS'}, ${native.threads} threads)` : `off (${native.reason ?? 'not available'})`}\n`);
  if (command === 'run') {
    let config: unknown;
    try {
      config = JSON.parse(fs.readFileSync(target, 'utf8'));
    } catch (err) {
      throw new Error(`${target}: cannot read a JSON config (${(err as Error).message})`);
    }
    const outDir = option(args, 'out');
    const r = await runConfig(config, { ...(outDir !== undefined ? { outDir } : {}), log: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${r.method}: ${r.seconds.toFixed(1)} s${r.checkpoint ? ` → ${r.checkpoint}` : ''}\n`);
    disposeRun(r);
    return;
  }
  const mixture = option(args, 'mixture');
  if (mixture === undefined || !(mixture in MIXTURES)) throw new Error(`--mixture: expected one of ${Object.keys(MIXTURES).join(', ')}, got ${JSON.stringify(mixture)}`);
  const report = evaluateCheckpoint(target, { mixture: mixture as MixtureName, n: integer(option(args, 'n'), 'n', 5000), seed: integer(option(args, 'seed'), 'seed', 0) });
  process.stdout.write(`${JSON.stringify(report)}\n`);
};

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
