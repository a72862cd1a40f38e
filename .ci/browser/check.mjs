// Real-browser check of the static report written by `ember compare`.
//
//   node .ci/browser/check.mjs REPORT_DIR SCREENSHOT_PATH
//
// Opens file://<REPORT_DIR>/index.html in Debian's headless Chromium (driven by
// playwright-core; no browser is ever downloaded) and exits 1, listing every
// problem, if the page logs a console error, throws, requests anything that is
// not a file: or data: URL inside REPORT_DIR (the report must work offline), a
// request fails, there is no `table#metrics` with at least one body row, there
// are no images, or any <img> did not load. Always saves a full-page
// screenshot to SCREENSHOT_PATH when the page could be opened.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TIMEOUT_MS = 30_000;
const WATCHDOG_MS = 120_000;
const EXECUTABLE = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function usage(msg) {
  console.error(`check.mjs: ${msg}`);
  console.error('usage: node .ci/browser/check.mjs REPORT_DIR SCREENSHOT_PATH');
  process.exit(2);
}

const [reportArg, shotArg] = process.argv.slice(2);
if (!reportArg || !shotArg) usage('missing arguments');
if (!fs.existsSync(reportArg) || !fs.statSync(reportArg).isDirectory()) {
  usage(`REPORT_DIR is not a directory: ${reportArg}`);
}
const reportDir = fs.realpathSync(reportArg);
const indexPath = path.join(reportDir, 'index.html');
if (!fs.existsSync(indexPath)) {
  console.error(`FAIL: ${indexPath} does not exist`);
  process.exit(1);
}
const shotPath = path.resolve(shotArg);
const pageUrl = pathToFileURL(indexPath).href;

const short = (s, n = 100) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

const problems = [];
const problem = (msg) => {
  problems.push(msg);
};

// A local URL is fine only if it stays inside the report directory.
function checkUrl(url, what) {
  let u;
  try {
    u = new URL(url);
  } catch {
    problem(`${what} with unparsable URL: ${short(url)}`);
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  if (u.protocol === 'file:') {
    const rel = path.relative(reportDir, fileURLToPath(u));
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      problem(`${what} outside the report directory (not self-contained): ${short(url)}`);
      return false;
    }
    return true;
  }
  problem(`${what} to the network (page must be offline): ${short(url)}`);
  return false;
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: browser check did not finish within ${WATCHDOG_MS / 1000} s`);
  process.exit(1);
}, WATCHDOG_MS);

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ember-report-check-'));
let context;
let exitCode = 0;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: EXECUTABLE,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: TIMEOUT_MS,
    viewport: { width: 1280, height: 900 },
    offline: true,
    javaScriptEnabled: true, // so inline scripts' errors are caught, not hidden
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);

  // Anything that would leave the machine is recorded and aborted at once.
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    const proto = url.slice(0, url.indexOf(':') + 1);
    if (['file:', 'data:', 'blob:', 'about:'].includes(proto)) await route.continue();
    else await route.abort('blockedbyclient');
  });
  context.on('request', (req) => checkUrl(req.url(), `request (${req.resourceType()})`));
  context.on('requestfailed', (req) => {
    problem(`request failed (${req.failure()?.errorText ?? 'unknown error'}): ${short(req.url())}`);
  });

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      const where = loc?.url ? ` (${short(loc.url, 60)}:${loc.lineNumber})` : '';
      problem(`console error: ${msg.text()}${where}`);
    }
  });
  page.on('pageerror', (err) => problem(`page error: ${err.message}`));
  page.on('websocket', (ws) => problem(`websocket opened (page must be offline): ${ws.url()}`));

  const resp = await page.goto(pageUrl, { waitUntil: 'load', timeout: TIMEOUT_MS });
  if (resp && !resp.ok()) problem(`index.html answered status ${resp.status()}`);

  // Make lazy images load, then wait (bounded) until every <img> has settled.
  await page.evaluate(async (timeoutMs) => {
    const imgs = Array.from(document.images);
    for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
    await Promise.race([
      Promise.all(
        imgs.map((img) =>
          img.complete
            ? null
            : new Promise((res) => {
                img.addEventListener('load', res, { once: true });
                img.addEventListener('error', res, { once: true });
              }),
        ),
      ),
      new Promise((res) => setTimeout(res, timeoutMs)),
    ]);
  }, TIMEOUT_MS / 2);

  const info = await page.evaluate(() => {
    const table = document.querySelector('table#metrics');
    let bodyRows = 0;
    let cols = 0;
    if (table) {
      const rows = Array.from(table.tBodies).flatMap((tb) => Array.from(tb.rows));
      const dataRows = rows.filter((r) => r.querySelector('td'));
      bodyRows = dataRows.length;
      cols = dataRows[0]?.cells.length ?? 0;
    }
    const images = Array.from(document.images).map((img) => ({
      src: img.getAttribute('src') ?? '',
      currentSrc: img.currentSrc,
      alt: img.getAttribute('alt'),
      complete: img.complete,
      w: img.naturalWidth,
      h: img.naturalHeight,
    }));
    return { title: document.title, hasTable: !!table, bodyRows, cols, images };
  });

  if (!info.hasTable) problem('no <table id="metrics"> on the page');
  else if (info.bodyRows < 1) problem('table#metrics has no body rows (no <tr> with <td> in a <tbody>)');
  if (info.images.length === 0) problem('the page has no <img> at all');
  info.images.forEach((img, i) => {
    if (!(img.complete && img.w > 0)) {
      problem(
        `image #${i + 1} did not load: src=${JSON.stringify(short(img.src, 80))} ` +
          `alt=${JSON.stringify(img.alt)} (complete=${img.complete}, naturalWidth=${img.w})`,
      );
    }
  });

  console.log(`report:  ${pageUrl}`);
  console.log(`title:   ${JSON.stringify(info.title)}`);
  console.log(`metrics: ${info.hasTable ? `${info.bodyRows} body rows x ${info.cols} columns` : 'missing'}`);
  console.log(`images:  ${info.images.length}`);
  info.images.forEach((img, i) => {
    const kind = img.src.startsWith('data:') ? 'inline data:' : short(img.src, 80);
    const status = img.complete && img.w > 0 ? `${img.w}x${img.h}` : 'NOT LOADED';
    console.log(`  #${i + 1} ${status}  ${kind}${img.alt ? `  alt=${JSON.stringify(img.alt)}` : ''}`);
  });

  fs.mkdirSync(path.dirname(shotPath), { recursive: true });
  await page.screenshot({ path: shotPath, fullPage: true, timeout: TIMEOUT_MS });
  console.log(`screenshot: ${shotPath}`);
} catch (err) {
  problem(`browser check crashed: ${err?.stack ?? err}`);
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

const unique = [...new Set(problems)];
if (unique.length) {
  console.error(`\nFAIL: ${unique.length} problem(s) in ${pageUrl}:`);
  for (const p of unique) console.error(`  - ${p}`);
  exitCode = 1;
} else {
  console.log('OK: report renders offline with metrics table and all images loaded');
}
process.exit(exitCode);
