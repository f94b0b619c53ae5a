/** Which figure a set of samples gets, by data kind (specs only; rendering is covered in spec/plots). */
import { samplesFigure, imageTiles } from '../../lib/plots/sampleFigure';
import { dataInfoOf } from '../../lib/plots/dataInfo';
import type { Samples } from '../../lib/plots/dataInfo';

const images = (n: number, labels: number[] | null): Samples => ({
  values: new Float32Array(n * 4 * 4).map((_, i) => (i % 7) / 7),
  shape: [n, 4, 4, 1],
  labels: labels === null ? null : Int32Array.from(labels),
});

describe('sample figures', () => {
  test('data kinds from the data config and the sample shape', () => {
    expect(dataInfoOf({ kind: 'mixture', name: 'ring8' }, [2])).toMatchObject({
      kind: 'points',
      mixture: { name: 'ring8' },
    });
    expect(dataInfoOf({ kind: 'video', frames: 4, size: 8 }, [256])).toEqual({ kind: 'video', frames: 4, size: 8 });
    expect(dataInfoOf({ kind: 'npy', path: 'x.npy' }, [28, 28, 1])).toEqual({ kind: 'images' });
    expect(dataInfoOf(undefined, [2])).toEqual({ kind: 'points' });
    expect(dataInfoOf(undefined, [784])).toEqual({ kind: 'unknown' });
  });

  test(
    'image grids: one row per class, in class order, the same number in every row (the fewest any class has, at ' +
      'most perRow)',
    () => {
      // class 1 has one sample, class 2 four: every row shows one, so no class is shown by more (or fewer) draws
      const tiles = imageTiles(images(7, [2, 0, 2, 2, 0, 1, 2]), 2);
      expect(tiles.map((t) => `${t.row}/${t.col}`)).toEqual(['class 0/0', 'class 1/0', 'class 2/0']);
      expect(tiles[0].image).toMatchObject({ height: 4, width: 4, channels: 1 });
      const balanced = imageTiles(images(10, [0, 1, 2, 0, 1, 2, 0, 1, 2, 10]), 2);
      const perRow = new Map<string, number>();
      balanced.forEach((t) => perRow.set(t.row, (perRow.get(t.row) ?? 0) + 1));
      expect([...perRow]).toEqual([
        ['class 0', 1],
        ['class 1', 1],
        ['class 2', 1],
        ['class 10', 1],
      ]);
      const even = imageTiles(images(9, [0, 1, 2, 0, 1, 2, 0, 1, 2]), 2, ['zero', 'one', 'two']);
      expect(even.map((t) => `${t.row}/${t.col}`)).toEqual(['zero/0', 'zero/1', 'one/0', 'one/1', 'two/0', 'two/1']);
      expect(imageTiles(images(5, null), 2).map((t) => t.row)).toEqual(['0', '0', '1', '1', '2']);
    },
  );

  test(
    'a panel per model: scatter for points (with mixture centres), image marks for images, a tile per frame for ' +
      'clips, none for other vectors',
    () => {
      const pts: Samples = { values: Float32Array.from([0, 1, 1, 0, 2, 2]), shape: [3, 2], labels: null };
      const scatter = samplesFigure(
        [
          { title: 'teacher', samples: pts },
          { title: 'phased', samples: pts },
        ],
        dataInfoOf({ kind: 'mixture', name: 'ring8' }, [2]),
      ) as { hconcat: Array<{ title: string; layer: unknown[] }> };
      expect(scatter.hconcat.map((p) => p.title)).toEqual(['teacher', 'phased']);
      expect(scatter.hconcat[0].layer).toHaveLength(2); // points + the 8 centres
      const grid = samplesFigure([{ title: 'dmd', samples: images(3, [0, 1, 1]) }], { kind: 'images' }) as {
        hconcat: Array<{ data: { values: unknown[] }; mark: { type: string } }>;
      };
      expect(grid.hconcat[0].mark.type).toBe('image');
      expect(grid.hconcat[0].data.values).toHaveLength(2); // one per class: class 0 has a single sample
      const clips: Samples = {
        values: new Float32Array(2 * 3 * 4 * 4),
        shape: [2, 48],
        labels: Int32Array.from([0, 1]),
      };
      const strip = samplesFigure([{ title: 'sgts', samples: clips }], { kind: 'video', frames: 3, size: 4 }) as {
        hconcat: Array<{ data: { values: Array<{ row: string; col: string }> } }>;
      };
      expect(strip.hconcat[0].data.values.map((v) => `${v.row}:${v.col}`)).toEqual([
        '1 (class 0):f0',
        '1 (class 0):f1',
        '1 (class 0):f2',
        '2 (class 1):f0',
        '2 (class 1):f1',
        '2 (class 1):f2',
      ]);
      expect(
        samplesFigure([{ title: 'x', samples: { values: new Float32Array(784), shape: [1, 784], labels: null } }], {
          kind: 'unknown',
        }),
      ).toBeNull();
    },
  );
});
