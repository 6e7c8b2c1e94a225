// Searching the catalogue from the page's search box: results, the query in the address, and the back
// button.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshot, url } from './helpers.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** The catalogue's search box: the input named q, whatever the page's layout. */
const searchBox = (page) => page.locator('input[name="q"]');

/** Links to plugins whose text has `word`, on the page as it is. */
const resultLinks = (page, word) => page.getByRole('link', { name: new RegExp(word, 'i') });

/** The first result's link to its plugin's page: the best hit. Only the list of results counts: the page
 * also links to other plugin pages (the compatibility report) above it. */
const firstResult = (page) => page.locator('ol.cards li.card h2 a').first();

async function assertResultsFor(page, word) {
  assert.ok((await resultLinks(page, word).count()) > 0, `plugins about ${word} are listed`);
  assert.match(await firstResult(page).textContent(), new RegExp(word, 'i'), `the best hit for ${word} is about it`);
}

async function searchFromTheBox(page, query) {
  await searchBox(page).fill(query);
  await Promise.all([
    page.waitForURL((u) => u.searchParams.get('q') === query, { timeout: 15_000 }),
    searchBox(page).press('Enter'),
  ]);
  await page.waitForLoadState('load');
}

test('a search from the box shows its results and keeps the query in the address; back restores the one before', async () => {
  const page = await browser.context.newPage();
  await page.goto(url('/plugins'));
  await screenshot(page, 'plugins-catalogue');

  await searchFromTheBox(page, 'discord');
  assert.equal(new URL(page.url()).pathname, '/plugins');
  assert.equal(new URL(page.url()).searchParams.get('q'), 'discord');
  assert.equal(await searchBox(page).inputValue(), 'discord', 'the box shows the query searched');
  await assertResultsFor(page, 'discord');
  await screenshot(page, 'search-discord');

  await searchFromTheBox(page, 'solana');
  assert.equal(new URL(page.url()).searchParams.get('q'), 'solana');
  assert.equal(await searchBox(page).inputValue(), 'solana');
  await assertResultsFor(page, 'solana');
  await screenshot(page, 'search-solana');

  // Back: the previous query, in the address and the results.
  await page.goBack();
  await page.waitForURL((u) => u.searchParams.get('q') === 'discord', { timeout: 15_000 });
  await assertResultsFor(page, 'discord');
  await screenshot(page, 'search-back');
  await page.close();
});

// Chromium restores what was last typed into a form's fields on a history navigation: back on the first
// search's page, the box showed the second query over the first one's results, though the page sends
// value="discord" (measured 2026-12-06). app.js now sets the box from the address on `pageshow`.
test('back after a second search shows the previous query in the box', async () => {
  const page = await browser.context.newPage();
  await page.goto(url('/plugins'));
  await searchFromTheBox(page, 'discord');
  await searchFromTheBox(page, 'solana');
  await page.goBack();
  await page.waitForURL((u) => u.searchParams.get('q') === 'discord', { timeout: 15_000 });
  const shown = await searchBox(page).inputValue();
  await screenshot(page, 'search-back-box');
  await page.close();
  assert.equal(shown, 'discord', 'back restores the previous query in the box');
});
