/**
 * Writes the five 2-D mixtures as a user would hand them to `phased-dmd train`: 10 000 points
 * `<task>-x.npy` [N, 2] float32 each, drawn from the project's own mixture definitions with a
 * fixed seed; for ring8 and grid25 also their group labels `<task>-y.npy` [N] int32 (ring8: the
 * mode's parity, 2 classes of 4 modes; grid25: the mode's row, 5 classes of 5 modes). uneven7,
 * rings2 and skew3 are unconditional: no labels. A file that exists is left as it is.
 *
 *     npx tsx scripts/mixture-data.ts <out-dir>
 */
import * as fs from 'fs';
import * as path from 'path';
import { sampleMixture, MIXTURES, MixtureName } from '../lib/data/mixtures';
import { MODE_GROUPS } from '../pipelines/experiment';
import { writeNpy } from '../lib/data/npy';
import { useBackend } from '../lib/backend';

const N = 10_000;

const main = async (out: string): Promise<void> => {
  await useBackend('cpu');
  for (const task of Object.keys(MIXTURES) as MixtureName[]) {
    const xFile = path.join(out, `${task}-x.npy`);
    if (fs.existsSync(xFile)) continue;
    const batch = sampleMixture(MIXTURES[task], N, 1234);
    const x = batch.x0.dataSync() as Float32Array;
    const modes = batch.labels!.dataSync() as Int32Array;
    batch.x0.dispose();
    batch.labels!.dispose();
    const group = MODE_GROUPS[task];
    if (group !== undefined)
      writeNpy(
        path.join(out, `${task}-y.npy`),
        Int32Array.from(modes, (k) => group.of(k)),
        [N],
      );
    writeNpy(xFile, x, [N, 2]);
  }
};

void main(process.argv[2] ?? '.');
