// The agents of an organisation on the installed plugins' page: each with the plugins it uses and who
// answers their models in the runs the agent makes from its own process (the agent bridge); the owner
// changes that choice there (PUT /api/orgs/{org}/agents/{agent}/models), an org_user only reads it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshot, signIn, url } from './helpers.mjs';

let owner;
let user;
before(async () => {
  owner = await launchChromium();
  await signIn(owner.page, 'owner');
  user = await launchChromium();
  await signIn(user.page, 'user');
});
after(async () => {
  await owner?.close();
  await user?.close();
});

const agents = (page) => page.locator('section', { has: page.getByRole('heading', { name: 'Agents', exact: true }) });

async function choose(page, models) {
  await page.getByLabel('Models for eliza').selectOption(models);
  const form = page.locator('form[data-api$="/agents/eliza/models"]');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/orgs/acme/agents/eliza/models') && r.request().method() === 'PUT'),
    form.getByRole('button', { name: 'Save' }).click(),
  ]);
  assert.equal(answer.status(), 200, `PUT …/agents/eliza/models: HTTP ${answer.status()}`);
  await page.waitForLoadState('load');
}

test('agents: the owner chooses who answers the models of the agent\'s own runs', async () => {
  const page = owner.page;
  await page.goto(url('/plugins/installed?org=acme'));
  const section = agents(page);
  assert.match(await section.innerText(), /plughub agent export NAME --org acme/);
  assert.match(await section.innerText(), /eliza: \d+ plugins?; in its own runs, models answered by the organisation's model plugins/);
  await choose(page, 'agent');
  await agents(page).getByText('models answered by the agent itself').waitFor({ timeout: 5_000 });
  assert.equal(await page.getByLabel('Models for eliza').inputValue(), 'agent');
  await screenshot(page, 'installed-agents');
  // What the API says is what the page showed.
  const api = await page.evaluate(async () => (await fetch('/api/orgs/acme/agents')).json());
  assert.equal(api.find((a) => a.name === 'eliza').models, 'agent');
  await choose(page, 'plughub');
  await agents(page).getByText("models answered by the organisation's model plugins").waitFor({ timeout: 5_000 });
});

test('agents: an org_user reads the choice and has no form to change it', async () => {
  const page = user.page;
  await page.goto(url('/plugins/installed?org=acme'));
  assert.match(await agents(page).innerText(), /eliza: /);
  assert.equal(await page.locator('form[data-api$="/agents/eliza/models"]').count(), 0);
});
