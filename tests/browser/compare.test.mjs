// Comparing plugins in the browser: ticked in the search results and compared side by side; from a
// plugin's page to the comparison; and more than three refused with a page that says what to do.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, screenshot, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

test('compare: plugins ticked in the search results, side by side', async () => {
  const { page } = await browserFor(null);
  await page.goto(url('/plugins?q=fixture'));
  for (const name of ['@fixture/plugin-hello', '@fixture/plugin-echo-model']) {
    const card = page.locator('li.card', { has: page.getByRole('link', { name, exact: true }) });
    await card.getByLabel('Compare').check();
  }
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: /Compare the ones ticked/ }).click()]);
  assert.equal(new URL(page.url()).pathname, '/compare');
  const heads = await page.locator('table.compare thead th').allInnerTexts();
  assert.deepEqual(heads.slice(1).sort(), ['@fixture/plugin-echo-model', '@fixture/plugin-hello']);
  const rows = await page.locator('table.compare tbody th').allInnerTexts();
  for (const row of ['Latest version', 'Works with core', 'Settings', 'Permissions', 'Findings and risk', 'Package size', 'Dependencies', 'Publisher', 'Rating', 'Reputation']) {
    assert.ok(rows.includes(row), `${row} in ${rows.join(', ')}`);
  }
  // The fixtures were analysed: their risk is in the table; figures plughub cannot give yet say so.
  const risk = await page.locator('table.compare tbody tr', { hasText: 'Findings and risk' }).innerText();
  assert.match(risk, /risk \d+\/100/);
  const rating = await page.locator('table.compare tbody tr', { hasText: 'Rating' }).innerText();
  assert.match(rating, /not available yet/);
  await screenshot(page, 'compare');
});

test("compare: from a plugin's page, and more than three refused", async () => {
  const { page } = await browserFor(null);
  await page.goto(url('/plugins/@fixture/plugin-hello'));
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Compare with others' }).click()]);
  assert.equal(await page.locator('table.compare thead th').count(), 2, 'the plugin, then others to add');
  await page.getByLabel('Plugins to compare').fill('@fixture/plugin-hello, @fixture/plugin-echo-model, @fixture/plugin-hostile-readme');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Compare', exact: true }).click()]);
  assert.equal(await page.locator('table.compare thead th').count(), 4);

  const answer = await page.goto(url('/compare?plugins=a,b,c,d'));
  assert.equal(answer.status(), 400);
  assert.match(await page.locator('main').innerText(), /1 to 3 plugins/);
  const unknown = await page.goto(url('/compare?plugins=@fixture/plugin-hello,no-such-plugin-anywhere'));
  assert.equal(unknown.status(), 404);
  assert.match(await page.locator('main').innerText(), /no-such-plugin-anywhere/);
});
