/**
 * The playground page: CodeMirror editors for `.optim` with the checker's diagnostics, hover docs
 * and completion (src/editor/service.ts, shared with `geodesic lsp`), the explain pane, a problem
 * picker, Train/Stop with live uPlot charts (training runs in Web Workers), two specs side by side
 * on the same seed, a Prove button (reparametrization invariance), examples, and the state in the
 * URL hash so a link shares it.
 */
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { linter, lintGutter, type Diagnostic as CmDiagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, hoverTooltip, keymap, lineNumbers, highlightActiveLine } from '@codemirror/view';
import * as E from 'fp-ts/lib/Either.js';
import uPlot from 'uplot';
import { complete, diagnose, hover, type EditorDiagnostic } from '../../src/editor/service.js';
import { checkText } from '../../src/language/check.js';
import { explain } from '../../src/language/explain.js';
import { plan } from '../../src/optim/plan.js';
import { estimateCost, renderCost } from '../../src/optim/cost.js';
import { mnistSubsetDef, syntheticProblems } from '../../src/problems/builtin.js';
import { PORTABLE_BACKEND_NAMES } from '../../src/backend/names.js';
import { FAMILIES } from '../../src/testing/reparam.js';
import type { ModelDef } from '../../src/model/types.js';
import { optimHighlighting, optimLanguage } from './optimLanguage.js';
import type { Reply, StepPoint, TrainRequest } from './protocol.js';

const SPEC_FILE = 'playground.optim';
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const PROBLEM_DEFS: Readonly<Record<string, () => ModelDef>> = {
  logistic: syntheticProblems['logistic']!.def,
  'teacher-student': syntheticProblems['teacher-student']!.def,
  'linear-gaussian': syntheticProblems['linear-gaussian']!.def,
  'mnist-subset': () => mnistSubsetDef,
};

const DEFAULT_SPEC = `# Adam with tfjs's defaults. Edit me: diagnostics appear as you type,
# hover a name for its documentation, Ctrl-Space completes.
optimizer adam "Adam (Kingma & Ba 2015)" {
  gradient  = ema(decay: 0.9, debias: true)
  curvature = diag(outer(gradient)) |> ema(decay: 0.999, debias: true) |> sqrt
  damping   = tikhonov(1e-7)
  step      = lr(1e-3)
}
`;

// ---- markdown of the registry docs → HTML (the service's own small subset) -----------------------

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inline = (s: string) =>
  escapeHtml(s)
    .replace(/\*\*(.+?)\*\*/g, '<b>$1</b>')
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/(^|[^*])\*([^*]+)\*/g, '$1<i>$2</i>');

export function markdownToHtml(md: string): string {
  const out: string[] = [];
  let table: string[] | undefined;
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      if (/^\|[-| ]+\|$/.test(line)) continue;
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => inline(c.trim().replace(/\\\|/g, '|')));
      (table ??= []).push(`<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`);
      continue;
    }
    if (table !== undefined) {
      out.push(`<table>${table.join('')}</table>`);
      table = undefined;
    }
    if (line.startsWith('#### ')) out.push(`<h4>${inline(line.slice(5))}</h4>`);
    else if (line === '---') out.push('<hr>');
    else if (line.startsWith('- ')) out.push(`<div>• ${inline(line.slice(2))}</div>`);
    else if (line.trim() !== '') out.push(`<div>${inline(line)}</div>`);
  }
  if (table !== undefined) out.push(`<table>${table.join('')}</table>`);
  return out.join('');
}

// ---- editors ------------------------------------------------------------------------------------

interface SpecPane {
  readonly key: 'a' | 'b';
  readonly view: EditorView;
  readonly optimizer: HTMLSelectElement;
  readonly diagnostics: HTMLUListElement;
  readonly status: HTMLElement;
  worker?: Worker;
  points: StepPoint[];
  tests: { step: number; loss: number }[];
  losses?: readonly number[];
}

