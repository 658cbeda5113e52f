import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { fixedClock } from '../../src/clock.ts';
import { startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Every operation the page shows, scrolling it top to bottom. Swagger UI (≥ 5.3x) virtualizes the operations list once
 * it holds 150 rows (tags + operations): only the rows near the viewport are in the DOM, so counting `.opblock` once
 * sees a screenful (the "7 of 153" of the last session). Scrolling is what a reader does, and every row must appear.
 */
async function operationsListed(page: Page): Promise<{ ops: string[]; virtualized: boolean }> {
  const seen = new Set<string>();
  const virtualized = (await page.$('.operations-virtual')) !== null;
  for (let step = 0; step < 2_000; step++) {
    const ops = await page.$$eval('.opblock-summary', (els) => els.map((e) => {
      const method = e.querySelector('.opblock-summary-method')?.textContent?.trim().toLowerCase();
      const path = e.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? e.querySelector('.opblock-summary-path')?.textContent?.trim();
      return `${method} ${path?.replace(/\u200b/g, '')}`;
    }));
    for (const op of ops) seen.add(op);
    // Strings, not functions: the tests compile without the DOM library.
    const atBottom = await page.evaluate<boolean>(`(() => {
      const before = window.scrollY;
      window.scrollBy(0, Math.floor(window.innerHeight * 0.75));
      return window.scrollY === before && window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
    })()`);
    // Let the virtualizer mount the rows that scrolled in (two frames).
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    if (atBottom) break;
  }
  return { ops: [...seen], virtualized };
}

describe('Swagger UI at /docs/api in headless Chromium', function () {
  this.timeout(180_000);
  let service: Awaited<ReturnType<typeof startTestService>>;
  let browser: Browser | undefined;
  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip(); // Debian's chromium package (apt-get install -y chromium)
    service = await startTestService((await databaseKinds())[0]!, fixedClock(new Date('2026-12-01T12:00:00Z')));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => { await browser?.close(); await service?.stop(); });

  it('loads and lists every operation of /docs/api-json', async () => {
    // Compared with the served document, not a fixed list: a route anyone adds joins both or this fails.
    const doc = await (await fetch(`${service.url}/docs/api-json`)).json() as { paths: Record<string, Record<string, unknown>> };
    const expected = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m} ${path}`));
    expect(expected.length).to.be.greaterThan(100);

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !/favicon/.test(m.location().url)) errors.push(m.text()); });
    await page.goto(`${service.url}/docs/api`);
    await page.waitForSelector('.opblock', { timeout: 60_000 });
    expect(await page.title()).to.contain('Mobile-proxy marketplace API');

    const { ops, virtualized } = await operationsListed(page);
    const missing = expected.filter((op) => !ops.includes(op));
    const extra = ops.filter((op) => !expected.includes(op));
    expect({ missing, extra }).to.deep.equal({ missing: [], extra: [] }, `${ops.length} listed of ${expected.length} (virtualized list: ${virtualized})`);
    expect(errors).to.deep.equal([]);
    expect(failed).to.deep.equal([]);
  });
});
