// A plugin's package data is its author's, and plughub shows it: the fixture @fixture/plugin-hostile-readme
// (crates/plughub-testkit/fixtures/plugin-hostile-readme) puts script tags, `javascript:` links, event
// handlers (onerror, onload, onclick, onmouseover, onfocus), SVG, iframes, an object, a form, a style
// and data: URL images into its description, its README, its homepage, its repository and a component's
// description. Every payload, if it ran, would set window.__pwned or open an alert. On its detail page
// and in the search results: no dialog opens, nothing runs (and nothing even tries: the CSP would say so
// in the console), no `javascript:` address and no on* attribute is left anywhere, the README holds none
// of the dangerous elements, and the text is still there, shown as text.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshot, signIn, url } from './helpers.mjs';

const PLUGIN = '@fixture/plugin-hostile-readme';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** A tab that records every dialog (and dismisses it), uncaught error and console message. */
async function watchedTab() {
  const page = await browser.context.newPage();
  const seen = { dialogs: [], errors: [], console: [] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => seen.errors.push(error.message));
  page.on('console', (message) => seen.console.push(`${message.type()}: ${message.text()}`));
  return { page, seen };
}

/** What is left in the document that could run something: addresses, handlers, elements. */
function leftovers(page, scope) {
  return page.evaluate((scope) => {
    const found = [];
    const urlAttributes = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc', 'background', 'poster'];
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        // Browsers ignore tabs, newlines and control characters inside a scheme.
        const value = attr.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
        if (name.startsWith('on')) found.push(`<${el.localName} ${name}>`);
        if (urlAttributes.includes(name) && (value.startsWith('javascript:') || value.startsWith('vbscript:'))) {
          found.push(`<${el.localName} ${name}="${attr.value}">`);
        }
        if (urlAttributes.includes(name) && value.startsWith('data:')) found.push(`<${el.localName} ${name}="data:…">`);
      }
    }
    const root = document.querySelector(scope);
    if (root) {
      // plughub's own controls in a card (the compare checkbox) are not the plugin's text.
      const theirs = (el) => !el.closest('.pick');
      for (const el of root.querySelectorAll('script, svg, iframe, object, embed, form, input, style, link, meta, base, math')) {
        if (theirs(el)) found.push(`<${el.localName}> in ${scope}`);
      }
      for (const el of root.querySelectorAll('[style]')) if (theirs(el)) found.push(`<${el.localName} style> in ${scope}`);
    }
    return found;
  }, scope);
}

/** The window flag any payload sets, and a CSP's complaint (something tried to run) in the console. */
async function assertNothingRan(page, seen) {
  assert.equal(await page.evaluate(() => window.__pwned ?? null), null, 'no payload set window.__pwned');
  assert.deepEqual(seen.dialogs, [], 'no dialog opened');
  assert.deepEqual(seen.errors, [], 'no script error');
  const csp = seen.console.filter((line) => /Content Security Policy|Refused to/i.test(line));
  assert.deepEqual(csp, [], 'nothing even tried to run (the CSP would have refused it)');
}

