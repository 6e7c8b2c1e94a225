// A role that may not install: an org_user of acme sees no Install button, the install page answers 403,
// and the API refuses the install itself, even sent from plughub's own page with the page's CSRF token
// (the token proves where a request comes from, not what its sender may do).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ORG, csrfToken, fetchFromPage, launchChromium, screenshot, signIn, url } from './helpers.mjs';

const PLUGIN = '@fixture/plugin-hello';

let browser;
before(async () => {
  browser = await launchChromium();
  await signIn(browser.page, 'user');
});
after(async () => {
  await browser?.close();
});

test('refused role: an org_user sees no Install button, gets a 403 install page, and the API refuses the install', async () => {
  const page = browser.page;

  const detail = await page.goto(url(`/plugins/${PLUGIN}`));
  assert.equal(detail.status(), 200);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), PLUGIN);
  assert.equal(await page.getByRole('link', { name: 'Install', exact: true }).count(), 0, 'no Install link');
  assert.equal(await page.getByRole('button', { name: 'Install', exact: true }).count(), 0, 'no Install button');
  assert.equal(await page.locator('a[href$="/install"], a[href*="/install?"]').count(), 0, 'no link to the install page');
  await screenshot(page, 'refused-detail');

  const install = await page.goto(url(`/plugins/${PLUGIN}/install?org=${ORG}`));
  assert.equal(install.status(), 403, 'the install page answers 403');
  assert.match(await page.getByRole('alert').textContent(), /does not allow installing plugins/);
  assert.equal(await page.locator('form[data-install]').count(), 0, 'and shows no install form');
  await screenshot(page, 'refused-install-page');

  // The page's own token, a same-origin fetch: the server still refuses, for the role.
  const before = await fetchFromPage(page, 'GET', `/api/orgs/${ORG}/plugins`);
  assert.equal(before.status, 200, 'an org_user may see what is installed');
  const token = await csrfToken(page);
  assert.ok(token, 'the signed-in page carries its CSRF token');
  const answer = await fetchFromPage(page, 'POST', `/api/orgs/${ORG}/plugins`, { body: { plugin: PLUGIN }, token });
  assert.equal(answer.status, 403, `the API refuses the install: ${JSON.stringify(answer.body)}`);
  assert.doesNotMatch(answer.body?.error?.code ?? '', /csrf|cross_origin/, 'refused for the role, not for the token');

  const now = await fetchFromPage(page, 'GET', `/api/orgs/${ORG}/plugins`);
  assert.deepEqual(now.body.plugins, before.body.plugins, 'nothing was installed');
});
