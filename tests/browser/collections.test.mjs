// Collections in the browser: the starting ones for anyone, one opened with its plugins in order and a
// way to compare them; a collection the platform owner makes for acme alone, seen by acme's people and by
// nobody else (its page does not exist for them).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, screenshot, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

test('collections: the starting collections, one opened, and a way from it to the comparison', async () => {
  const { page } = await browserFor(null);
  await page.goto(url('/collections'));
  for (const title of ['Model providers', 'Social connectors', 'DeFi and wallets', 'Knowledge and memory']) {
    assert.equal(await page.getByRole('link', { name: title }).count(), 1, title);
  }
  await screenshot(page, 'collections');
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Model providers' }).click()]);
  assert.equal(new URL(page.url()).pathname, '/collections/model-providers');
  const listed = await page.locator('ol.cards h2').allInnerTexts();
  assert.equal(listed[0].split(' ')[0], '@elizaos/plugin-openai', 'in the curator order');
  assert.ok(listed.some((n) => n.startsWith('@elizaos/plugin-anthropic')), listed.join(', '));
  await screenshot(page, 'collection');
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: /Compare the first/ }).click()]);
  assert.equal(new URL(page.url()).pathname, '/compare');
  assert.equal(await page.locator('table.compare thead th').count(), 4, 'three plugins and the row headers');
});

test('collections: one for acme alone shows to its members and to nobody else', async () => {
  const platform = (await browserFor('platform')).page;
  await platform.goto(url('/admin/publishers'));
  await platform.getByLabel(/^Slug/).fill('acme-picks');
  await platform.getByLabel('Title').fill('Acme picks');
  await platform.getByLabel('Description').fill('What acme runs');
  await platform.getByLabel(/^Plugins, in order/).fill('@fixture/plugin-hello, @elizaos/plugin-discord');
  await platform.getByLabel('For one organisation only').selectOption('acme');
  await Promise.all([platform.waitForEvent('load'), platform.getByRole('button', { name: 'Save the collection' }).click()]);
  assert.match(await platform.locator('#collections').innerText(), /Acme picks.*for acme/s);

  const member = (await browserFor('user')).page;
  await member.goto(url('/collections'));
  assert.equal(await member.getByRole('link', { name: 'Acme picks' }).count(), 1, "acme's user sees it");
  await member.goto(url('/collections/acme-picks'));
  assert.deepEqual(
    (await member.locator('ol.cards h2').allInnerTexts()).map((t) => t.split(' ')[0]),
    ['@fixture/plugin-hello', '@elizaos/plugin-discord'],
  );
  await screenshot(member, 'collection-organisation');

  const outsider = (await browserFor(null)).page;
  await outsider.goto(url('/collections'));
  assert.equal(await outsider.getByRole('link', { name: 'Acme picks' }).count(), 0, 'nobody else sees it');
  const answer = await outsider.goto(url('/collections/acme-picks'));
  assert.equal(answer.status(), 404);
  assert.doesNotMatch(await outsider.locator('main').innerText(), /plugin-hello|What acme runs/);
});
