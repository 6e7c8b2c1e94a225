// Every page of the UI (pages.mjs), as the person it is for sees it: axe-core finds no serious or critical
// violation, and each is screenshotted.

import { after, test } from 'node:test';
import { browsersByPerson, checkAccessibility, screenshot, url } from './helpers.mjs';
import { pages } from './pages.mjs';

const { browserFor, close } = browsersByPerson();
after(close);

for (const page of pages) {
  test(`axe: ${page.path} (${page.as ?? 'signed out'}) has no serious or critical violation`, async () => {
    const { context } = await browserFor(page.as);
    const tab = await context.newPage();
    try {
      await tab.goto(url(page.path));
      await tab.waitForLoadState('load');
      await screenshot(tab, page.name);
      await checkAccessibility(tab, page.name);
    } finally {
      await tab.close();
    }
  });
}
