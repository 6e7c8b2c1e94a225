// One's own account page: changing one's password (PUT /api/me/password) and making and revoking API
// tokens (/api/me/tokens). The person is `account` (account@acme.test), kept for these tests alone: they
// change its password and tokens.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, launchChromium, people, screenshot, signIn, url, whoAmI } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
  await signIn(browser.page, 'account');
});
after(async () => {
  await browser?.close();
});

test('account: the page shows who is signed in and their organisation', async () => {
  const page = browser.page;
  await page.goto(url('/account'));
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your account');
  assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${people.account.email.replace('.', '\\.')}`));
  assert.match(await page.locator('main').innerText(), /acme: org_user/);
  await screenshot(page, 'account');
});

test('account: the password changes through the form, and the new one signs in', async () => {
  const page = browser.page;
  await page.goto(url('/account'));
  const changed = `${people.account.password}-changed`;
  await page.getByLabel('Current password').fill(people.account.password);
  await page.getByLabel(/^New password/).fill(changed);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url() === url('/api/me/password')),
    page.getByRole('button', { name: 'Change password' }).click(),
  ]);
  assert.ok(answer.status() < 300, `PUT /api/me/password: HTTP ${answer.status()}`);
  await page.locator('.form-done').filter({ hasText: 'Your password is changed.' }).waitFor({ timeout: 5_000 });
  await screenshot(page, 'account-password-changed');
  people.account.password = changed;

  // The new password signs in, in a browser of its own.
  const other = await launchChromium();
  try {
    await signIn(other.page, people.account);
    assert.equal((await whoAmI(other.page)).status, 200);
  } finally {
    await other.close();
  }
});

test('account: a token is made, shown once, works, and is revoked', async () => {
  const page = browser.page;
  await page.goto(url('/account'));
  const name = `browser-${Date.now().toString(36)}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel(/^Days it lasts/).fill('7');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url() === url('/api/me/tokens') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Make a token' }).click(),
  ]);
  assert.ok(answer.status() < 300, `POST /api/me/tokens: HTTP ${answer.status()}`);
  const shown = page.locator('[data-secret] output');
  await shown.filter({ hasText: /\S/ }).waitFor({ timeout: 5_000 });
  const token = (await shown.textContent()).trim();
  await screenshot(page, 'account-token-made');

  // The token acts for its person, from outside the browser (the server is on loopback).
  const asToken = () => fetch(`${BASE_URL}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await asToken()).status, 200, 'the token works');

  // After a reload it is listed (never shown again) and can be revoked, after a confirmation.
  await page.reload();
  assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(token), 'the token is shown once only');
  const row = page.locator('tr', { has: page.getByRole('rowheader', { name }) });
  assert.equal(await row.count(), 1, 'the token is listed');
  page.once('dialog', (dialog) => dialog.accept());
  await Promise.all([page.waitForEvent('load'), row.getByRole('button', { name: 'Revoke' }).click()]);
  assert.match(await page.locator('tr', { has: page.getByRole('rowheader', { name }) }).innerText(), /revoked/);
  assert.equal((await asToken()).status, 401, 'a revoked token no longer works');
});
