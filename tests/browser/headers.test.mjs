// Every page of the UI (pages.mjs) is sent with the headers that keep a browser from running what it should
// not: a Content-Security-Policy whose scripts exclude inline ones, that no other site may frame the page,
// no MIME sniffing, and a Referrer-Policy.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, url } from './helpers.mjs';
import { pages } from './pages.mjs';

/** A Content-Security-Policy as directive name → its values, lower-cased. */
function parseCsp(header) {
  const directives = new Map();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name && !directives.has(name.toLowerCase())) {
      directives.set(name.toLowerCase(), values.map((v) => v.toLowerCase()));
    }
  }
  return directives;
}

const { browserFor, close } = browsersByPerson();
after(close);

for (const page of pages) {
  test(`headers: ${page.path} (${page.as ?? 'signed out'}) has a strict CSP, nosniff and a Referrer-Policy`, async () => {
    const { context } = await browserFor(page.as);
    const tab = await context.newPage();
    try {
      const response = await tab.goto(url(page.path));
      const headers = await response.allHeaders();

      const csp = headers['content-security-policy'];
      assert.ok(csp, `${page.path} sends a Content-Security-Policy`);
      const directives = parseCsp(csp);
      // Scripts fall back on default-src when script-src is absent.
      const scripts = directives.get('script-src') ?? directives.get('default-src');
      assert.ok(scripts, `the CSP limits scripts (script-src or default-src): ${csp}`);
      assert.ok(!scripts.includes("'unsafe-inline'"), `the CSP's script-src allows no inline script: ${csp}`);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], `the CSP has frame-ancestors 'none': ${csp}`);

      assert.equal(headers['x-content-type-options']?.toLowerCase(), 'nosniff');
      assert.ok(headers['referrer-policy'], `${page.path} sends a Referrer-Policy`);
      assert.notEqual(headers['referrer-policy'].toLowerCase(), 'unsafe-url', 'the Referrer-Policy keeps addresses in');
    } finally {
      await tab.close();
    }
  });
}
