/**
 * The sampling page's script (bundled by `npm run build` into dist/web/phased-dmd-web.js):
 * loads student/model.json and, when there, teacher/model.json next to the page, and on
 * each press of Sample draws n samples from both with the same seed, drawing points or
 * images and the time per sample. Runs on tfjs's wasm or WebGL backend; no Node APIs.
 *
 * `window.phasedDmd` exposes the last samples and a `ready` promise, so a test can
 * compare the page's numbers with Node's.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as E from 'fp-ts/Either';
import { decodeTfjsExport } from '../lib/portable/formats';
import { openPortable, OpenedModel } from '../lib/portable/open';

/** The teacher is shown at its usual 40 Euler steps, whatever it was trained with. */
const TEACHER_STEPS = 40;

interface Drawn {
  readonly values: number[];
  readonly shape: number[];
  readonly labels: number[] | null;
  /** Milliseconds per sample (the batch's wall time over n). */
  readonly msPerSample: number;
  readonly nfe: number;
}

interface PageState {
  ready: Promise<{ backend: string; student: string; teacher: string | null }>;
  last: { student: Drawn | null; teacher: Drawn | null };
  /** Completed presses of Sample. */
  draws: number;
  error: string | null;
}

const $ = <T extends HTMLElement>(selector: string): T => {
  const el = document.querySelector<T>(selector);
  if (el === null) throw new Error(`page: ${selector} is missing`);
  return el;
};

const status = (text: string, error = false): void => {
  const el = $('#status');
  el.textContent = text;
  el.className = error ? 'error' : '';
};