const diagnosticText = (d: EditorDiagnostic) => `${SPEC_FILE}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;

function showDiagnostics(pane: SpecPane, ds: readonly EditorDiagnostic[]): void {
  pane.diagnostics.replaceChildren(
    ...ds.map((d) => {
      const li = document.createElement('li');
      li.dataset['line'] = String(d.line);
      li.dataset['column'] = String(d.column);
      li.textContent = diagnosticText(d);
      if (d.hint !== undefined) {
        const h = document.createElement('span');
        h.className = 'hint';
        h.textContent = `  hint: ${d.hint}`;
        li.append(h);
      }
      return li;
    }),
  );
}

function editorFor(key: 'a' | 'b', text: string, onChange: () => void): SpecPane {
  const pane = {
    key,
    optimizer: $<HTMLSelectElement>(`optimizer-${key}`),
    diagnostics: $<HTMLUListElement>(`diagnostics-${key}`),
    status: $(`status-${key}`),
    points: [],
    tests: [],
  } as unknown as SpecPane;
  const lint = linter(
    (view): CmDiagnostic[] => {
      const ds = diagnose(SPEC_FILE, view.state.doc.toString());
      showDiagnostics(pane, ds);
      return ds.map((d) => ({ from: d.from, to: d.to, severity: d.severity, message: d.hint === undefined ? d.message : `${d.message}\nhint: ${d.hint}` }));
    },
    { delay: 250 },
  );
  const docs = hoverTooltip((view, pos) => {
    const h = hover(view.state.doc.toString(), pos);
    if (h === undefined) return null;
    return {
      pos: h.from,
      end: h.to,
      above: true,
      create: () => {
        const dom = document.createElement('div');
        dom.className = 'geodesic-doc';
        dom.innerHTML = markdownToHtml(h.markdown);
        return { dom };
      },
    };
  });
  const completions = (ctx: CompletionContext): CompletionResult | null => {
    const c = complete(ctx.state.doc.toString(), ctx.pos);
    if (c.items.length === 0 || (!ctx.explicit && c.from === ctx.pos && !/[(,:=>]\s*$/.test(ctx.state.sliceDoc(Math.max(0, ctx.pos - 3), ctx.pos)))) return null;
    return {
      from: c.from,
      options: c.items.map((i) => ({
        label: i.label,
        type: i.kind === 'component' ? 'function' : i.kind === 'argument' ? 'property' : i.kind === 'clause' ? 'keyword' : i.kind === 'keyword' ? 'keyword' : 'constant',
        detail: i.detail.length > 60 ? `${i.detail.slice(0, 59)}…` : i.detail,
        info: () => {
          const dom = document.createElement('div');
          dom.className = 'geodesic-doc';
          dom.innerHTML = markdownToHtml(i.documentation);
          return dom;
        },
        apply: i.insert ?? i.label,
      })),
      validFor: /^\w*$/,
    };
  };
  const view = new EditorView({
    parent: $(`editor-${key}`),
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        history(),
        highlightActiveLine(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        optimLanguage,
        optimHighlighting,
        lintGutter(),
        lint,
        docs,
        autocompletion({ override: [completions] }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange();
        }),
      ],
    }),
  });
  (pane as { view: EditorView }).view = view;
  return pane;
}

// ---- URL state ----------------------------------------------------------------------------------

const toB64 = (s: string) => {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const fromB64 = (s: string) => new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)));

function readHash(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

// ---- charts -------------------------------------------------------------------------------------

function makeChart(id: string, title: string, labels: readonly { label: string; stroke: string }[], logY: boolean): uPlot {
  const el = $(id);
  return new uPlot(
    {
      title,
      width: Math.max(260, el.clientWidth - 4),
      height: 190,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      series: [{ label: 'step' }, ...labels.map((l) => ({ label: l.label, stroke: l.stroke, width: 1.5, spanGaps: true, points: { show: false } }))],
      axes: [{}, { size: 64, values: (_u: uPlot, vals: number[]) => vals.map((v) => (v === null ? '' : v !== 0 && Math.abs(v) < 1e-2 ? v.toExponential(0) : String(Number(v.toPrecision(3))))) }],
    },
    [[], ...labels.map(() => [])],
    el,
  );
}

// ---- the page -----------------------------------------------------------------------------------

async function start(): Promise<void> {
  const hash = readHash();
  const fill = (sel: HTMLSelectElement, values: readonly string[], chosen?: string | null) => {
    for (const v of values) sel.append(new Option(v, v, false, v === chosen));
  };
  fill($('problem'), Object.keys(PROBLEM_DEFS), hash.get('problem') ?? 'logistic');
  fill($('backend'), PORTABLE_BACKEND_NAMES, hash.get('backend') ?? 'wasm');
  fill($('family'), FAMILIES, hash.get('family') ?? 'linear');
  for (const k of ['steps', 'batch', 'seed'] as const) if (hash.get(k) !== null) $<HTMLInputElement>(k).value = hash.get(k)!;
  $<HTMLInputElement>('compare').checked = hash.get('b') !== null;
  $('spec-b').hidden = hash.get('b') === null;

  let hashTimer: number | undefined;
  const onChange = () => {
    window.clearTimeout(hashTimer);
    hashTimer = window.setTimeout(() => {
      writeHash();
      refreshOptimizers();
      refreshExplain();
    }, 250);
  };
  const decode = (v: string | null, fallback: string) => {
    if (v === null) return fallback;
    try {
      return fromB64(v);
    } catch {
      return fallback;
    }
  };
  const a = editorFor('a', decode(hash.get('a'), DEFAULT_SPEC), onChange);
  const b = editorFor('b', decode(hash.get('b'), DEFAULT_SPEC.replace(/^optimizer adam[^{]*\{[\s\S]*\}\s*$/m, 'optimizer sgd {\n  step = lr(0.1)\n}\n').replace(/^# .*\n# .*\n/, '# Spec B trains beside spec A, on the same problem and seed.\n')), onChange);
  const panes = [a, b];

  function writeHash(): void {
    const p = new URLSearchParams();
    p.set('a', toB64(a.view.state.doc.toString()));
    if ($<HTMLInputElement>('compare').checked) p.set('b', toB64(b.view.state.doc.toString()));
    p.set('problem', $<HTMLSelectElement>('problem').value);
    p.set('backend', $<HTMLSelectElement>('backend').value);
    p.set('family', $<HTMLSelectElement>('family').value);
    for (const k of ['steps', 'batch', 'seed']) p.set(k, $<HTMLInputElement>(k).value);
    window.history.replaceState(null, '', `#${p.toString()}`);
  }

  const checkedOptimizers = (pane: SpecPane) => {
    const r = checkText(SPEC_FILE, pane.view.state.doc.toString());
    return E.isRight(r.specs) ? r.specs.right[0]!.optimizers : [];
  };
  function refreshOptimizers(): void {
    for (const pane of panes) {
      const names = checkedOptimizers(pane).map((o) => o.name);
      const current = pane.optimizer.value;
      if (names.length === 0) continue; // keep the last choice while the text has problems
      pane.optimizer.replaceChildren(...names.map((n) => new Option(n, n, false, n === current)));
    }
  }
  function refreshExplain(): void {
    const problem = $<HTMLSelectElement>('problem').value;
    const batch = Number($<HTMLInputElement>('batch').value) || 100;
    const parts: string[] = [];
    for (const pane of panes) {
      if (pane.key === 'b' && !$<HTMLInputElement>('compare').checked) continue;
      const o = checkedOptimizers(pane).find((x) => x.name === pane.optimizer.value);
      if (o === undefined) {
        parts.push(`spec ${pane.key.toUpperCase()}: fix the problems listed under the editor to see what it computes`);
        continue;
      }
      const planned = plan(o);
      const cost = E.isRight(planned) ? '\n' + renderCost(estimateCost(planned.right, PROBLEM_DEFS[problem]!(), batch), problem) : `\n${planned.left.message}`;
      parts.push(`spec ${pane.key.toUpperCase()}:\n${explain(o)}${cost}`);
    }
    $('explain').textContent = parts.join('\n\n');
  }

  // examples
  const examples = (await (await fetch('examples.json')).json()) as { name: string; text: string }[];
  fill($('example'), examples.map((e) => e.name));
  $<HTMLSelectElement>('example').onchange = () => {
    const ex = examples.find((e) => e.name === $<HTMLSelectElement>('example').value);
    if (ex !== undefined) a.view.dispatch({ changes: { from: 0, to: a.view.state.doc.length, insert: ex.text } });
  };
  for (const id of ['problem', 'backend', 'family', 'steps', 'batch', 'seed', 'optimizer-a', 'optimizer-b']) $(id).addEventListener('change', onChange);
  $<HTMLInputElement>('compare').onchange = () => {
    $('spec-b').hidden = !$<HTMLInputElement>('compare').checked;
    onChange();
  };

  // charts
  const colours = { a: '#2563eb', b: '#dc2626' };
  const charts = {
    loss: makeChart('chart-loss', 'training loss (minibatch)', [{ label: 'A', stroke: colours.a }, { label: 'B', stroke: colours.b }], true),
    test: makeChart('chart-test', 'test loss', [{ label: 'A', stroke: colours.a }, { label: 'B', stroke: colours.b }], true),
    damping: makeChart('chart-damping', 'damping λ', [{ label: 'A', stroke: colours.a }, { label: 'B', stroke: colours.b }], false),
    alphaMu: makeChart('chart-alpha-mu', 'α / μ', [{ label: 'α A', stroke: colours.a }, { label: 'μ A', stroke: '#93c5fd' }, { label: 'α B', stroke: colours.b }, { label: 'μ B', stroke: '#fca5a5' }], false),
  };
  let redraw = 0;
  function drawCharts(): void {
    redraw = 0;
    const n = Math.max(a.points.length, b.points.length);
    const steps = Array.from({ length: n }, (_, k) => k + 1);
    const col = (pane: SpecPane, f: (p: StepPoint) => number | null) => steps.map((_, k) => (pane.points[k] === undefined ? null : f(pane.points[k]!)));
    charts.loss.setData([steps, col(a, (p) => p.loss), col(b, (p) => p.loss)] as uPlot.AlignedData);
    charts.damping.setData([steps, col(a, (p) => p.damping), col(b, (p) => p.damping)] as uPlot.AlignedData);
    charts.alphaMu.setData([steps, col(a, (p) => p.alpha), col(a, (p) => p.mu), col(b, (p) => p.alpha), col(b, (p) => p.mu)] as uPlot.AlignedData);
    const testSteps = [...new Set([...a.tests, ...b.tests].map((t) => t.step))].sort((x, y) => x - y);
    const at = (pane: SpecPane) => testSteps.map((s) => pane.tests.find((t) => t.step === s)?.loss ?? null);
    charts.test.setData([testSteps, at(a), at(b)] as uPlot.AlignedData);
    $('chart-loss').dataset['points'] = String(charts.loss.data[0].length);
  }
  const scheduleDraw = () => {
    if (redraw === 0) redraw = requestAnimationFrame(drawCharts);
  };

  // training
  const running = new Set<SpecPane>();
  const fmt = (x: number) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4));
  const finish = (pane: SpecPane) => {
    pane.worker?.terminate();
    delete pane.worker;
    running.delete(pane);
    if (running.size === 0) {
      $<HTMLButtonElement>('train').disabled = false;
      $<HTMLButtonElement>('stop').disabled = true;
      document.body.dataset['training'] = 'done';
    }
  };
  function trainPane(pane: SpecPane): void {
    pane.points = [];
    pane.tests = [];
    delete pane.losses;
    pane.status.className = 'status';
    pane.status.textContent = 'starting…';
    const steps = Math.max(1, Number($<HTMLInputElement>('steps').value) || 100);
    const req: TrainRequest = {
      type: 'train',
      spec: pane.view.state.doc.toString(),
      optimizer: pane.optimizer.value,
      problem: $<HTMLSelectElement>('problem').value,
      steps,
      batch: Math.max(1, Number($<HTMLInputElement>('batch').value) || 100),
      seed: Math.max(0, Number($<HTMLInputElement>('seed').value) || 0),
      evalEvery: Math.max(1, Math.round(steps / 20)),
      backend: $<HTMLSelectElement>('backend').value as TrainRequest['backend'],
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    pane.worker = worker;
    running.add(pane);
    let head = '';
    worker.onmessage = (e: MessageEvent<Reply>) => {
      const m = e.data;
      if (m.type === 'started') {
        head = `${m.optimizer} on ${m.problem} (${m.trainN} train / ${m.testN} test), backend ${m.backend}`;
        pane.status.textContent = head;
      } else if (m.type === 'step') {
        pane.points.push(m.point);
        pane.status.textContent = `${head} — step ${m.point.step + 1}/${steps}, loss ${fmt(m.point.loss)}`;
        scheduleDraw();
      } else if (m.type === 'eval') {
        pane.tests.push({ step: m.step, loss: m.loss });
        scheduleDraw();
      } else if (m.type === 'done') {
        pane.losses = m.losses;
        const last = pane.tests[pane.tests.length - 1];
        pane.status.textContent = `${head} — ${m.aborted ? 'stopped' : 'done'} after ${m.stepsRun} steps in ${(m.wallMs / 1000).toFixed(1)} s; loss ${fmt(m.losses[0] ?? NaN)} → ${fmt(m.losses[m.losses.length - 1] ?? NaN)}${last ? `, test loss ${fmt(last.loss)}` : ''}`;
        pane.status.dataset['state'] = m.aborted ? 'stopped' : 'done';
        pane.status.dataset['tensors'] = `${m.tensorsBefore} ${m.tensorsAfter}`;
        if (m.tensorsAfter !== m.tensorsBefore) console.warn(`spec ${pane.key.toUpperCase()}: ${m.tensorsAfter - m.tensorsBefore} tensors left after the run`);
        drawCharts();
        finish(pane);
      } else if (m.type === 'error') {
        pane.status.className = 'status error';
        pane.status.textContent = m.message;
        pane.status.dataset['state'] = 'error';
        finish(pane);
      }
    };
    worker.onerror = (e) => {
      pane.status.className = 'status error';
      pane.status.textContent = `the worker failed: ${e.message}`;
      finish(pane);
    };
    worker.postMessage(req);
  }
  $<HTMLButtonElement>('train').onclick = () => {
    refreshOptimizers(); // the text may have changed within the debounce
    document.body.dataset['training'] = 'running';
    $<HTMLButtonElement>('train').disabled = true;
    $<HTMLButtonElement>('stop').disabled = false;
    for (const pane of panes) delete pane.status.dataset['state'];
    trainPane(a);
    if ($<HTMLInputElement>('compare').checked) trainPane(b);
    else {
      b.points = [];
      b.tests = [];
    }
    drawCharts();
  };
  $<HTMLButtonElement>('stop').onclick = () => {
    for (const pane of running) pane.worker?.postMessage({ type: 'stop' });
  };

  // prove
  $<HTMLButtonElement>('prove').onclick = () => {
    refreshOptimizers();
    const out = $('prove-output');
    out.className = 'pane';
    out.dataset['state'] = 'running';
    out.textContent = 'proving… (fast-check, 25 runs, seed 42, on the cpu backend)';
    $<HTMLButtonElement>('prove').disabled = true;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<Reply>) => {
      const m = e.data;
      if (m.type === 'proved') {
        out.className = `pane ${m.holds ? 'pass' : 'fail'}`;
        out.dataset['state'] = m.holds ? 'pass' : 'fail';
        out.textContent = [
          m.title,
          `  predicted: ${m.predicted}`,
          m.evaluated > 0 ? `  ${m.holds ? 'PASS' : 'FAIL'}  (${m.evaluated} cases evaluated, 25 runs, seed 42)` : '',
          m.statistic === '' ? '' : `  statistic: ${m.statistic}`,
          m.error === null ? '' : `  the property could not be evaluated: ${m.error}`,
          m.counterexample === null ? '' : `  counterexample (shrunk):\n${m.counterexample.replace(/^/gm, '    ')}`,
        ]
          .filter((l) => l !== '')
          .join('\n');
      } else if (m.type === 'error') {
        out.className = 'pane fail';
        out.dataset['state'] = 'error';
        out.textContent = m.message;
      }
      if (m.type === 'proved' || m.type === 'error') {
        worker.terminate();
        $<HTMLButtonElement>('prove').disabled = false;
      }
    };
    worker.postMessage({ type: 'prove', spec: a.view.state.doc.toString(), optimizer: a.optimizer.value, family: $<HTMLSelectElement>('family').value, runs: 25, seed: 42 });
  };

  refreshOptimizers();
  refreshExplain();
  drawCharts();
  // for tests and the console: the last runs' loss sequences
  (window as unknown as { geodesic: unknown }).geodesic = { losses: (k: 'a' | 'b') => (k === 'a' ? a : b).losses, points: (k: 'a' | 'b') => (k === 'a' ? a : b).points.length };
  document.body.dataset['ready'] = 'true';
}

start().catch((err: unknown) => {
  document.body.dataset['ready'] = 'error';
  $('explain').textContent = `the playground failed to start: ${err instanceof Error ? err.message : String(err)}`;
  throw err;
});
