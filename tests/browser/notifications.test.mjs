// Updates and notifications in the pages. The fixture @fixture/plugin-hello 1.0.0 is installed; the
// loopback registry has 1.0.1 (scripts/browser-tests.sh), so the installed page shows an update badge,
// which opens the changelog page (the fixture has no CHANGELOG.md: the versions and their dates), with
// the one-click update and rollback. A platform owner's update check tells acme's members: the header's
// unread count and the notifications page, marked read there. The webhooks page makes a webhook (its
// secret shown once; the server allows loopback targets), lists it and deletes it; an org_user is refused.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ORG,
  browsersByPerson,
  checkAccessibility,
  csrfToken,
  fetchFromPage,
  screenshot,
  uninstallIfInstalled,
  url,
} from './helpers.mjs';

const PLUGIN = '@fixture/plugin-hello';
const OLD = '1.0.0';
const NEW = '1.0.1';
const installed = `/plugins/installed?org=${ORG}`;
const people = browsersByPerson();

/** The plugin's section on the installed page. */
const instance = (page) => page.locator(`section.instance[data-plugin="${PLUGIN}"]`);

/** Presses `button` of a form whose answer sends the browser to another page (or reloads it). */
async function submitAndLand(page, button) {
  const error = button.locator('xpath=ancestor::form').locator('.form-error');
  const loaded = page.waitForEvent('load', { timeout: 90_000 }).then(() => null);
  await button.click();
  const failed = error
    .filter({ hasText: /\S/ })
    .waitFor({ timeout: 90_000 })
    .then(() => error.textContent())
    .catch(() => null);
  const said = await Promise.race([loaded, failed]);
  if (said) throw new Error(`the form answered: ${said}`);
}

before(async () => {
  const { page } = await people.browserFor('owner');
  await page.goto(url(installed));
  await uninstallIfInstalled(page, PLUGIN);
  const made = await fetchFromPage(page, 'POST', `/api/orgs/${ORG}/plugins`, {
    body: { plugin: `${PLUGIN}@${OLD}`, grant: true },
    token: await csrfToken(page),
  });
  assert.equal(made.status, 201, `installing ${PLUGIN}@${OLD}: ${JSON.stringify(made.body)}`);
});
after(async () => {
  const { page } = await people.browserFor('owner');
  await page.goto(url(installed));
  await uninstallIfInstalled(page, PLUGIN);
  await people.close();
});

test('the update badge opens the changelog, with the update and the rollback', async () => {
  const { page } = await people.browserFor('owner');
  await page.goto(url(installed));
  const badge = instance(page).locator('a[data-update-badge]');
  assert.match(await badge.textContent(), new RegExp(`update: ${NEW.replaceAll('.', '\\.')}`));
  await Promise.all([page.waitForURL((u) => u.pathname === '/plugins/changelog'), badge.click()]);
  assert.equal(new URL(page.url()).searchParams.get('plugin'), PLUGIN);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `${PLUGIN}: ${OLD} → ${NEW}`);
  const versions = page.locator('table.versions');
  assert.equal(await versions.getByRole('cell', { name: NEW, exact: true }).count(), 1, 'the version after the installed one');
  assert.equal(await versions.getByRole('cell', { name: OLD, exact: true }).count(), 0, 'not the installed one');
  assert.match(await page.locator('main').textContent(), /no changelog for these versions/);
  await screenshot(page, 'changelog');
  await checkAccessibility(page, 'changelog');

  await submitAndLand(page, page.getByRole('button', { name: `Update to ${NEW}` }));
  assert.equal(new URL(page.url()).pathname, '/plugins/installed');
  assert.match(await instance(page).locator('.meta').textContent(), new RegExp(`Version ${NEW.replaceAll('.', '\\.')} .*previous ${OLD.replaceAll('.', '\\.')}`));
  assert.equal(await instance(page).locator('a[data-update-badge]').count(), 0, 'no badge once up to date');

  // The changelog page of an up-to-date plugin says so, and offers the way back.
  await page.goto(url(`/plugins/changelog?org=${ORG}&plugin=${encodeURIComponent(PLUGIN)}`));
  assert.match(await page.locator('main').textContent(), /is the newest version/);
  page.once('dialog', (dialog) => dialog.accept());
  await submitAndLand(page, page.getByRole('button', { name: `Roll back to ${OLD}` }));
  assert.match(await instance(page).locator('.meta').textContent(), new RegExp(`Version ${OLD.replaceAll('.', '\\.')}`));
});

