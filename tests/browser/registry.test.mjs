// plughub as a registry in the browser: the org owner holds @fixture (claimed, granted by the platform
// owner); npm (the loopback registry) has @fixture too, so the platform owner records a namespace decision
// on /admin/registry; a version with a planted secret is quarantined, listed on /admin/registry with its
// reason (file and rule, never the secret), and released there; the publisher page marks it published on
// plughub. On /account the owner makes a publish token for @fixture (shown once) and revokes it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { browsersByPerson, csrfToken, fetchFromPage, screenshot, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

const NAMESPACE = '@fixture';
const PACKAGE = '@fixture/plugin-leaky';

/** The owner holds @fixture: claimed through the API, granted by the platform owner (once per server). */
async function holdNamespace(owner, platform) {
  await owner.goto(url(`/publishers/${NAMESPACE}`));
  if (/You hold this publisher/.test(await owner.locator('main').innerText())) return;
  const claim = await fetchFromPage(owner, 'POST', `/api/publishers/${encodeURIComponent(NAMESPACE)}/claims`, {
    body: { evidence: 'The fixtures are ours' },
    token: await csrfToken(owner),
  });
  assert.ok([201, 409].includes(claim.status), `claim: ${claim.status} ${JSON.stringify(claim.body)}`);
  await platform.goto(url('/admin/publishers'));
  const pending = await fetchFromPage(platform, 'GET', '/api/admin/publisher-claims?status=pending');
  const mine = pending.body.claims.find((c) => c.namespace === NAMESPACE);
  const granted = await fetchFromPage(platform, 'POST', `/api/admin/publisher-claims/${mine.id}/grant`, {
    body: { note: 'fixtures' },
    token: await csrfToken(platform),
  });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
}

/** A package tarball made by `npm pack`, with a secret planted in src/config.js. */
function leakyTarball(version) {
  const dir = mkdtempSync(join(tmpdir(), 'plughub-leaky-'));
  try {
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'src'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({
      name: PACKAGE,
      version,
      description: 'A plugin with a planted secret, for the registry browser test',
      type: 'module',
      main: 'index.js',
      keywords: ['elizaos', 'elizaos-plugins', 'plugin'],
      peerDependencies: { '@elizaos/core': '^1.0.0' },
    }));
    writeFileSync(join(pkg, 'index.js'), "export default { name: 'leaky', description: 'leaky', actions: [] };\n");
    // Built from parts, so this file holds no whole key for other scanners.
    writeFileSync(join(pkg, 'src', 'config.js'), `export const key = '${'sk_live_'}${'4eC39HqLyjWDarjtT1zdp7dc'}';\n`);
    execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: pkg, stdio: 'ignore' });
    const file = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    return readFileSync(join(dir, file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function publish(token, tarball) {
  const answer = await fetch(url(`/api/registry/packages/${encodeURIComponent(PACKAGE)}`), {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: tarball,
  });
  return { status: answer.status, body: await answer.json() };
}

test('registry: a quarantined version is listed with its reason and released on /admin/registry', async () => {
  const owner = (await browserFor('owner')).page;
  const platform = (await browserFor('platform')).page;
  await holdNamespace(owner, platform);
  await owner.goto(url('/account'));
  const made = await fetchFromPage(owner, 'POST', '/api/me/tokens', {
    body: { name: 'registry-test', days: 1 },
    token: await csrfToken(owner),
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const tarball = leakyTarball(`1.0.${Date.now()}`);

  let published = await publish(made.body.secret, tarball);
  if (published.status === 403) {
    // npm has @fixture: the platform owner records that it is this publisher's, on the page.
    assert.equal(published.body.error.code, 'namespace_on_npm');
    await platform.goto(url('/admin/registry'));
    await platform.getByLabel(/^Namespace/).fill(NAMESPACE);
    await platform.getByLabel('What you checked').fill('The fixtures on the loopback registry are the set-up\'s own');
    await Promise.all([platform.waitForEvent('load'), platform.getByRole('button', { name: 'Record the decision' }).click()]);
    published = await publish(made.body.secret, tarball);
  }
  assert.equal(published.status, 202, JSON.stringify(published.body));
  assert.equal(published.body.status, 'quarantined');
  const version = published.body.version;

  await platform.goto(url('/admin/registry'));
  const row = platform.locator('#quarantine tbody tr', { hasText: `${PACKAGE}@${version}` });
  assert.equal(await row.count(), 1, 'the version waits on the page');
  const reasons = await row.innerText();
  assert.match(reasons, /src\/config\.js line 1/);
  assert.match(reasons, /stripe-live-key/);
  assert.doesNotMatch(reasons, /4eC39HqLyjWDarjtT1zdp7dc/, 'the page shows the secret');
  await screenshot(platform, 'admin-registry-quarantine');
  await row.getByLabel(/Note on releasing/).fill('the vendor\'s documented test key');
  await Promise.all([platform.waitForEvent('load'), row.getByRole('button', { name: 'Release' }).click()]);
  assert.equal(await platform.locator('#quarantine tbody tr', { hasText: `${PACKAGE}@${version}` }).count(), 0);

  const anyone = (await browserFor(null)).page;
  await anyone.goto(url(`/plugins/${PACKAGE}`));
  assert.match(await anyone.getByRole('heading', { level: 1 }).innerText(), /leaky/);
  await anyone.goto(url(`/publishers/${NAMESPACE}`));
  const listed = anyone.locator('li', { has: anyone.getByRole('link', { name: PACKAGE, exact: true }) });
  assert.match(await listed.innerText(), /published on plughub/);
  await screenshot(anyone, 'publisher-published');
});

test('registry: a publish token made on /account is shown once and revoked there', async () => {
  const owner = (await browserFor('owner')).page;
  const platform = (await browserFor('platform')).page;
  await holdNamespace(owner, platform);
  await owner.goto(url('/account'));
  const form = owner.locator('#publish-token-form');
  await form.getByLabel('Namespace').selectOption(NAMESPACE);
  const name = `ci-${Date.now()}`;
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByRole('button', { name: 'Make a publish token' }).click();
  const secret = form.locator('[data-secret] output');
  await secret.waitFor({ state: 'visible' });
  assert.match(await secret.innerText(), /^php_[A-Za-z0-9_-]{43}$/);
  await screenshot(owner, 'account-publish-token');

  await owner.reload();
  assert.doesNotMatch(await owner.locator('main').innerText(), /php_[A-Za-z0-9_-]{43}/, 'shown once only');
  const row = owner.locator('tr', { hasText: name });
  assert.match(await row.innerText(), /active/);
  owner.once('dialog', (dialog) => dialog.accept());
  await Promise.all([owner.waitForEvent('load'), row.getByRole('button', { name: 'Revoke' }).click()]);
  assert.match(await owner.locator('tr', { hasText: name }).innerText(), /revoked/);
});
