// Render an HTML file to a full-page PNG in headless Chromium (used by tools/report_screenshot.py):
//   node tools/report_screenshot.cjs CACHE_DIR page.html out.png [width]
// CACHE_DIR holds the npm packages @sparticuz/chromium (a compressed headless Chromium) and puppeteer-core
// (`make screenshot-deps`). Prints {"width": ..., "height": ...} of the page as JSON.
const path = require('path');
const { createRequire } = require('module');
const { pathToFileURL } = require('url');

const [cache, page, out, w] = process.argv.slice(2);
if (!cache || !page || !out) { console.error('usage: node report_screenshot.cjs CACHE_DIR page.html out.png [width]'); process.exit(2); }
const req = createRequire(path.join(path.resolve(cache), 'package.json'));
const chromiumModule = req('@sparticuz/chromium');
const chromium = chromiumModule.default || chromiumModule;
const puppeteer = req('puppeteer-core');
const width = Number(w) || 1100;

(async () => {
  const browser = await puppeteer.launch({ args: chromium.args, executablePath: await chromium.executablePath(),
                                           headless: 'shell', defaultViewport: { width, height: 900 } });
  try {
    const tab = await browser.newPage();
    await tab.goto(pathToFileURL(path.resolve(page)).href, { waitUntil: 'load' });
    await tab.screenshot({ path: out, fullPage: true });
    const height = await tab.evaluate(() => document.documentElement.scrollHeight);
    console.log(JSON.stringify({ width, height }));
  } finally { await browser.close(); }
})().catch(e => { console.error(String((e && e.stack) || e)); process.exit(1); });
