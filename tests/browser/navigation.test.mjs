// Every link of the layout's navigation (the main menu, the account link) leads to a page: as each
// person sees it, each address it offers answers 200.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, url } from './helpers.mjs';

// The Members link (org_owner) and the Admin link (platform_owner) point at pages this branch does not
// have yet (the API for them is on main; their pages are to come): measured 2026-12-06, both 404.
const TODO = 'measured 2026-12-06: /members and /admin, linked from the menu, answer 404 (no such pages yet)';

const { browserFor, close } = browsersByPerson();
after(close);

for (const who of [null, 'user', 'owner', 'platform']) {
  const todo = who === 'owner' || who === 'platform' ? { todo: TODO } : {};
  test(`navigation: every menu link ${who ? `of ${who}` : 'signed out'} leads to a page`, todo, async () => {
    const { context } = await browserFor(who);
    const tab = await context.newPage();
    try {
      await tab.goto(url('/plugins'));
      const links = await tab.locator('header.top a[href]').evaluateAll((as) => [...new Set(as.map((a) => a.getAttribute('href')))]);
      assert.ok(links.length >= 2, `the header has links: ${JSON.stringify(links)}`);
      const broken = [];
      for (const href of links) {
        const answer = await tab.request.get(url(href), { maxRedirects: 0 });
        if (answer.status() !== 200) broken.push(`${href}: HTTP ${answer.status()}`);
      }
      assert.deepEqual(broken, [], `links of the menu that lead nowhere`);
    } finally {
      await tab.close();
    }
  });
}
