// The analytics page, /plugins/analytics: an organisation's for its owners, the platform's for platform
// owners, refused to an org_user. Each chart is an SVG image with a title and a description, with a
// table of the same figures beside it; the tables say what the API says, and the CSV export says what
// the table says.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ORG, checkAccessibility, fetchFromPage, launchChromium, screenshot, signIn, url } from './helpers.mjs';

let owner;
let user;
let platform;
before(async () => {
  owner = await launchChromium();
  await signIn(owner.page, 'owner');
  user = await launchChromium();
  await signIn(user.page, 'user');
  platform = await launchChromium();
  await signIn(platform.page, 'platform');
});
after(async () => {
  await owner?.close();
  await user?.close();
  await platform?.close();
});

/** The rows of the table in the section headed `heading`, as arrays of cell texts. */
async function tableRows(page, heading) {
  const section = page.locator('section', { has: page.getByRole('heading', { name: heading, exact: true }) });
  return section.locator('tbody tr').evaluateAll((rows) =>
    rows.map((r) => Array.from(r.querySelectorAll('th, td')).map((c) => c.textContent.trim())),
  );
}

test('analytics: the owner sees the organisation\'s charts, each with its table, and the CSV says the same', async () => {
  const page = owner.page;
  await page.goto(url(`/plugins/analytics?org=${ORG}`));
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), new RegExp(`Analytics\\s+of ${ORG}`));
  // The navigation leads here.
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Analytics' }).count(), 1);

  // Two charts, each an image named by its title and described.
  const bars = page.getByRole('img', { name: /Executions per day/ });
  const line = page.getByRole('img', { name: /Error rate per day/ });
  assert.equal(await bars.count(), 1);
  assert.equal(await line.count(), 1);
  assert.ok((await bars.locator('desc').textContent()).length > 10, 'the bars are described');
  assert.equal(await bars.locator('rect.bar').count(), 30, 'a bar per day of the 30');
  assert.equal(await line.locator('circle').count(), 30, 'a point per day of the 30');

  // The table beside the bars says what the API says, day by day.
  const api = await fetchFromPage(page, 'GET', `/api/orgs/${ORG}/analytics?days=30`);
  assert.equal(api.status, 200);
  const rows = await tableRows(page, 'Executions per day');
  assert.equal(rows.length, 30);
  assert.deepEqual(
    rows.map((r) => [r[0], Number(r[1]), Number(r[2]), Number(r[3])]),
    api.body.per_day.map((d) => [d.day, d.executions, d.errors, d.timeouts]),
  );

  // The CSV export: text/csv, the same days and counts.
  const href = await page.getByRole('link', { name: 'Export as CSV' }).getAttribute('href');
  const csv = await page.evaluate(async (href) => {
    const answer = await fetch(href);
    return { status: answer.status, type: answer.headers.get('content-type'), text: await answer.text() };
  }, href);
  assert.equal(csv.status, 200);
  assert.match(csv.type, /^text\/csv/);
  const lines = csv.text.trim().split(/\r?\n/);
  assert.equal(lines[0], 'day,executions,errors,timeouts,error_rate');
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(',').slice(0, 4).map((v, i) => (i === 0 ? v : Number(v)))),
    rows.map((r) => [r[0], Number(r[1]), Number(r[2]), Number(r[3])]),
  );

  // Another window: 7 days, 7 bars.
  await page.getByRole('link', { name: '7 days' }).click();
  await page.waitForURL((u) => u.searchParams.get('days') === '7');
  assert.equal(await page.getByRole('img', { name: /Executions per day/ }).locator('rect.bar').count(), 7);
  await page.goto(url(`/plugins/analytics?org=${ORG}`));
  await screenshot(page, 'analytics-org');
  await checkAccessibility(page, 'analytics-org');
});

test('analytics: an org_user is told that only owners see them', async () => {
  const page = user.page;
  const answer = await page.goto(url(`/plugins/analytics?org=${ORG}`));
  assert.equal(answer.status(), 403);
  assert.match(await page.locator('main').innerText(), /Only owners of acme see its analytics/);
  assert.equal(await page.getByRole('img', { name: /Executions per day/ }).count(), 0);
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Analytics' }).count(), 0);
});

test('analytics: the platform owner sees the platform, with the cost per organisation', async () => {
  const page = platform.page;
  await page.goto(url('/plugins/analytics'));
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Analytics\s+of the platform/);
  assert.equal(await page.getByRole('img', { name: /Executions per day/ }).count(), 1);
  const api = await fetchFromPage(page, 'GET', '/api/admin/analytics?days=30');
  assert.equal(api.status, 200);
  const cost = await tableRows(page, 'Cost per organisation');
  const orgs = api.body.cost.map((c) => c.org);
  if (orgs.length === 0) assert.match(cost[0][0], /No executions/);
  else assert.deepEqual(cost.map((r) => r[0]), orgs);
  const href = await page.getByRole('link', { name: 'Export as CSV' }).getAttribute('href');
  assert.match(href, /^\/api\/admin\/analytics\?days=30&format=csv/);
  await screenshot(page, 'analytics-platform-view');
  await checkAccessibility(page, 'analytics-platform-view');
});
