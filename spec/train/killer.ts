/** Runs a fixture training script in its own process and SIGKILLs it at a chosen point (not a spec file). */
import * as path from 'path';
import { spawn } from 'child_process';
import * as E from 'fp-ts/Either';
import { loadCheckpoint, CheckpointData } from '../../lib/checkpoint/format';

export const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');

export interface Attempt {
  /** The last progress line's position, as parsed by `progress`. */
  readonly last: number;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly output: string;
}

/**
 * Spawns `tsx script ...args`; `progress` turns each stdout line into a position (or
 * null); once a position ≥ killAt is seen the process group gets SIGKILL (tsx runs the
 * script in a child node process, so both are killed).
 */
export const attempt = (
  script: string,
  args: readonly string[],
  progress: (line: string) => number | null,
  killAt: number | null,
): Promise<Attempt> =>
  new Promise((resolve, reject) => {
    const child = spawn(tsx, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, STEP_DELAY_MS: '1' },
    });
    let output = '';
    let last = -1;
    let killed = false;
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) last = Math.max(last, progress(l) ?? -1);
      if (killAt !== null && last >= killAt && !killed && child.pid !== undefined) {
        killed = true;
        process.kill(-child.pid, 'SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ last, signal, code, output }));
  });

export const load = (file: string): CheckpointData => {
  const r = loadCheckpoint(file);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

/** Throws naming the first tensor under `prefix` whose bytes differ (and checks both hold the same names). */
export const expectSameBits = (a: CheckpointData, b: CheckpointData, prefix: string): number => {
  const pick = (d: CheckpointData) =>
    new Map(
      d.tensors
        .filter((t) => t.name.startsWith(prefix))
        .map((t) => [t.name, Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)]),
    );
  const x = pick(a);
  const y = pick(b);
  if ([...x.keys()].join() !== [...y.keys()].join())
    throw new Error(`${prefix}: tensor names differ: ${[...x.keys()]} vs ${[...y.keys()]}`);
  for (const [name, buf] of x) if (!buf.equals(y.get(name)!)) throw new Error(`${name} differs after resume`);
  return x.size;
};
