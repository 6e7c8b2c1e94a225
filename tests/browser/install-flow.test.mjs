// A plugin's whole life in an organisation, as its owner goes through it in the pages: found in the
// catalogue, installed with its settings and grants, activated for an agent, run in the playground, seen
// in the activity, updated, rolled back, deactivated and uninstalled. Then the same install with the
// keyboard alone.
//
// The plugin is the fixture @fixture/plugin-hello: the set-up (scripts/browser-tests.sh) serves 1.0.0 and
// 1.0.1 from the loopback registry and syncs them into the catalogue, so 1.0.0 installs and 1.0.1 is the
// update. Its HELLO action answers through the callback twice ("thinking…", then the greeting made of
// its HELLO_GREETING setting) and returns the greeting.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ORG, checkAccessibility, launchChromium, screenshot, signIn, uninstallIfInstalled, url } from './helpers.mjs';

const PLUGIN = '@fixture/plugin-hello';
const OLD = '1.0.0';
const NEW = '1.0.1';
const GREETING = 'Howdy';
const installed = `/plugins/installed?org=${ORG}`;

let browser;
before(async () => {
  browser = await launchChromium();
  await signIn(browser.page, 'owner');
  await uninstallIfInstalled(browser.page, PLUGIN);
});
after(async () => {
  await browser?.close();
});

/** The installed plugin's section on the installed page. */
const instance = (page) => page.locator(`section.instance[data-plugin="${PLUGIN}"]`);

/**
 * Sends the form of `button` (one that reloads the page once the API has made the change) with `press`
 * (a click by default) and waits for the page it reloads to; fails with what the form says if it shows an
 * error instead.
 */
async function submitAndReload(page, button, press = () => button.click()) {
  const error = button.locator('xpath=ancestor::form').locator('.form-error');
  const loaded = page.waitForEvent('load', { timeout: 90_000 }).then(() => null);
  await press();
  const failed = error
    .filter({ hasText: /\S/ })
    .waitFor({ timeout: 90_000 })
    .then(() => error.textContent())
    .catch(() => null);
  const said = await Promise.race([loaded, failed]);
  if (said) throw new Error(`the form answered: ${said}`);
}

/**
 * Keeps, across the navigation the install ends with, every line the install form's progress list shows:
 * sessionStorage outlives the page, on the same origin.
 */
async function recordProgress(page) {
  await page.evaluate(() => {
    sessionStorage.removeItem('progress');
    const list = document.querySelector('[data-progress]');
    new MutationObserver(() => {
      const lines = [...list.querySelectorAll('li')].map((li) => li.textContent);
      sessionStorage.setItem('progress', JSON.stringify(lines));
    }).observe(list, { childList: true, subtree: true, characterData: true });
  });
}

const recordedProgress = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('progress') ?? '[]'));

/**
 * Sends the install form with `press` and waits for the installed page it goes on to; fails with what the
 * form says if it shows an error instead.
 */
async function installAndLand(page, press) {
  const error = page.locator('form[data-install] .form-error');
  const landed = page.waitForURL((u) => u.pathname === '/plugins/installed', { timeout: 120_000 }).then(() => null);
  await press();
  const failed = error
    .filter({ hasText: /\S/ })
    .waitFor({ timeout: 120_000 })
    .then(async () => `${await error.textContent()} (progress: ${await page.locator('[data-progress]').innerText()})`)
    .catch(() => null);
  const said = await Promise.race([landed, failed]);
  if (said) throw new Error(`the install form answered: ${said}`);
}

