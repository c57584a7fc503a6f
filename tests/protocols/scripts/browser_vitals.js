// Source: grafana/k6 examples/browser/evaluate.js at commit 87883075ccd5e3d3fb961a860b3d6e422bbc353b
// Licence: GNU AGPL-3.0-only (grafana/k6 LICENSE.md). Copyright Grafana Labs and contributors.
// Changed: the pages are the demo target's shop (BASE/app/) and a page that does not
// exist (a failed browser request), instead of quickpizza.grafana.com; a click on the
// heading (an interaction: FID; k6 v1.1.0 reported no INP for it here) before the page
// is left for the next one (k6 reports CLS when a page is hidden); k6's own `check` on the values
// evaluate() returned (the example imports the k6-utils jslib over the network);
// 3 iterations; thresholds on submetrics so that k6's --summary-export carries
// per-page figures.
import { browser } from 'k6/browser';
import { check, fail } from 'k6';

const APP = `${__ENV.BASE}/app/`;

export const options = {
  scenarios: {
    ui: {
      executor: 'shared-iterations',
      iterations: 3,
      options: {
        browser: {
            type: 'chromium',
        },
      },
    },
  },
  thresholds: {
    checks: ["rate==1.0"],
    [`browser_web_vital_fcp{url:${APP}}`]: ['p(75)<10000'],
    [`browser_web_vital_lcp{url:${APP}}`]: ['p(75)<10000'],
    [`browser_web_vital_ttfb{url:${APP}}`]: ['p(75)<10000'],
    [`browser_http_req_duration{url:${APP}}`]: ['p(95)<10000'],
    [`browser_http_req_failed{url:${APP}missing}`]: ['rate>0'],
  }
}

export default async function() {
  const context = await browser.newContext();
  const page = await context.newPage();

  try {
    await page.goto(APP, { waitUntil: "load" });
    await page.locator('h1').click();

    // calling evaluate without arguments
    const n = await page.evaluate(() => 5 * 42);
    // calling evaluate with arguments
    const m = await page.evaluate((x, y) => x * y, 5, 5);
    check(n, { 'result should be 210': (v) => v == 210 });
    check(m, { 'result should be 25': (v) => v == 25 });

    await page.goto(`${__ENV.BASE}/app/missing`, { waitUntil: "load" });
  } catch (error) {
    fail(`Browser iteration failed: ${error.message}`);
  } finally {
    await page.close();
  }
}
