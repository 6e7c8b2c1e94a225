// Which plugins run on plughub, in the browser: the compatibility page (totals, failures by cause with
// whose fault, grants needed, the registry, the JSON export) reached from the catalogue, the catalogue's
// "Runs on plughub" filter and its badges, and a plugin's trials on its page. The set-up
// (scripts/browser-tests.sh) runs `plughub compat run` over five fixtures in the OS sandbox:
// @fixture/plugin-hello and plugin-echo-model init, plugin-compat-limit stops at the sandbox's open-file
// limit, plugin-compat-markup's message is markup that must show as text, plugin-compat-launcher needs to
// run Chromium.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, screenshot, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

test('compatibility: from the catalogue to the page, totals and failures by cause, then a failing plugin', async () => {
  const { page } = await browserFor(null);
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(url('/plugins'));
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Which plugins run on plughub' }).click()]);
  assert.equal(new URL(page.url()).pathname, '/plugins/compatibility');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Which plugins run on plughub');

  const plughub = await page.locator('tr[data-totals="plughub"] td').allInnerTexts();
  assert.deepEqual(plughub, ['5', '5', '5', '2'], 'tried, installed, loaded, inited under plughub');
  const npm = await page.locator('tr[data-totals="npm"] td').allInnerTexts();
  assert.deepEqual(npm.slice(0, 3), ['5', '5', '5'], 'tried, installed, loaded under plain npm');
  const registries = await page.locator('[data-registry]').allInnerTexts();
  assert.equal(registries.length, 1);
  assert.match(registries[0], /^http:\/\/127\.0\.0\.1:\d+/, 'the loopback registry the set-up tried against');

  const limit = page.locator('tr[data-cause="sandbox_limit"]');
  assert.match(await limit.innerText(), /hit a sandbox limit[\s\S]*init[\s\S]*plughub's[\s\S]*@fixture\/plugin-compat-limit 1\.0\.0/);
  const needs = await page.locator('li[data-need="process.spawn:chromium"]').innerText();
  assert.match(needs, /@fixture\/plugin-compat-launcher/);
  // A plugin's own words are text, never markup.
  const hostile = page.locator('tr[data-cause="init_failed"]');
  await hostile.locator('summary').click();
  assert.match(await hostile.locator('pre').innerText(), /<img src=x onerror=alert\(1\)>/);
  assert.deepEqual(dialogs, []);
  await screenshot(page, 'compatibility');

  // The JSON export the page links to: the same figures.
  const exported = await page.evaluate(async () => (await fetch('/api/catalog/compatibility')).json());
  assert.equal(exported.totals.tried, 5);
  assert.equal(exported.totals.inited, 2);
  assert.deepEqual(exported.causes.map((c) => c.cause).sort(), ['init_failed', 'needs_program', 'sandbox_limit']);

  // From the failure to the plugin's trials.
  await Promise.all([page.waitForEvent('load'), limit.getByRole('link', { name: '@fixture/plugin-compat-limit' }).click()]);
  assert.equal(new URL(page.url()).pathname, '/plugins/@fixture/plugin-compat-limit');
  const row = await page.locator('#trials tr[data-trial="1.0.0"]').innerText();
  assert.match(row, /fails at init/);
  assert.match(row, /hit a sandbox limit \(plughub's\)/);
  assert.match(row, /loaded/, 'plain npm loaded it');
  await page.locator('#trials').scrollIntoViewIfNeeded();
  await screenshot(page, 'compatibility-detail');
});

test('compatibility: the catalogue filters by "Runs on plughub" and badges each hit', async () => {
  const { page } = await browserFor(null);
  await page.goto(url('/plugins?q=fixture'));
  await page.getByLabel('Runs on plughub').selectOption('yes');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Apply' }).click()]);
  assert.equal(new URL(page.url()).searchParams.get('runs'), 'yes');
  const running = await page.locator('li.card h2').allInnerTexts();
  assert.deepEqual(running.sort(), ['@fixture/plugin-echo-model', '@fixture/plugin-hello']);
  assert.match(await page.locator('li.card').first().innerText(), /runs on plughub/);

  await page.goto(url('/plugins?q=fixture&runs=no'));
  const failing = page.locator('li.card', { has: page.getByRole('link', { name: '@fixture/plugin-compat-limit', exact: true }) });
  assert.match(await failing.innerText(), /fails at init: hit a sandbox limit/);
  await screenshot(page, 'compatibility-search');

  await page.goto(url('/plugins?runs=untried'));
  const untried = await page.locator('li.card').first().innerText();
  assert.match(untried, /untried/);
});