test('hostile README and description: the detail page runs nothing and shows the text', async () => {
  const { page, seen } = await watchedTab();
  const answer = await page.goto(url(`/plugins/${PLUGIN}`));
  assert.equal(answer.status(), 200);
  await page.waitForLoadState('load');

  // Poke what had handlers: a click, a hover, a focus.
  const clickMe = page.locator('.readme').getByText('Click me: I had an onclick.');
  await clickMe.click();
  await clickMe.hover();
  for (const link of await page.locator('.readme a').all()) await link.focus();
  await page.waitForTimeout(500);
  await screenshot(page, 'hostile-detail');

  await assertNothingRan(page, seen);
  assert.deepEqual(await leftovers(page, '.readme'), [], 'nothing executable is left in the page or the README');
  // The whole document: only app.js, from the page's own origin.
  const scripts = await page.evaluate(() => [...document.scripts].map((s) => s.getAttribute('src') ?? `inline: ${s.textContent.slice(0, 60)}`));
  assert.equal(scripts.length, 1, `one script, plughub's: ${JSON.stringify(scripts)}`);
  assert.match(scripts[0], /^\/assets\/app\.[^/]*js$/);

  // The text is still there, shown as text.
  const lead = await page.locator('.lead').innerText();
  assert.match(lead, /^Hostile description <script>window\.__pwned='description-script'/, `the description, escaped: ${lead}`);
  assert.match(lead, /ends here$/);
  const readme = page.locator('.readme');
  assert.equal(await readme.getByRole('heading', { name: 'Hostile README' }).count(), 1);
  assert.ok(await readme.getByText('Safe text after the payloads: this paragraph must still be read.').isVisible(), 'the README after the payloads is shown');
  assert.equal(await readme.locator('code', { hasText: "<script>alert('shown as text')</script>" }).count(), 1, 'code in the README shows as text');
  assert.ok(await readme.getByText('an HTML javascript: link').isVisible(), "a link's text stays, without its address");
  assert.ok(await page.locator('body').isVisible(), "the README's style did not hide the page");
  // The homepage and the repository are shown as text, not links.
  assert.match(await page.locator('.links', { hasText: 'Repository:' }).innerText(), /javascript:window\.__pwned='homepage'/);
  // The component's description, read from the package's code.
  const components = await page.locator('#components').innerText();
  assert.match(components, /NOOP/);
  assert.match(components, /Does nothing <script>/, `the component's description, escaped: ${components}`);
  assert.match(
    await page.locator('meta[name="description"]').getAttribute('content'),
    /<script>window\.__pwned='description-script'/,
    'the meta description holds the text as an attribute value',
  );
  await page.close();
});

test('hostile README and description: the search results run nothing and show the description as text', async () => {
  const { page, seen } = await watchedTab();
  await page.goto(url('/plugins?q=hostile'));
  await page.waitForLoadState('load');
  const card = page.locator('li.card', { has: page.getByRole('link', { name: PLUGIN, exact: true }) });
  assert.equal(await card.count(), 1, 'the search for "hostile" lists the fixture');
  await card.hover();
  await page.waitForTimeout(300);
  await screenshot(page, 'hostile-search');

  await assertNothingRan(page, seen);
  assert.deepEqual(await leftovers(page, 'li.card'), [], 'nothing executable in the page or the cards');
  const text = await card.innerText();
  assert.match(text, /Hostile description <script>window\.__pwned='description-script'/, `the card's description, escaped: ${text}`);
  assert.match(text, /<svg onload=/);
  await page.close();
});

test('hostile settings: defaults that try to leave their attributes stay values of the install form', async () => {
  const { page, seen } = await watchedTab();
  await signIn(page, 'owner');
  const answer = await page.goto(url(`/plugins/${PLUGIN}/install?org=acme`));
  assert.equal(answer.status(), 200);
  await page.waitForLoadState('load');
  for (const field of await page.locator('#install textarea, #install input').all()) await field.focus();
  await page.waitForTimeout(300);
  await screenshot(page, 'hostile-install');

  await assertNothingRan(page, seen);
  // The whole page: no handler, no script address (the form's own fields are the page's, not the plugin's).
  assert.deepEqual(await leftovers(page, '.readme'), [], 'nothing executable in the install page');
  // Each default is the placeholder, whole, as text.
  const json = await page.getByLabel(/^HOSTILE_JSON/).getAttribute('placeholder');
  assert.match(json, /onfocus=/, `the JSON default, whole: ${json}`);
  assert.deepEqual(Object.keys(JSON.parse(json)), ['a" onfocus="window.__pwned=\'setting-default\'" x="']);
  const text = await page.getByLabel(/^HOSTILE_TEXT/).getAttribute('placeholder');
  assert.equal(text, `"><img src=x onerror="window.__pwned='setting-text'">`);
  await page.close();
});
