// Signing in through the /login form, as a person does.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, people, screenshot, signIn, url, whoAmI } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('a wrong password is refused on the form, which says so, and signs no one in', async () => {
  const page = await browser.context.newPage();
  await page.goto(url('/login'));
  await page.getByLabel('Email').fill(people.user.email);
  await page.getByLabel('Password').fill(`${people.user.password}-wrong`);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url() === url('/api/auth/login')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  assert.equal(answer.status(), 401);
  const alert = page.getByRole('alert');
  await alert.filter({ hasText: /\S/ }).waitFor({ timeout: 5_000 });
  assert.notEqual((await alert.textContent()).trim(), '', 'the form says why the sign-in failed');
  assert.equal(new URL(page.url()).pathname, '/login', 'a refused sign-in stays on /login');
  await screenshot(page, 'login-refused');
  assert.equal((await whoAmI(page)).status, 401, 'no session after a refused sign-in');
  await page.close();
});

test('signing in through the form lands on /plugins, signed in', async () => {
  const page = await browser.context.newPage();
  await page.goto(url('/plugins'));
  assert.equal((await whoAmI(page)).status, 401, 'no session before signing in');
  const person = await signIn(page, 'owner');
  assert.equal(new URL(page.url()).pathname, '/plugins');
  await screenshot(page, 'plugins-after-sign-in');

  const me = await whoAmI(page);
  assert.equal(me.status, 200, 'the page\'s session answers /api/me');
  assert.equal(me.body.email, person.email);
  assert.ok(
    me.body.memberships.some((m) => m.group === 'acme' && m.role === 'org_owner'),
    `${person.email} is org_owner in acme: ${JSON.stringify(me.body.memberships)}`,
  );

  // The session is an HttpOnly cookie: the page's scripts cannot read it.
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /plughub_session/);
  const cookies = await browser.context.cookies(url('/'));
  const session = cookies.find((c) => c.name === 'plughub_session');
  assert.ok(session, 'the session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  await page.close();
});

test('each role signs in as itself', async () => {
  for (const who of ['user', 'platform']) {
    // A browser of its own for each: a session per person.
    const { page, close } = await launchChromium();
    try {
      const person = await signIn(page, who);
      const me = await whoAmI(page);
      assert.equal(me.status, 200);
      assert.equal(me.body.email, person.email);
      assert.ok(
        me.body.memberships.some((m) => m.role === person.role),
        `${person.email} holds ${person.role}: ${JSON.stringify(me.body.memberships)}`,
      );
    } finally {
      await close();
    }
  }
});