test('an update notice shows in the header and on the notifications page, and is marked read there', async () => {
  const platform = (await people.browserFor('platform')).page;
  await platform.goto(url('/admin'));
  const check = await fetchFromPage(platform, 'POST', '/api/admin/updates/check', { token: await csrfToken(platform) });
  assert.equal(check.status, 200, JSON.stringify(check.body));

  const { page } = await people.browserFor('user');
  await page.goto(url('/plugins'));
  const unread = page.locator('header [data-unread]');
  assert.equal(await unread.count(), 1, 'the header shows the unread count');
  const before = Number((await unread.textContent()).match(/\d+/)[0]);
  assert.ok(before >= 1, `unread: ${before}`);
  await Promise.all([page.waitForURL((u) => u.pathname === '/notifications'), page.getByRole('link', { name: /^Notifications/ }).click()]);
  const notice = page.locator('li.unread[data-notification="update_available"]').filter({ hasText: `${PLUGIN} ${NEW} is available` });
  assert.equal(await notice.count(), 1, 'the update notice is listed, unread');
  assert.match(await notice.getByRole('link').getAttribute('href'), /^\/plugins\/changelog\?org=acme&plugin=/);
  await screenshot(page, 'notifications');
  await checkAccessibility(page, 'notifications');

  await submitAndLand(page, notice.getByRole('button', { name: 'Mark read' }));
  assert.equal(await page.locator('li.read[data-notification="update_available"]').filter({ hasText: `${PLUGIN} ${NEW}` }).count(), 1);
  const after = await page.locator('header [data-unread]').count() === 0 ? 0 : Number((await page.locator('header [data-unread]').textContent()).match(/\d+/)[0]);
  assert.equal(after, before - 1, 'one fewer unread');
  if (after > 0) await submitAndLand(page, page.getByRole('button', { name: /^Mark all read/ }));
  assert.equal(await page.locator('header [data-unread]').count(), 0, 'nothing unread');
  assert.equal(await page.locator('li.unread').count(), 0);
});

test('the webhooks page makes a webhook, shows its secret once, and deletes it; an org_user may not', async () => {
  const { page } = await people.browserFor('owner');
  await page.goto(url(`/plugins?org=${ORG}`));
  await Promise.all([page.waitForURL((u) => u.pathname === '/webhooks'), page.getByRole('link', { name: 'Webhooks' }).click()]);
  const target = 'http://127.0.0.1:9/plughub-browser-test';
  await page.getByLabel('URL').fill(target);
  await page.getByLabel('update available').check();
  await page.getByLabel('install failed').check();
  await page.getByRole('button', { name: 'Make the webhook' }).click();
  const secret = page.locator('[data-secret] output');
  await secret.waitFor();
  assert.match(await secret.textContent(), /^whsec_[0-9a-f]{64}$/, 'the secret, shown once');
  await screenshot(page, 'webhooks-secret');
  await page.reload();
  const hook = page.locator('section.webhook').filter({ hasText: target });
  assert.equal(await hook.count(), 1);
  assert.match(await hook.locator('.meta').textContent(), /Events: update_available, install_failed/);
  assert.equal(await page.locator('[data-secret] output').textContent(), '', 'not shown again');
  await screenshot(page, 'webhooks');
  await checkAccessibility(page, 'webhooks');
  page.once('dialog', (dialog) => dialog.accept());
  await submitAndLand(page, hook.getByRole('button', { name: 'Delete' }));
  assert.equal(await page.locator('section.webhook').filter({ hasText: target }).count(), 0, 'deleted');

  const user = (await people.browserFor('user')).page;
  await user.goto(url(`/plugins?org=${ORG}`));
  assert.equal(await user.getByRole('link', { name: 'Webhooks' }).count(), 0, 'no Webhooks link for an org_user');
  const refused = await user.goto(url(`/webhooks?org=${ORG}`));
  assert.equal(refused.status(), 403);
  assert.match(await user.locator('main').textContent(), /does not allow managing its webhooks/);
});
