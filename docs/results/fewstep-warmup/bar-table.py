"""Bar table of docs/results.md §2d (4-step students with the regression term): per task, the
teacher's row and each student's, modes covered / modes and % within 3σ per seed, ✗ where a
seed misses the bar (fewer modes than the teacher, or more than 10 points below it within 3σ).

    python3 docs/results/fewstep-warmup/bar-table.py docs/results/fewstep-warmup/<task>/results.json ...
"""
import json
import sys
from decimal import Decimal, ROUND_HALF_UP


def one(x):
    # as the reports print it (JavaScript's toFixed: ties away from zero on the exact binary value)
    return Decimal(x).quantize(Decimal('0.1'), ROUND_HALF_UP)


print('| task | method | seed 0 | seed 1 | seed 2 | bar met |')
print('| --- | --- | --- | --- | --- | --- |')
for f in sys.argv[1:]:
    r = json.load(open(f))
    modes = r['runs'][0]['evaluation']['mixture']['numModes']
    by = {(x['method'], x['seed']): x['scalars'] for x in r['runs']}
    seeds = r['resolved']['seeds']
    for i, m in enumerate(r['resolved']['methods']):
        cells, ok = [], True
        for s in seeds:
            c, t = by[(m, s)], by[('teacher', s)]
            miss = m != 'teacher' and (c['modesCovered'] < t['modesCovered'] or c['highQuality'] < t['highQuality'] - 10)
            ok = ok and not miss
            cells.append(f"{c['modesCovered']}/{modes}, {one(c['highQuality'])} %" + (' ✗' if miss else ''))
        met = '–' if m == 'teacher' else ('**yes**' if ok else 'no')
        print(f"| {r['task'] if i == 0 else ''} | {m} | " + ' | '.join(cells) + f' | {met} |')
