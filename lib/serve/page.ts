/**
 * The live page: static HTML and a small script that listens to /events (Server-Sent
 * Events) and keeps, per phase, a progress bar, the latest loss of each role, iterations/s
 * and a loss chart (SVG polylines), plus the latest samples of each model and a log of
 * checkpoints, resumes and the run's end; for a queued experiment, its jobs (/jobs, polled).
 * No framework, no external resources.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>phased-dmd live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  .meta { color: #666; margin-bottom: 1rem; }
  .pill { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; background: #ddd; font-weight: 600; }
  .pill.running { background: #cfe3ff; }
  .pill.complete, .pill.replayed { background: #cdeccd; }
  .pill.failed, .pill.disconnected { background: #f6caca; }
  #phases { display: flex; flex-wrap: wrap; gap: 1rem; }
  .phase { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8rem; width: 380px; }
  .phase h2 { font-size: 1rem; margin: 0 0 .4rem; }
  .bar { height: 8px; background: #eee; border-radius: 4px; overflow: hidden; margin: .3rem 0; }
  .bar > div { height: 100%; background: #3b7dd8; width: 0; }
  .losses span { margin-right: .8rem; font-variant-numeric: tabular-nums; }
  svg.chart { width: 100%; height: 140px; background: #fcfcfc; border: 1px solid #eee; }
  #samples { display: flex; flex-wrap: wrap; gap: 1rem; margin-top: 1rem; }
  #samples figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }
  #samples img { max-width: 420px; display: block; }
  #jobs table { border-collapse: collapse; background: #fff; margin-bottom: 1rem; }
  #jobs td { padding: .15rem .6rem; border-bottom: 1px solid #eee; } #jobs .error { color: #a33; }
  #log {
    margin-top: 1rem; font-family: ui-monospace, monospace; font-size: 12px; color: #444;
    max-height: 12rem; overflow: auto;
  }
</style>
</head>
<body>
<h1>phased-dmd live: <span id="method">…</span> <span id="status" class="pill">connecting</span></h1>
<div class="meta" id="meta"></div>
<div id="jobs" hidden>
  <h2 style="font-size:1rem">Jobs <span id="job-counts" class="meta"></span></h2>
  <table><tbody id="job-rows"></tbody></table>
</div>
<div id="phases"></div>
<h2 style="font-size:1rem;margin-top:1.2rem">Latest samples</h2>
<div id="samples"><em id="no-samples">none recorded yet</em></div>
<div id="log"></div>
<script>
(() => {
  const COLORS = ['#3b7dd8', '#e07b39', '#3aa655', '#c23b8a', '#7d5bd8', '#8a6d3b'];
  const state = { totals: null, phases: new Map(), roles: [], status: 'connecting', events: 0 };
  const $ = (id) => document.getElementById(id);
  const fmt = (v) => v === null || v === undefined ? '–'
    : (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(4));
  const setStatus = (s) => {
    state.status = s; const el = $('status'); el.textContent = s; el.className = 'pill ' + s;
  };
  const log = (text) => { const d = document.createElement('div'); d.textContent = text; $('log').prepend(d); };
  const roleColor = (role) => {
    if (!state.roles.includes(role)) state.roles.push(role);
    return COLORS[state.roles.indexOf(role) % COLORS.length];
  };

  const phase = (k) => {
    let p = state.phases.get(k);
    if (!p) {
      const el = document.createElement('div');
      el.className = 'phase'; el.dataset.phase = String(k);
      el.innerHTML = '<h2>phase ' + (k + 1) + ' <span class="done"></span></h2><div class="step">0</div><div ' +
        'class="bar"><div></div></div>' +
        '<div class="losses"></div><div class="speed"></div><svg class="chart" viewBox="0 0 360 140" ' +
          'preserveAspectRatio="none"></svg>';
      const list = $('phases');
      const after = [...list.children].find((c) => Number(c.dataset.phase) > k);
      list.insertBefore(el, after || null);
      p = {
        el, done: 0, ended: false, series: new Map(), last: new Map(),
        firstAt: null, lastAt: null, firstStep: null, dirty: true,
      };
      state.phases.set(k, p);
    }
    return p;
  };

  const draw = (p, k) => {
    const total = state.totals ? state.totals[k] : undefined;
    p.el.querySelector('.step').textContent = 'step ' + p.done + (total !== undefined ? ' / ' + total : '');
    p.el.querySelector('.bar > div').style.width = total ? Math.min(100, 100 * p.done / total) + '%' : '0';
    p.el.querySelector('.done').textContent = p.ended ? '(done)' : '';
    p.el.querySelector('.losses').innerHTML = [...p.last.entries()].map(([role, v]) =>
      '<span class="loss" ' +
        'data-role="' + role + '" style="color:' + roleColor(role) + '">' + role + ' ' + fmt(v) + '</span>').join('');
    if (p.firstAt !== null && p.lastAt > p.firstAt && p.done > p.firstStep)
      p.el.querySelector('.speed').textContent =
        ((p.done - p.firstStep) * 1000 / (p.lastAt - p.firstAt)).toFixed(2) + ' it/s';
    const svg = p.el.querySelector('svg');
    const all = [...p.series.values()].flat();
    if (all.length < 2) { svg.innerHTML = ''; return; }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const [x, y] of all) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    // log scale when every loss is positive and they span more than two decades (roles differ by orders of magnitude)
    const log = y0 > 0 && y1 / y0 > 100;
    const ty = (y) => log ? Math.log10(y) : y, ly0 = ty(y0), ly1 = ty(y1);
    p.el.querySelector('svg').dataset.scale = log ? 'log' : 'linear';
    const sx = (x) => 5 + 350 * (x - x0) / ((x1 - x0) || 1), sy = (y) => 135 - 130 * (ty(y) - ly0) / ((ly1 - ly0) || 1);
    svg.innerHTML = [...p.series.entries()].map(([role, pts]) =>
      '<polyline data-role="' + role + '" fill="none" stroke-width="1.2" vector-effect="non-scaling-stroke" ' +
        'stroke="' + roleColor(role) + '" points="' +
      pts.map(([x, y]) => sx(x).toFixed(1) + ',' + sy(y).toFixed(1)).join(' ') + '"></polyline>').join('');
  };

  const flush = () => {
    for (const [k, p] of state.phases) if (p.dirty) { draw(p, k); p.dirty = false; }
    $('meta').dataset.events = String(state.events);
  };
  let scheduled = false;
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; flush(); });
  };

  const handlers = {
    header: (m) => {
      $('method').textContent = m.method;
      $('meta').textContent = 'seed ' + m.seed + ' · backend ' + m.backend + ' · recorded ' + m.createdAt;
      state.totals = m.totals;
      if (state.status === 'connecting') setStatus('running');
    },
    metrics: (m) => {
      const p = phase(m.phase);
      p.done = Math.max(p.done, m.step + 1);
      if (p.firstAt === null) { p.firstAt = m.at; p.firstStep = m.step; }
      p.lastAt = m.at;
      if (m.loss !== null) {
        p.last.set(m.role, m.loss);
        let s = p.series.get(m.role);
        if (!s) { s = []; p.series.set(m.role, s); }
        s.push([m.step, m.loss]);
        if (s.length > 2000) p.series.set(m.role, s.filter((_, i) => i % 2 === 0));
      }
      p.dirty = true;
    },
    phaseEnd: (m) => { const p = phase(m.phase); p.ended = true; p.dirty = true; },
    sample: (m) => {
      $('no-samples')?.remove();
      let fig = document.querySelector('figure[data-name="' + CSS.escape(m.name) + '"]');
      if (!fig) {
        fig = document.createElement('figure'); fig.dataset.name = m.name;
        fig.innerHTML = '<img class="sample" alt=""><figcaption></figcaption>';
        $('samples').append(fig);
      }
      const img = fig.querySelector('img');
      img.dataset.name = m.name; img.alt = m.name + ' samples'; img.src = m.url;
      fig.querySelector('figcaption').textContent = m.name + ': phase ' + (m.phase + 1) + ', step ' + m.step +
        (m.nfe ? ', ' + m.nfe + ' NFE' : '') + ', ' + m.shape[0] + ' samples';
    },
    checkpoint: (m) => log('checkpoint at phase ' + (m.phase + 1) + ', step ' + m.step + ': ' + m.file),
    resume: (m) => log('resumed at phase ' + (m.phase + 1) + ', step ' + m.step),
    // the final status and the final steps are shown together: drawing waits for an animation frame, which a
    // hidden or busy tab may delay long after the status pill has changed
    end: (m) => {
      for (const p of state.phases.values()) { if (m.status === 'complete') p.ended = true; p.dirty = true; }
      flush();
      setStatus(m.status === 'complete' ? 'complete' : 'failed');
      log('run ' + m.status + (m.message ? ': ' + m.message : ''));
    },
    issue: (m) => log('issue: ' + m.message),
    replayed: () => { flush(); if (state.status !== 'failed') setStatus('replayed'); },
  };

  // a queued experiment: its jobs, polled (the queue, not the recording, knows them)
  const jobs = () => fetch('/jobs').then((r) => (r.status === 404 ? null : r.json())).then((v) => {
    if (v === null) return;
    $('jobs').hidden = false;
    if (v.error) { $('job-counts').textContent = v.error; return setTimeout(jobs, 5000); }
    const c = v.counts;
    const queued = c.queued + Math.max(0, v.jobs - v.rows.length);
    $('job-counts').textContent = 'run ' + v.runId + ': ' + c.done + ' done, ' + c.running + ' running, ' +
      queued + ' queued, ' + c.failed + ' failed';
    $('job-rows').innerHTML = '';
    for (const j of v.rows) {
      const tr = document.createElement('tr');
      const retries = Math.max(0, j.attempts - 1);
      const tries = j.attempts === 0 ? '' : 'attempts ' + j.attempts + (retries ? ', ' + retries + ' retries' : '') +
        (j.stalled ? ', worker lost ' + j.stalled + '\u00d7' : '');
      const pill = 'pill ' + ({ done: 'complete', running: 'running', failed: 'failed' }[j.state] || '');
      const indent = '\u00a0'.repeat(3 * j.depth);
      const cells = [[indent + j.label, ''], [j.state, pill], [tries, ''], [j.error || '', 'error']];
      for (const [text, cls] of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        td.className = cls;
        tr.append(td);
      }
      $('job-rows').append(tr);
    }
    setTimeout(jobs, 2000);
  }).catch(() => setTimeout(jobs, 5000));
  jobs();

  const source = new EventSource('/events');
  source.onmessage = (e) => {
    const m = JSON.parse(e.data);
    state.events++;
    (handlers[m.type] || (() => {}))(m);
    redraw();
  };
  source.onerror = () => {
    if (state.status === 'running' || state.status === 'connecting') setStatus('disconnected');
  };
  source.onopen = () => { if (state.status === 'disconnected') setStatus('running'); };
})();
</script>
</body>
</html>
`;
