# Reads the budget sweeps (docs/results/sweep-*/results.json) and prints, per budget, which 4-step students
# meet the bar (modes >= the teacher's, within 3 sigma >= teacher - 10) on each of seeds 0-2.
# Run: python3 docs/results/dmdbar/budget-bar.py docs/results/sweep-<task>/results.json ...
import json,sys,collections
# per sweep: per budget, which 4-step students meet the bar on every seed (modes ≥ teacher's, within 3σ ≥ teacher − 10)
for f in sys.argv[1:]:
  d=json.load(open(f)); rows=d['rows']
  rows=[r for r in rows if r["seed"] in (0,1,2)]
  T={r["seed"]:r["scalars"] for r in rows if r["method"]=="teacher"}
  cells=collections.defaultdict(dict)
  for r in rows:
    if r['method'] in ('teacher','dmd'): continue
    t=T[r['seed']]; x=r['scalars']
    ok=x['modesCovered']>=t['modesCovered'] and x['highQuality']>=t['highQuality']-10
    cells[r['budget']].setdefault(r['method'],[]).append((r['seed'],ok))
  seeds=sorted(T)
  print(f, 'seeds', seeds)
  for b in sorted(cells):
    line=[]
    for m,v in sorted(cells[b].items()):
      fails=[s for s,ok in v if not ok]
      line.append(f"{m}: {'all' if not fails else 'miss s'+','.join(map(str,fails))}")
    print(' ',b,' | '.join(line))
