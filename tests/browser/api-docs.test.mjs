// The API reference at /api/docs: public, made from the OpenAPI document: every operation of the document
// is on the page, the contents lead to an operation's anchor, a named schema's link leads to its section,
// and the JSON document is linked.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { join } from 'node:path';
import { ARTIFACTS, browsersByPerson, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

test('api docs: every operation of the OpenAPI document, signed out', async () => {
  const { page } = await browserFor(null);
  const response = await page.goto(url('/api/docs'));
  assert.equal(response.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/api/docs', 'no sign-in was asked for');
  assert.match(await page.locator('h1').innerText(), /API reference/);
  const doc = await (await page.request.get(url('/api/openapi.json'))).json();
  const expected = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method !== 'parameters') expected.push({ method: method.toUpperCase(), path, id: op.operationId });
    }
  }
  const headings = await page.locator('article.operation h3').evaluateAll((hs) =>
    hs.map((h) => ({ id: h.id, method: h.querySelector('.method')?.textContent, path: h.querySelector('code')?.textContent })),
  );
  assert.equal(headings.length, expected.length, 'one heading for each operation');
  const byId = new Map(headings.map((h) => [h.id, h]));
  for (const op of expected) {
    const heading = byId.get(`op-${op.id}`);
    assert.ok(heading, `${op.method} ${op.path} (#op-${op.id}) is on the page`);
    assert.deepEqual({ method: heading.method, path: heading.path }, { method: op.method, path: op.path });
  }
  await page.getByRole('link', { name: '/api/openapi.json' }).first().waitFor();
  // The window, not the whole page: the whole reference is some hundred screens long.
  await page.screenshot({ path: join(ARTIFACTS, 'api-docs.png') });
});

test("api docs: the contents lead to an operation, and a body's schema link to the schema", async () => {
  const { page } = await browserFor(null);
  await page.goto(url('/api/docs'));
  // The install operation, from the contents.
  const contents = page.getByRole('navigation', { name: 'Contents' });
  const install = contents.getByRole('link', { name: /POST\s+\/api\/orgs\/\{org\}\/plugins$/ });
  await install.click();
  const hash = new URL(page.url()).hash;
  assert.match(hash, /^#op-/, `the link went to an operation's anchor: ${page.url()}`);
  const target = page.locator(`[id="${hash.slice(1)}"]`);
  assert.match(await target.innerText(), /POST\s+\/api\/orgs\/\{org\}\/plugins/);
  assert.ok(await target.evaluate((h) => h.matches(':target')), 'the heading is the target');
  const inView = await target.evaluate((h) => {
    const r = h.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight;
  });
  assert.ok(inView, 'the operation is scrolled into view');
  await page.screenshot({ path: join(ARTIFACTS, 'api-docs-operation.png') });
  // Its request body names the Install schema: the link leads to the schema's section with its fields.
  const operation = page.locator('article.operation', { has: target });
  await operation.getByRole('link', { name: 'Install', exact: true }).first().click();
  assert.equal(new URL(page.url()).hash, '#schema-Install');
  const schema = page.locator('article.schema', { has: page.locator('[id="schema-Install"]') });
  const fields = await schema.locator('table.props tbody td:first-child code').allInnerTexts();
  assert.ok(fields.includes('plugin'), `the Install schema lists its fields: ${fields.join(', ')}`);
});
