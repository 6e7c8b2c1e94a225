// Every link of the layout's navigation (the main menu, the account link) leads to a page: as each
// person sees it, each address it offers answers 200.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { browsersByPerson, url } from './helpers.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

for (const who of [null, 'user', 'owner', 'platform']) {
  test(`navigation: every menu link ${who ? `of ${who}` : 'signed out'} leads to a page`, async () => {
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
