"""Bar table of the literal `phased-dmd train` check (docs/results.md §2d): per task, the
teacher's row and each student's, modes covered / modes and % of samples within 3σ of a mode
per seed, ✗ where a seed misses the bar (fewer modes than its teacher, or more than 10 points
below it within 3σ).

    python3 docs/results/train-check/table.py <runs-dir> [tasks...]
"""
import json
import os
import sys
from decimal import Decimal, ROUND_HALF_UP

runs = sys.argv[1]
tasks = sys.argv[2:] or ['ring8', 'grid25', 'uneven7', 'rings2', 'skew3']
methods = ['teacher', 'dmd', 'sgts', 'phased-4x2', 'phased-4x4']


def one(x):
    return Decimal(str(x)).quantize(Decimal('0.1'), ROUND_HALF_UP)


def load(task, seed, method):
    f = os.path.join(runs, task, f's{seed}', method, 'eval.json')
    return json.load(open(f))['mixture'] if os.path.exists(f) else None


seeds = [0, 1, 2]
print('| task | method | ' + ' | '.join(f'seed {s}' for s in seeds) + ' | bar met |')
print('| --- | --- | ' + ' | '.join('---' for _ in seeds) + ' | --- |')
for task in tasks:
    for i, m in enumerate(methods):
        cells, ok, complete = [], True, True
        for s in seeds:
            c, t = load(task, s, m), load(task, s, 'teacher')
            if c is None or t is None:
                cells.append('–')
                complete = False
                continue
            miss = m != 'teacher' and (
                c['modesCovered'] < t['modesCovered'] or c['highQualityPercent'] < t['highQualityPercent'] - 10
            )
            ok = ok and not miss
            cells.append(f"{c['modesCovered']}/{c['numModes']}, {one(c['highQualityPercent'])} %" + (' ✗' if miss else ''))
        met = '–' if m == 'teacher' else ('incomplete' if not complete and ok else ('**yes**' if ok else 'no'))
        print(f"| {task if i == 0 else ''} | {m} | " + ' | '.join(cells) + f' | {met} |')

# training time (the sum of recorded step times, from each run's report.md) per method, over the tasks and seeds found
print()
print('| method | runs | training time per run, s (min–max) |')
print('| --- | --- | --- |')
for m in methods:
    ts = []
    for task in tasks:
        for s in seeds:
            f = os.path.join(runs, task, f's{s}', m, 'report.md')
            if os.path.exists(f):
                for line in open(f):
                    if line.startswith('- training time'):
                        ts.append(float(line.split(':')[1].split('s;')[0]))
    if ts:
        print(f'| {m} | {len(ts)} | {min(ts):.0f}–{max(ts):.0f} |')