/** Fetches an export directory (model.json and the weight files it lists) and opens it. */
const loadModel = async (dir: string): Promise<OpenedModel | null> => {
  const res = await fetch(`${dir}/model.json`, { cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${dir}/model.json: HTTP ${res.status}`);
  const json = (await res.json()) as { weightsManifest?: Array<{ paths: string[] }> };
  const files = new Map<string, Uint8Array>();
  for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths)) {
    const w = await fetch(`${dir}/${p}`, { cache: 'no-store' });
    if (!w.ok) throw new Error(`${dir}/${p}: HTTP ${w.status}`);
    files.set(p, new Uint8Array(await w.arrayBuffer()));
  }
  const exported = decodeTfjsExport(json, files);
  if (E.isLeft(exported)) throw new Error(`${dir}: ${exported.left}`);
  const opened = openPortable(exported.right.description, exported.right.tensors, dir);
  if (E.isLeft(opened)) throw opened.left;
  return opened.right;
};

/**
 * Draws n samples; the time runs from the first op to the values read back (async: WebGL keeps
 * the page responsive).
 */
const draw = async (
  model: OpenedModel,
  n: number,
  seed: number,
  labels: Int32Array | undefined,
  steps?: number,
): Promise<Drawn> => {
  const sampler = steps === undefined ? undefined : { steps };
  const t0 = performance.now();
  const { x, labels: l } = model.sample({
    n,
    seed,
    ...(labels !== undefined ? { labels } : {}),
    ...(sampler ? { sampler } : {}),
  });
  const values = Array.from(await x.data());
  const ms = performance.now() - t0;
  const out = {
    values,
    shape: x.shape.slice(),
    labels: l === null ? null : Array.from(await l.data()),
    msPerSample: ms / n,
    nfe: model.nfe(sampler),
  };
  x.dispose();
  l?.dispose();
  return out;
};

/** 2-D points on a shared square scale. */
const drawPoints = (canvas: HTMLCanvasElement, d: Drawn, extent: number): void => {
  const g = canvas.getContext('2d')!;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = 'rgba(31, 119, 180, 0.6)';
  const s = canvas.width / (2 * extent);
  for (let i = 0; i + 1 < d.values.length; i += d.shape[1]) {
    g.fillRect((d.values[i] + extent) * s - 1.5, canvas.height - (d.values[i + 1] + extent) * s - 1.5, 3, 3);
  }
};

/** Images [n, h, w, c] in [−1, 1] as a grid of tiles. */
const drawImages = (canvas: HTMLCanvasElement, d: Drawn): void => {
  const [n, h, w, c] = d.shape;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  canvas.width = cols * (w + 1);
  canvas.height = rows * (h + 1);
  canvas.style.width = `${Math.min(360, canvas.width * 3)}px`;
  const g = canvas.getContext('2d')!;
  const img = g.createImageData(canvas.width, canvas.height);
  img.data.fill(255);
  for (let k = 0; k < n; k++) {
    const [ox, oy] = [(k % cols) * (w + 1), Math.floor(k / cols) * (h + 1)];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = ((k * h + y) * w + x) * c;
        const px = ((oy + y) * canvas.width + ox + x) * 4;
        for (let ch = 0; ch < 3; ch++)
          img.data[px + ch] = Math.max(0, Math.min(255, Math.round((d.values[at + (c === 3 ? ch : 0)] + 1) * 127.5)));
      }
    }
  }
  g.putImageData(img, 0, 0);
};

const show = (id: string, title: string, d: Drawn, kind: string, extent: number): void => {
  const fig = $(`#${id}`);
  fig.hidden = false;
  const canvas = fig.querySelector('canvas')!;
  if (kind === 'points') drawPoints(canvas, d, extent);
  else if (kind === 'images') drawImages(canvas, d);
  fig.querySelector('.title')!.textContent = `${title} (${d.nfe} steps)`;
  fig.querySelector('.time')!.textContent = `${d.msPerSample.toFixed(3)} ms / sample`;
};

const extentOf = (ds: ReadonlyArray<Drawn | null>): number =>
  Math.max(1, ...ds.flatMap((d) => (d === null ? [] : d.values.map(Math.abs).filter(Number.isFinite)))) * 1.05;

const start = (): PageState => {
  const state: PageState = {
    ready: Promise.resolve({ backend: '', student: '', teacher: null }),
    last: { student: null, teacher: null },
    draws: 0,
    error: null,
  };
  const wanted = new URLSearchParams(location.search).get('backend') ?? 'wasm';
  ($('#backend') as HTMLSelectElement).value = wanted;
  setWasmPaths(new URL('./', location.href).href);
  state.ready = (async () => {
    if (!(await tf.setBackend(wanted)) || tf.getBackend() !== wanted)
      throw new Error(`the ${wanted} backend did not start here (tfjs reports "${tf.getBackend()}")`);
    await tf.ready();
    const student = await loadModel('student');
    if (student === null)
      throw new Error('student/model.json not found next to the page: export a student with --page into this site');
    const teacher = await loadModel('teacher');
    const d = student.description;
    if (student.numClasses > 0) {
      const select = $('#class') as HTMLSelectElement;
      for (let c = 0; c < student.numClasses; c++) select.add(new Option(String(c), String(c)));
      $('#class-label').hidden = false;
    }
    if (d.samples === 'images') ($('#n') as HTMLInputElement).value = '16';
    // one small draw each, so the first press times sampling, not kernel compilation
    await draw(student, 1, 0, undefined);
    if (teacher) await draw(teacher, 1, 0, undefined, TEACHER_STEPS);
    const button = $('#sample') as HTMLButtonElement;
    button.disabled = false;
    button.addEventListener('click', async () => {
      const n = Number(($('#n') as HTMLInputElement).value);
      const seed = Number(($('#seed') as HTMLInputElement).value);
      const cls = ($('#class') as HTMLSelectElement).value;
      if (!Number.isInteger(n) || n < 1 || !Number.isInteger(seed) || seed < 0) {
        status('samples: a positive integer; seed: a non-negative integer', true);
        return;
      }
      const labels = cls === '' ? undefined : new Int32Array(n).fill(Number(cls));
      button.disabled = true;
      status(`sampling ${n}…`);
      // let the page paint the status before the backend takes the thread
      await new Promise((resolve) => setTimeout(resolve, 0));
      let s: Drawn;
      let t: Drawn | null;
      try {
        s = await draw(student, n, seed, labels);
        t = teacher ? await draw(teacher, n, seed, labels, TEACHER_STEPS) : null;
      } catch (err) {
        status(`error: ${(err as Error).message}`, true);
        return;
      } finally {
        button.disabled = false;
      }
      const extent = extentOf([s, t]);
      show('student', `student, ${d.method}`, s, d.samples, extent);
      if (t) show('teacher', 'teacher', t, d.samples, extent);
      state.last = { student: s, teacher: t };
      state.draws += 1;
      status(`${n} samples, seed ${seed}${labels ? `, class ${cls}` : ''} on ${tf.getBackend()}`);
    });
    ($('#backend') as HTMLSelectElement).addEventListener('change', (e) => {
      location.search = `?backend=${(e.target as HTMLSelectElement).value}`;
    });
    const info = {
      backend: tf.getBackend(),
      student: `${d.method}, ${student.nfe()} steps`,
      teacher: teacher ? `${TEACHER_STEPS} steps` : null,
    };
    status(
      `ready on ${info.backend}: student ${info.student}` +
        (teacher ? `, teacher ${info.teacher}` : ' (no teacher/ in this site)'),
    );
    return info;
  })();
  state.ready.catch((err: Error) => {
    state.error = err.message;
    status(`error: ${err.message}`, true);
  });
  return state;
};

(window as unknown as { phasedDmd: PageState }).phasedDmd = start();
