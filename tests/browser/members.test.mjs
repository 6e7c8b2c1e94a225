// An organisation's members, as its owner manages them in /members: an invitation link made, opened by
// someone new in a browser of their own, who makes their account and joins; their role changed; then
// removed. And the platform owner's administration page: an organisation made and its plan changed, a
// token made for a person and shown once.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { BASE_URL, browsersByPerson, launchChromium, people, screenshot, url, whoAmI } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

/** The row of the members' table that names `email`. */
const memberRow = (page, email) => page.locator('tbody tr', { hasText: email });

test('members: an invitation link makes a newcomer a member, whose role is changed, then who is removed', async () => {
  const { page } = await browserFor('owner');
  await page.goto(url('/members?org=acme'));
  await page.getByLabel('Role', { exact: true }).selectOption('org_user');
  await page.getByRole('button', { name: 'Make the link' }).click();
  const shown = page.locator('[data-secret] output');
  await shown.filter({ hasText: /\/invitations\// }).waitFor({ timeout: 5_000 });
  const link = (await shown.textContent()).trim();
  assert.ok(link.startsWith(`${BASE_URL}/invitations/phi_`), link);
  await screenshot(page, 'members-invitation-made');

  // Someone new opens it in a browser of their own and makes their account.
  const email = `newcomer-${Date.now().toString(36)}@acme.test`;
  const newcomer = await launchChromium();
  try {
    await newcomer.page.goto(link);
    assert.match(await newcomer.page.getByRole('heading', { level: 1 }).textContent(), /Join acme/);
    await screenshot(newcomer.page, 'invitation');
    await newcomer.page.getByLabel('Email').fill(email);
    await newcomer.page.getByLabel('Your name').fill('Nia Newcomer');
    await newcomer.page.getByLabel(/^Password/).fill('a newcomer password, long enough');
    await Promise.all([
      newcomer.page.waitForURL((u) => u.pathname === '/plugins/installed', { timeout: 15_000 }),
      newcomer.page.getByRole('button', { name: 'Make my account and join' }).click(),
    ]);
    const me = await whoAmI(newcomer.page);
    assert.equal(me.body.email, email, 'signed in as the newcomer');
    assert.ok(me.body.memberships.some((m) => m.group === 'acme' && m.role === 'org_user'), JSON.stringify(me.body));

    // The link is used once.
    await newcomer.page.goto(link);
    assert.match(await newcomer.page.locator('main').innerText(), /new link/);
  } finally {
    await newcomer.close();
  }

  // The owner sees them, changes their role, then removes them.
  await page.goto(url('/members?org=acme'));
  const row = memberRow(page, email);
  assert.equal(await row.count(), 1, 'the newcomer is listed');
  await row.getByLabel(`Role of ${email}`).selectOption('customer');
  await Promise.all([page.waitForEvent('load'), row.getByRole('button', { name: 'Change role' }).click()]);
  assert.equal(await memberRow(page, email).getByLabel(`Role of ${email}`).inputValue(), 'customer');
  await screenshot(page, 'members-role-changed');
  page.once('dialog', (dialog) => dialog.accept());
  await Promise.all([page.waitForEvent('load'), memberRow(page, email).getByRole('button', { name: 'Remove' }).click()]);
  assert.equal(await memberRow(page, email).count(), 0, 'the newcomer is gone');
});

test('members: the last owner cannot be demoted, and the form says why', async () => {
  const { page } = await browserFor('owner');
  await page.goto(url('/members?org=acme'));
  const row = memberRow(page, people.owner.email);
  await row.getByLabel(`Role of ${people.owner.email}`).selectOption('org_user');
  await row.getByRole('button', { name: 'Change role' }).click();
  await row.locator('.form-error').filter({ hasText: /last org_owner/ }).waitFor({ timeout: 5_000 });
  await page.reload();
  assert.equal(await memberRow(page, people.owner.email).getByLabel(`Role of ${people.owner.email}`).inputValue(), 'org_owner');
});

test('admin: an organisation is made and its plan changed; a token is made for a person and shown once', async () => {
  const { page } = await browserFor('platform');
  await page.goto(url('/admin'));
  const org = `org-${Date.now().toString(36)}`;
  await page.getByLabel('New organisation').fill(org);
  await page.getByLabel('plan', { exact: true }).selectOption('pro');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Create' }).click()]);
  const row = page.locator('tbody tr', { has: page.getByRole('rowheader', { name: org, exact: true }) });
  assert.equal(await row.getByLabel(`Plan of ${org}`).inputValue(), 'pro');
  await row.getByLabel(`Plan of ${org}`).selectOption('enterprise');
  await Promise.all([page.waitForEvent('load'), row.getByRole('button', { name: 'Set plan' }).click()]);
  assert.equal(
    await page.locator('tbody tr', { has: page.getByRole('rowheader', { name: org, exact: true }) }).getByLabel(`Plan of ${org}`).inputValue(),
    'enterprise',
  );

  await page.getByLabel('For (email)').fill('user@acme.test');
  await page.getByLabel('Token name').fill('from-admin');
  await page.getByRole('button', { name: 'Make the token' }).click();
  const shown = page.locator('#a-tokens [data-secret] output');
  await shown.filter({ hasText: /^phk_/ }).waitFor({ timeout: 5_000 });
  const token = (await shown.textContent()).trim();
  const me = await fetch(`${BASE_URL}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await me.json()).email, 'user@acme.test', 'the token acts for its person');
  await screenshot(page, 'admin');
});
