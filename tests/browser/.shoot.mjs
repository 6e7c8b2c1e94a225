import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from './helpers.mjs';
const base = process.env.BASE_URL;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
const [, , who, ...paths] = process.argv;
if (who !== 'anon') {
  await page.goto(base + '/login');
  await page.fill('#email', who);
  await page.fill('#password', process.env.PW ?? 'a long enough password');
  await Promise.all([page.waitForURL('**/plugins'), page.click('button.primary')]);
}
for (const p of paths) {
  const r = await page.goto(base + p);
  const name = p.replace(/[^a-z0-9]+/gi, '_');
  await page.screenshot({ path: `/tmp/shots/${name}.png`, fullPage: false });
  console.log(p, r.status());
}
console.log('errors', errors);
await browser.close();
