/// <reference lib="dom" />
/**
 * The playground in a real browser: headless Chromium (Debian's `chromium`) driven by playwright-core,
 * the page built by `npm run build` (dist/playground) served by geodesic's own static server on
 * 127.0.0.1. Types a spec with two mistakes and finds both diagnostics where `geodesic check` puts
 * them; fixes them; trains 50 steps of adam on logistic in the Web Worker (the loss falls, the chart
 * holds 50 points, and the losses equal `geodesic train --backend wasm` on the same seed); hovers and
 * completes; runs Prove on sgd (fails, with a shrunk counterexample); and sees no console errors.
 * Screenshots go to test-results/playground/.
 *
 * Without /usr/bin/chromium the file is skipped locally, and FAILS when GEODESIC_REQUIRE_BROWSER=1
 * (set by .ci/run, which installs chromium).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type StaticServer } from '../../src/cli/staticServer.js';
import { MNIST_SUBSET } from '../../src/problems/builtin.js';

const CHROMIUM = '/usr/bin/chromium';
const required = process.env['GEODESIC_REQUIRE_BROWSER'] === '1';
const haveBrowser = existsSync(CHROMIUM);
const outDir = path.resolve('test-results/playground');

if (!haveBrowser && required) throw new Error(`${CHROMIUM} is missing but GEODESIC_REQUIRE_BROWSER=1: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);

const TWO_MISTAKES = `optimizer adam {
  gradient  = ema(decay: 0.9, debias: true)
  curvature = diag(outer(gradient)) |> ema(decay: 0.999, debias: true) |> sqrt
  dampng    = tikhonov(1e-7)
  step      = lr(-0.01)
}
`;
const FIXED = TWO_MISTAKES.replace('dampng ', 'damping').replace('lr(-0.01)', 'lr(0.01)');

interface CliDiagnostic {
  line: number;
  column: number;
  message: string;
  hint?: string;
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['bin/geodesic.js', ...args], { encoding: 'utf8' });
}

let server: StaticServer;
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];
let wasmLosses: number[] = [];
const work = mkdtempSync(path.join(tmpdir(), 'geodesic-browser-'));

async function setSpec(text: string): Promise<void> {
  await page.click('#editor-a .cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

describe.skipIf(!haveBrowser)('playground in headless Chromium', () => {
  beforeAll(async () => {
    expect(existsSync('dist/playground/index.html'), 'dist/playground is built by npm run build').toBe(true);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    server = await serveStatic('dist/playground', 0);
    context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'geodesic-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it('shows both mistakes of a typed spec where geodesic check puts them, with the did-you-mean; the fix clears them', async () => {
    await setSpec(TWO_MISTAKES);
    await page.waitForFunction(() => document.querySelectorAll('#diagnostics-a li').length === 2, null, { timeout: 20_000 });
    const file = path.join(work, 'two_mistakes.optim');
    writeFileSync(file, TWO_MISTAKES);
    const expected = JSON.parse(cli('check', '--json', file).stdout) as CliDiagnostic[];
    expect(expected).toHaveLength(2);
    const shown = await page.$$eval('#diagnostics-a li', (lis) => lis.map((li) => ({ line: Number(li.dataset['line']), column: Number(li.dataset['column']), text: li.textContent ?? '' })));
    expect(shown.map((d) => [d.line, d.column])).toEqual(expected.map((d) => [d.line, d.column]));
    for (const [k, d] of expected.entries()) {
      expect(shown[k]!.text).toContain(d.message);
      if (d.hint !== undefined) expect(shown[k]!.text).toContain(d.hint);
    }
    expect(shown[0]!.text).toContain('did you mean "damping"?');
    // underlined in the editor, over the same text
    await page.waitForFunction(() => document.querySelectorAll('#editor-a .cm-lintRange-error').length === 2, null, { timeout: 10_000 });
    expect(await page.$$eval('#editor-a .cm-lintRange-error', (es) => es.map((e) => e.textContent))).toEqual(['dampng', '-0.01']);
    await page.screenshot({ path: path.join(outDir, 'diagnostics.png') });

    await setSpec(FIXED);
    await page.waitForFunction(() => document.querySelectorAll('#diagnostics-a li').length === 0 && document.querySelectorAll('#editor-a .cm-lintRange-error').length === 0, null, { timeout: 20_000 });
    expect(await page.textContent('#explain')).toContain('optimizer adam');
    expect(decodeURIComponent(await page.evaluate(() => location.hash))).toContain('problem=logistic');
  });

  it('hovers a component with its registry documentation and completes clause names', async () => {
    await page.hover('#editor-a .cm-line >> text=tikhonov');
    await page.waitForSelector('.cm-tooltip .geodesic-doc', { timeout: 10_000 });
    expect(await page.textContent('.cm-tooltip .geodesic-doc')).toContain('fixed (or scheduled) Tikhonov damping');
    await page.mouse.move(5, 5);
    await page.click('#editor-a .cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('ArrowUp'); // the closing brace
    await page.keyboard.press('ArrowUp'); // the step clause
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('momen');
    await page.keyboard.press('Control+Space');
    await page.waitForSelector('.cm-tooltip-autocomplete', { timeout: 10_000 });
    expect(await page.textContent('.cm-tooltip-autocomplete'), await page.textContent('#editor-a .cm-content') ?? '').toContain('momentum');
    await page.keyboard.press('Escape');
    await setSpec(FIXED);
  });

  it('trains 50 steps of adam on logistic in a worker: the loss falls, the chart holds 50 points, the losses are the CLI\'s', async () => {
    await setSpec(FIXED);
    await page.selectOption('#problem', 'logistic');
    await page.selectOption('#backend', 'wasm');
    await page.fill('#steps', '50');
    await page.fill('#seed', '0');
    await page.fill('#batch', '100');
    await page.click('#train');
    await page.waitForSelector('body[data-training=done]', { timeout: 120_000 });
    expect(await page.getAttribute('#status-a', 'data-state'), (await page.textContent('#status-a')) ?? '').toBe('done');
    expect(await page.getAttribute('#chart-loss', 'data-points')).toBe('50');
    const [before, after] = ((await page.getAttribute('#status-a', 'data-tensors')) ?? '').split(' ').map(Number);
    expect(after, 'tensors in the worker before compiling / after the run').toBe(before);
    const losses = (await page.evaluate(() => (window as unknown as { geodesic: { losses(k: string): number[] } }).geodesic.losses('a'))) as number[];
    expect(losses).toHaveLength(50);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.8 * mean(losses.slice(0, 10)));
    await page.screenshot({ path: path.join(outDir, 'trained.png') });

    // the same spec, problem, seed and backend through the CLI (Node, the same portable code)
    const file = path.join(work, 'adam.optim');
    const log = path.join(work, 'adam.jsonl');
    writeFileSync(file, FIXED);
    const r = cli('train', file, '--problem', 'logistic', '--steps', '50', '--batch', '100', '--seed', '0', '--backend', 'wasm', '--log', log);
    expect(r.status, r.stderr).toBe(0);
    const cliLosses = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss: number }).filter((l) => l.type === 'step').map((l) => l.loss);
    expect(losses).toEqual(cliLosses);
    wasmLosses = losses;
  });

  it('selects webgl and webgpu like --backend: where the browser has one it trains the same losses within float32 tolerance, else it says so', async () => {
    await page.fill('#steps', '20');
    for (const backend of ['webgl', 'webgpu']) {
      await page.selectOption('#backend', backend);
      await page.click('#train');
      await page.waitForSelector('body[data-training=done]', { timeout: 120_000 });
      const state = await page.getAttribute('#status-a', 'data-state');
      const status = (await page.textContent('#status-a')) ?? '';
      if (state === 'error') {
        expect(status).toMatch(new RegExp(`^backend '${backend}' (is not available here|failed to initialise|is not loaded)`));
        continue;
      }
      expect(state, status).toBe('done');
      expect(status).toContain(`backend ${backend}`);
      const losses = (await page.evaluate(() => (window as unknown as { geodesic: { losses(k: string): number[] } }).geodesic.losses('a'))) as number[];
      expect(losses).toHaveLength(20);
      for (const [k, l] of losses.entries()) expect(Math.abs(l - wasmLosses[k]!), `${backend} step ${k}`).toBeLessThan(1e-4 * Math.abs(wasmLosses[k]!) + 1e-6);
    }
    await page.selectOption('#backend', 'wasm');
  });

  it('Stop ends a long run after the current step, and the page stays responsive meanwhile', async () => {
    await page.fill('#steps', '100000');
    await page.click('#train');
    await page.waitForFunction(() => (window as unknown as { geodesic: { points(k: string): number } }).geodesic.points('a') >= 5, null, { timeout: 60_000 });
    // the main thread answers while the worker trains
    const t0 = Date.now();
    expect(await page.evaluate(() => 1 + 1)).toBe(2);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await page.click('#stop');
    await page.waitForSelector('body[data-training=done]', { timeout: 60_000 });
    expect(await page.getAttribute('#status-a', 'data-state')).toBe('stopped');
    expect(await page.textContent('#status-a')).toMatch(/stopped after \d+ steps/);
  });

  it('trains two specs side by side on the same seed, and a link reopens the page as it was', async () => {
    await page.check('#compare');
    await page.fill('#steps', '20');
    await page.click('#train');
    await page.waitForSelector('body[data-training=done]', { timeout: 120_000 });
    expect(await page.getAttribute('#status-a', 'data-state')).toBe('done');
    expect(await page.getAttribute('#status-b', 'data-state'), (await page.textContent('#status-b')) ?? '').toBe('done');
    const runs = (await page.evaluate(() => {
      const g = (window as unknown as { geodesic: { losses(k: string): number[] } }).geodesic;
      return [g.losses('a'), g.losses('b')];
    })) as number[][];
    expect(runs[0]).toHaveLength(20);
    expect(runs[1]).toHaveLength(20);
    expect(runs[0]![0]).toBe(runs[1]![0]); // the same seed: the same initial parameters and first batch
    expect(runs[0]![19]).not.toBe(runs[1]![19]); // different optimizers (adam, sgd)
    expect(await page.textContent('#status-b')).toContain('sgd on logistic');
    // the hash holds both specs: a fresh page from the same URL shows them
    await page.waitForFunction(() => location.hash.includes('b='), null, { timeout: 5_000 });
    const url = page.url();
    const second = await context.newPage();
    second.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await second.goto(url);
    await second.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
    expect(await second.textContent('#editor-a .cm-content')).toContain('tikhonov(1e-7)');
    expect(await second.textContent('#editor-b .cm-content')).toContain('optimizer sgd');
    expect(await second.isChecked('#compare')).toBe(true);
    expect(await second.inputValue('#steps')).toBe('20');
    await second.close();
    await page.uncheck('#compare');
  });

  it('trains on the MNIST subset shipped with the page, with the CLI\'s numbers', async () => {
    await setSpec(FIXED);
    await page.selectOption('#problem', 'mnist-subset');
    await page.selectOption('#backend', 'wasm');
    await page.fill('#steps', '10');
    await page.fill('#batch', '50');
    await page.click('#train');
    await page.waitForSelector('body[data-training=done]', { timeout: 120_000 });
    expect(await page.getAttribute('#status-a', 'data-state'), (await page.textContent('#status-a')) ?? '').toBe('done');
    expect(await page.textContent('#status-a')).toContain('on mnist-subset (600 train / 200 test)');
    const losses = (await page.evaluate(() => (window as unknown as { geodesic: { losses(k: string): number[] } }).geodesic.losses('a'))) as number[];
    const file = path.join(work, 'adam-mnist.optim');
    const log = path.join(work, 'adam-mnist.jsonl');
    writeFileSync(file, FIXED);
    const r = cli('train', file, '--problem', 'mnist-subset', '--steps', '10', '--batch', '50', '--seed', '0', '--backend', 'wasm', '--log', log);
    expect(r.status, r.stderr).toBe(0);
    const cliLosses = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss: number }).filter((l) => l.type === 'step').map((l) => l.loss);
    expect(losses).toEqual(cliLosses);
    await page.selectOption('#problem', 'logistic');
    await page.fill('#batch', '100');
  });

  it('runs Prove on sgd: invariance fails, with a shrunk counterexample', async () => {
    await page.selectOption('#example', 'sgd');
    await page.waitForFunction(() => document.querySelector('#editor-a .cm-content')?.textContent?.includes('optimizer sgd') === true, null, { timeout: 10_000 });
    await page.selectOption('#family', 'linear');
    await page.click('#prove');
    await page.waitForFunction(() => ['pass', 'fail', 'error'].includes(document.getElementById('prove-output')?.dataset['state'] ?? ''), null, { timeout: 120_000 });
    const out = (await page.textContent('#prove-output')) ?? '';
    expect(await page.getAttribute('#prove-output', 'data-state'), out).toBe('fail');
    expect(out).toContain('sgd: invariance under linear');
    expect(out).toMatch(/FAIL \s*\(\d+ cases evaluated/);
    expect(out).toContain('counterexample (shrunk):');
    expect(out).toMatch(/layer 0: θ = T·φ/);
    await page.screenshot({ path: path.join(outDir, 'prove.png'), fullPage: true });
  });

  it('shipped the MNIST subset it claims, and logged no console errors', async () => {
    const n = (name: string) => new DataView(new Uint8Array(readFileSync(path.join('dist/playground/mnist', name))).buffer).getUint32(4, false);
    expect(n('train-images-idx3-ubyte')).toBe(MNIST_SUBSET.train);
    expect(n('t10k-labels-idx1-ubyte')).toBe(MNIST_SUBSET.test);
    expect(consoleErrors).toEqual([]);
  });
});