test('install-to-uninstall: search, detail, install with settings and grants, activate, run, activity, update, rollback, deactivate, uninstall', async () => {
  const page = browser.page;

  // The catalogue's search box finds it; its card leads to its page.
  await page.goto(url('/plugins'));
  await page.locator('input[name="q"]').fill('hello');
  await Promise.all([page.waitForURL((u) => u.searchParams.get('q') === 'hello'), page.locator('input[name="q"]').press('Enter')]);
  const card = page.getByRole('link', { name: PLUGIN, exact: true });
  assert.equal(await card.count(), 1, 'the search for "hello" lists the fixture');
  await screenshot(page, 'flow-1-search');
  await Promise.all([page.waitForURL((u) => u.pathname === `/plugins/${PLUGIN}`), card.click()]);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), PLUGIN);
  for (const setting of ['HELLO_GREETING', 'HELLO_LOUD', 'HELLO_API_KEY']) {
    assert.ok(await page.locator('#settings').getByText(setting).count(), `the detail page lists the setting ${setting}`);
  }
  assert.ok(await page.locator('#versions').getByRole('rowheader', { name: NEW }).count(), `the versions list ${NEW}`);
  assert.ok(await page.locator('#versions').getByRole('rowheader', { name: OLD }).count(), `the versions list ${OLD}`);
  await screenshot(page, 'flow-2-detail');

  // Install: the form, filled in.
  await Promise.all([page.waitForURL((u) => u.pathname === `/plugins/${PLUGIN}/install`), page.getByRole('link', { name: 'Install', exact: true }).click()]);
  assert.equal(await page.getByLabel('Install into').inputValue(), ORG);
  await page.getByLabel('Version').selectOption(OLD);
  const grants = page.locator('input[name="grant"]');
  const grantCount = await grants.count();
  assert.ok(grantCount > 0, 'the install form offers the permissions the package asks for');
  for (let i = 0; i < grantCount; i++) await grants.nth(i).check();
  const secretGrant = page.locator('input[name="grant"][value="secrets.access"]');
  assert.equal(await secretGrant.count(), 1, 'it asks to read its secret setting');
  assert.match(await secretGrant.getAttribute('data-items'), /HELLO_API_KEY/);
  // A boolean setting's default, as the package says it (not Python's False).
  assert.equal(await page.locator('#setting-HELLO_LOUD option').first().textContent(), 'default (false)');
  await page.getByLabel(/^HELLO_GREETING/).fill(GREETING);
  const secret = page.getByLabel(/^HELLO_API_KEY/);
  assert.equal(await secret.getAttribute('type'), 'password', 'a secret setting is a password field');
  await secret.fill('browser-test-key');
  await screenshot(page, 'flow-3-install-form');

  await recordProgress(page);
  const install = page.getByRole('button', { name: 'Install' });
  await installAndLand(page, () => install.click());
  const progress = await recordedProgress(page);
  assert.ok(progress.some((l) => l.startsWith(`Installed ${PLUGIN} ${OLD}`)), `the progress said it installed: ${JSON.stringify(progress)}`);
  assert.ok(progress.some((l) => l.startsWith('Settings saved')), `the progress said the settings were saved: ${JSON.stringify(progress)}`);
  assert.ok(progress.some((l) => l.startsWith('Permissions granted')), `the progress said the grants were made: ${JSON.stringify(progress)}`);
  assert.equal(new URL(page.url()).searchParams.get('org'), ORG);
  await instance(page).waitFor();
  assert.match(await instance(page).locator('.meta').textContent(), new RegExp(`Version ${OLD.replaceAll('.', '\\.')}`));
  assert.doesNotMatch(await instance(page).textContent(), /Asked for and not granted/, 'everything it asks for was granted');
  await screenshot(page, 'flow-4-installed');

  // Activate it for the agent eliza.
  await instance(page).getByText('Activate for an agent').click();
  await instance(page).getByLabel('Agent', { exact: true }).fill('eliza');
  await submitAndReload(page, instance(page).getByRole('button', { name: 'Activate' }));
  assert.match(await instance(page).locator('ul').first().textContent(), /eliza \(priority 0/);
  await screenshot(page, 'flow-5-activated');
  // axe on the installed page with a plugin in it (pages.mjs's check sees it empty).
  await checkAccessibility(page, 'flow-installed');

  // The playground runs its action: the callbacks stream in, then the result.
  await Promise.all([page.waitForURL((u) => u.pathname === '/plugins/playground'), instance(page).getByRole('link', { name: 'Try it in the playground' }).click()]);
  assert.equal(await page.getByLabel('Plugin').inputValue(), PLUGIN);
  await page.getByLabel('Kind').selectOption('action');
  await page.getByLabel('Name').fill('HELLO');
  await page.getByLabel('Agent').selectOption('eliza');
  await page.getByLabel('Message').fill('browser');
  await page.getByRole('button', { name: 'Run' }).click();
  const callbacks = page.locator('[data-callbacks] li');
  await callbacks.filter({ hasText: `${GREETING}, browser.` }).waitFor({ timeout: 60_000 });
  assert.deepEqual(await callbacks.allTextContents(), ['thinking…', `${GREETING}, browser.`], 'both callbacks, in order');
  await page.locator('[data-result]').filter({ hasText: /\S/ }).waitFor({ timeout: 30_000 });
  const result = await page.locator('[data-result]').textContent();
  assert.match(result, new RegExp(`${GREETING}, browser\\.`), `the result: ${result}`);
  assert.match(await page.locator('[data-run-status]').textContent(), /^Done/);
  await screenshot(page, 'flow-6-playground');
  await checkAccessibility(page, 'flow-playground');

  // The activity shows the run.
  await Promise.all([page.waitForURL((u) => u.pathname === '/plugins/activity'), page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click()]);
  const run = page.locator('tbody[data-rows] tr', { hasText: PLUGIN }).filter({ hasText: 'plugin_action_executed' });
  assert.ok((await run.count()) >= 1, 'the activity lists the execution of its action');
  await screenshot(page, 'flow-7-activity');
  await checkAccessibility(page, 'flow-activity');

  // Update to the newer version, then roll back to the one before.
  await page.goto(url(installed));
  const update = instance(page).getByRole('button', { name: `Update to ${NEW}` });
  assert.equal(await update.count(), 1, `the installed page offers the update to ${NEW}`);
  await submitAndReload(page, update);
  assert.match(await instance(page).locator('.meta').textContent(), new RegExp(`Version ${NEW.replaceAll('.', '\\.')} .*previous ${OLD.replaceAll('.', '\\.')}`));
  await screenshot(page, 'flow-8-updated');

  const dialogs = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.accept();
  });
  await submitAndReload(page, instance(page).getByRole('button', { name: `Roll back to ${OLD}` }));
  assert.match(dialogs.at(-1) ?? '', new RegExp(`Go back to ${OLD.replaceAll('.', '\\.')}`), 'the rollback asks first');
  assert.match(await instance(page).locator('.meta').textContent(), new RegExp(`Version ${OLD.replaceAll('.', '\\.')}`));
  await screenshot(page, 'flow-9-rolled-back');

  // While it serves an agent it is not offered for uninstall (the server would refuse: "deactivate it
  // first"). Deactivate it, then uninstall, accepting the confirmation: it is gone.
  assert.equal(await instance(page).getByRole('button', { name: 'Uninstall' }).count(), 0, 'no uninstall while active');
  assert.match(await instance(page).textContent(), /deactivate it for every agent first/);
  await submitAndReload(page, instance(page).getByRole('button', { name: 'Deactivate' }));
  assert.match(await instance(page).textContent(), /It serves no agent\./);
  await submitAndReload(page, instance(page).getByRole('button', { name: 'Uninstall' }));
  assert.match(dialogs.at(-1) ?? '', new RegExp(`Uninstall ${PLUGIN}`), 'the uninstall asks first');
  assert.equal(await instance(page).count(), 0, 'it is no longer listed');
  await screenshot(page, 'flow-10-uninstalled');
});

