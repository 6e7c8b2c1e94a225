// Publishers in the browser: a publisher's page for anyone; an org owner claims it with evidence; the
// platform owner grants the claim and verifies the publisher on /admin/publishers, then revokes the
// verification; and a platform deprecation with its replacement, hidden from search by default and shown
// (with the replacement's link) when deprecated plugins are asked for, then lifted.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, people, screenshot, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

const NAMESPACE = '@bealers';

test('publishers: a claim made on the publisher page, granted and verified by the platform owner, then revoked', async () => {
  const anyone = (await browserFor(null)).page;
  await anyone.goto(url(`/publishers/${NAMESPACE}`));
  assert.match(await anyone.getByRole('heading', { level: 1 }).textContent(), /Publisher @bealers/);
  const main = anyone.locator('main');
  assert.match(await main.innerText(), /unclaimed/);
  assert.equal(await anyone.getByRole('link', { name: '@bealers/plugin-mattermost' }).count(), 1, 'its plugin is listed');
  assert.equal(await anyone.getByRole('link', { name: 'Sign in' }).count() >= 1, true);
  await screenshot(anyone, 'publisher-unclaimed');

  const owner = (await browserFor('owner')).page;
  await owner.goto(url(`/publishers/${NAMESPACE}`));
  await owner.getByLabel('Evidence').fill('My npm account maintains @bealers/plugin-mattermost; mail me at owner@acme.test');
  await Promise.all([owner.waitForEvent('load'), owner.getByRole('button', { name: `Claim ${NAMESPACE}` }).click()]);
  assert.match(await owner.locator('main').innerText(), /Your claim of .* is pending/);
  assert.equal(await owner.getByRole('button', { name: `Claim ${NAMESPACE}` }).count(), 0, 'no second claim while one waits');
  await screenshot(owner, 'publisher-claimed');

  const platform = (await browserFor('platform')).page;
  await platform.goto(url('/admin/publishers'));
  const row = platform.locator('#claims tbody tr', { hasText: people.owner.email });
  assert.equal(await row.count(), 1, 'the claim waits on the admin page');
  assert.match(await row.innerText(), /maintains @bealers\/plugin-mattermost/);
  await screenshot(platform, 'admin-publishers-claim');
  await row.getByLabel(/Note on granting/).fill('npm maintainers list checked');
  await Promise.all([platform.waitForEvent('load'), row.getByRole('button', { name: 'Grant' }).click()]);
  assert.match(await platform.locator('#claims').innerText(), /None waiting/);
  const held = platform.locator('#verification tbody tr', { hasText: NAMESPACE });
  await held.getByLabel(`Note on verifying ${NAMESPACE}`).fill('domain email answered');
  await Promise.all([platform.waitForEvent('load'), held.getByRole('button', { name: 'Verify' }).click()]);
  assert.match(await platform.locator('#verification tbody tr', { hasText: NAMESPACE }).innerText(), /since \d{4}-\d\d-\d\d/);

  await anyone.goto(url(`/publishers/${NAMESPACE}`));
  const heading = await anyone.getByRole('heading', { level: 1 }).innerText();
  assert.match(heading, /verified/);
  assert.match(heading, /held/);
  assert.match(await anyone.locator('main').innerText(), /held by Olga Owner/);
  await screenshot(anyone, 'publisher-verified');
  await owner.goto(url(`/publishers/${NAMESPACE}`));
  assert.match(await owner.locator('main').innerText(), /You hold this publisher/);

  // Revoked: still held, no longer verified.
  platform.once('dialog', (dialog) => dialog.accept());
  await Promise.all([
    platform.waitForEvent('load'),
    platform.locator('#verification tbody tr', { hasText: NAMESPACE }).getByRole('button', { name: 'Revoke verification' }).click(),
  ]);
  await anyone.goto(url(`/publishers/${NAMESPACE}`));
  const after = await anyone.getByRole('heading', { level: 1 }).innerText();
  assert.doesNotMatch(after, /verified/);
  assert.match(after, /held/);
});

test('publishers: a platform deprecation names its replacement and leaves default search until lifted', async () => {
  const PLUGIN = '@fixture/plugin-echo-model';
  const REPLACEMENT = '@fixture/plugin-hello';
  const platform = (await browserFor('platform')).page;
  await platform.goto(url('/admin/publishers'));
  await platform.getByLabel('Plugin', { exact: true }).fill(PLUGIN);
  await platform.getByLabel('Reason').fill('Superseded by the hello fixture');
  await platform.getByLabel(/^Replacement/).fill(REPLACEMENT);
  await Promise.all([platform.waitForEvent('load'), platform.getByRole('button', { name: 'Deprecate' }).click()]);
  assert.equal(await platform.locator('#deprecations tbody tr', { hasText: PLUGIN }).count(), 1);

  const anyone = (await browserFor(null)).page;
  await anyone.goto(url('/plugins?q=echo'));
  assert.equal(await anyone.getByRole('link', { name: PLUGIN, exact: true }).count(), 0, 'hidden from default search');
  await anyone.goto(url('/plugins?q=echo&deprecated=any'));
  const card = anyone.locator('li.card', { has: anyone.getByRole('link', { name: PLUGIN, exact: true }) });
  assert.equal(await card.count(), 1, 'shown when deprecated plugins are asked for');
  assert.match(await card.innerText(), /deprecated/);
  assert.equal(await card.getByRole('link', { name: REPLACEMENT }).getAttribute('href'), `/plugins/${REPLACEMENT}`);
  await screenshot(anyone, 'search-deprecated-replacement');
  await anyone.goto(url(`/plugins/${PLUGIN}`));
  assert.match(await anyone.locator('.plugin-head').innerText(), /Superseded by the hello fixture.*Use @fixture\/plugin-hello instead/s);

  // Lifted: back in default search (the other browser tests search the catalogue as it was).
  await platform.goto(url('/admin/publishers'));
  await Promise.all([
    platform.waitForEvent('load'),
    platform.locator('#deprecations tbody tr', { hasText: PLUGIN }).getByRole('button', { name: 'Lift' }).click(),
  ]);
  await anyone.goto(url('/plugins?q=echo'));
  assert.equal(await anyone.getByRole('link', { name: PLUGIN, exact: true }).count(), 1, 'back in default search');
});