/** What the focused element is, and whether the focus shows: an outline of some width. */
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      type: el.type ?? null,
      name: el.getAttribute('name'),
      text: (el.textContent ?? '').trim().slice(0, 40),
      href: el.getAttribute('href'),
      focusVisible: el.matches(':focus-visible'),
      outline: `${style.outlineStyle} ${style.outlineWidth}`,
      outlined: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    };
  });
}

/**
 * Presses Tab (Shift+Tab with `back`) until the focused element matches `selector`, and checks the focus
 * shows on it.
 */
async function tabTo(page, selector, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
      const f = await focused(page);
      assert.ok(f.focusVisible && f.outlined, `the focus shows on ${selector}: ${JSON.stringify(f)}`);
      return f;
    }
  }
  throw new Error(`${max} presses of ${back ? 'Shift+Tab' : 'Tab'} did not reach ${selector}; the focus is on ${JSON.stringify(await focused(page))}`);
}

test('keyboard-only install: signed in, found, installed with settings and grants, with Tab, Shift+Tab, Space, Enter and typing', async () => {
  // A browser of its own: nobody signed in, and no mouse used in it at all.
  const { page, close } = await launchChromium();
  try {
    await page.goto(url('/login'));
    await tabTo(page, '#email');
    await page.keyboard.type(process.env.OWNER_EMAIL);
    await tabTo(page, '#password');
    await page.keyboard.type(process.env.OWNER_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/plugins'), page.keyboard.press('Enter')]);
    await uninstallIfInstalled(page, PLUGIN);

    // The skip link first, then the search box.
    const skip = await tabTo(page, 'a.skip');
    assert.equal(skip.href, '#main');
    await tabTo(page, 'input[name="q"]');
    await page.keyboard.type('hello');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('q') === 'hello'), page.keyboard.press('Enter')]);
    await tabTo(page, `a[href="/plugins/${PLUGIN}"]`);
    await Promise.all([page.waitForURL((u) => u.pathname === `/plugins/${PLUGIN}`), page.keyboard.press('Enter')]);
    await tabTo(page, 'a.button.primary');
    await Promise.all([page.waitForURL((u) => u.pathname === `/plugins/${PLUGIN}/install`), page.keyboard.press('Enter')]);

    // The form, field by field.
    await tabTo(page, '#install-org');
    await tabTo(page, '#install-version');
    // "Newest compatible" comes first, then the versions newest first: two steps down is the older one.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator('#install-version').inputValue(), OLD, 'the arrow key chose the older version');
    const boxes = await page.locator('input[name="grant"]').count();
    for (let i = 1; i <= boxes; i++) {
      await tabTo(page, `#grant-${i}`);
      await page.keyboard.press('Space');
      assert.ok(await page.locator(`#grant-${i}`).isChecked(), `Space ticked grant ${i}`);
    }
    await tabTo(page, '#setting-HELLO_GREETING');
    await page.keyboard.type(GREETING);
    await tabTo(page, '#setting-HELLO_API_KEY');
    await page.keyboard.type('keyboard-key');
    // Back to the greeting with Shift+Tab, to check it kept what was typed; then on to the button.
    await tabTo(page, '#setting-HELLO_GREETING', { back: true });
    assert.equal(await page.locator('#setting-HELLO_GREETING').inputValue(), GREETING);
    await tabTo(page, 'button[type="submit"]');
    await screenshot(page, 'keyboard-install-form');
    await installAndLand(page, () => page.keyboard.press('Enter'));
    await instance(page).waitFor();
    assert.match(await instance(page).locator('.meta').textContent(), new RegExp(`Version ${OLD.replaceAll('.', '\\.')}`));
    assert.doesNotMatch(await instance(page).textContent(), /Asked for and not granted/, 'every grant ticked was made');
    await screenshot(page, 'keyboard-installed');

    // Uninstall with the keyboard too: the confirmation accepted.
    page.on('dialog', (dialog) => dialog.accept());
    await tabTo(page, `section.instance[data-plugin="${PLUGIN}"] button.danger`);
    await submitAndReload(page, instance(page).locator('button.danger'), () => page.keyboard.press('Enter'));
    assert.equal(await instance(page).count(), 0, 'uninstalled');
  } finally {
    await close();
  }
});
