// What every browser test shares: the one way Chromium is launched here, signing in through the /login
// form, named screenshots, and axe-core's check. scripts/browser-tests.sh sets the environment these read:
// BASE_URL (a plughub server on loopback), the people's e-mails and passwords, and BROWSER_ARTIFACTS.

import { AxeBuilder } from '@axe-core/playwright';
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with scripts/browser-tests.sh`);
  return value;
}

/** The server under test, without a trailing slash. */
export const BASE_URL = required('BASE_URL').replace(/\/+$/, '');

/** An address on the server under test. */
export const url = (path) => new URL(path, `${BASE_URL}/`).href;

export const ORG = process.env.BROWSER_ORG ?? 'acme';

/** The people the set-up made, by the name pages.mjs's `as` uses. */
export const people = {
  owner: { email: required('OWNER_EMAIL'), password: required('OWNER_PASSWORD'), role: 'org_owner' },
  user: { email: required('USER_EMAIL'), password: required('USER_PASSWORD'), role: 'org_user' },
  platform: {
    email: required('PLATFORM_OWNER_EMAIL'),
    password: required('PLATFORM_OWNER_PASSWORD'),
    role: 'platform_owner',
  },
  // An org_user of acme for the account page's tests alone, which change its password and tokens.
  account: { email: required('ACCOUNT_EMAIL'), password: required('ACCOUNT_PASSWORD'), role: 'org_user' },
};

const here = dirname(fileURLToPath(import.meta.url));
/** Screenshots, axe's and Lighthouse's results: artefacts of a run, never committed. */
export const ARTIFACTS = process.env.BROWSER_ARTIFACTS ?? join(here, '..', '..', 'target', 'browser-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** Debian's chromium; Lighthouse reads the same variable. */
export const CHROMIUM = process.env.CHROME_PATH ?? '/usr/bin/chromium';

// The only flags Chromium is launched with here (/work/shared/docs/browser-testing.md). Chromium calls
// Google's services on its own, headless too; the resolver rule keeps every name but loopback's
// unresolvable, so nothing leaves the machine (the EXCLUDEs keep the server under test reachable). As
// root, Chromium's own sandbox cannot start: --no-sandbox.
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Launches Chromium, headless, with CHROMIUM_FLAGS and a fresh profile of its own (deleted on close).
 * Every test and Lighthouse launch it through here. `debuggingPort: true` also opens Chrome's DevTools
 * port on loopback, for Lighthouse to drive the same browser: its number is `port`.
 * Returns { context, page, port, close }.
 */
export async function launchChromium({ debuggingPort = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'plughub-browser-'));
  const args = [...CHROMIUM_FLAGS];
  // Chrome's DevTools port listens on 127.0.0.1 only; 0: a free port.
  if (debuggingPort) args.push('--remote-debugging-port=0');
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args,
      viewport: { width: 1280, height: 800 },
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  let port;
  if (debuggingPort) {
    // Chrome writes the port it took into the profile: its first line.
    port = Number(readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0]);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    port,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Signs `who` (a key of `people`, or { email, password }) in through the /login form, as a person does,
 * and waits for the page it lands on (/plugins).
 */
export async function signIn(page, who) {
  const person = typeof who === 'string' ? people[who] : who;
  assert.ok(person, `no such person: ${who}`);
  await page.goto(url('/login'));
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/plugins', { timeout: 15_000 }),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return person;
}

/** Who the page's session is, as the API answers a same-origin fetch of the page: { status, body }. */
export async function whoAmI(page) {
  return page.evaluate(async () => {
    const answer = await fetch('/api/me', { headers: { accept: 'application/json' } });
    return { status: answer.status, body: await answer.json().catch(() => null) };
  });
}

/** Saves the whole page as browser-artifacts/<name>.png. */
export async function screenshot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** axe-core's violations as lines a person can act on: impact, rule, what is wrong, where. */
export function describeViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 5)
        .map((n) => `    at ${n.target.join(' ')}: ${n.failureSummary?.replace(/\s*\n\s*/g, ' ') ?? ''}`)
        .join('\n');
      const more = v.nodes.length > 5 ? `\n    … and ${v.nodes.length - 5} more` : '';
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}${more}`;
    })
    .join('\n');
}

const FAILING_IMPACTS = new Set(['serious', 'critical']);

/**
 * Runs axe-core (all its rules) on the page as it is, saves the result as browser-artifacts/axe-<name>.json,
 * prints every violation, and fails when any is serious or critical.
 */
export async function checkAccessibility(page, name) {
  const results = await new AxeBuilder({ page }).analyze();
  writeFileSync(
    join(ARTIFACTS, `axe-${name}.json`),
    JSON.stringify({ url: results.url, violations: results.violations, passes: results.passes.length }, null, 2),
  );
  const failing = results.violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  const minor = results.violations.filter((v) => !FAILING_IMPACTS.has(v.impact));
  if (minor.length > 0) {
    console.log(`axe on ${name}: ${minor.length} minor or moderate violation(s), not failing:\n${describeViolations(minor)}`);
  }
  assert.equal(
    failing.length,
    0,
    `axe-core on ${name} (${results.url}): ${failing.length} serious or critical violation(s):\n${describeViolations(failing)}`,
  );
}

/**
 * Browsers by person, for a test file that opens pages as several people: `browserFor(who)` launches one
 * the first time it is asked for that person (null: nobody signed in) and signs them in through the form;
 * `close()` closes them all (in an `after` hook).
 */
export function browsersByPerson() {
  const browsers = new Map();
  return {
    async browserFor(who) {
      const key = who ?? 'nobody';
      if (!browsers.has(key)) {
        const browser = await launchChromium();
        browsers.set(key, browser);
        if (who) await signIn(browser.page, who);
      }
      return browsers.get(key);
    },
    async close() {
      for (const browser of browsers.values()) await browser.close();
      browsers.clear();
    },
  };
}

/** The CSRF token the page carries (<meta name="csrf-token">), or null signed out. */
export async function csrfToken(page) {
  return page.evaluate(() => document.querySelector('meta[name="csrf-token"]')?.content ?? null);
}

/**
 * A same-origin fetch made by the page's own document, as its scripts would make it: { status, body }.
 * `token`: the X-CSRF-Token to send (none when null).
 */
export async function fetchFromPage(page, method, path, { body, token = null } = {}) {
  return page.evaluate(
    async ({ method, path, body, token }) => {
      const headers = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers['x-csrf-token'] = token;
      const answer = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
      return { status: answer.status, body: await answer.json().catch(() => null) };
    },
    { method, path, body, token },
  );
}

/**
 * Uninstalls `plugin` from the organisation through the API, if it is installed: a flow test's set-up, so
 * that one failed run does not leave the next one a plugin already there. The page must be signed in
 * (as someone who may uninstall) and on one of plughub's pages.
 */
export async function uninstallIfInstalled(page, plugin, org = ORG) {
  const installed = await fetchFromPage(page, 'GET', `/api/orgs/${encodeURIComponent(org)}/plugins`);
  assert.equal(installed.status, 200, `the installed plugins of ${org}: HTTP ${installed.status}`);
  // The list keeps uninstalled instances (archived), as the record of what was there.
  const gone = (p) => p.status === 'archived' || String(p.state).toLowerCase() === 'uninstalled';
  const instance = installed.body.plugins.find((p) => p.plugin === plugin && !gone(p));
  if (!instance) return false;
  const path = `/api/orgs/${encodeURIComponent(org)}/plugins/${encodeURIComponent(plugin)}`;
  const token = await csrfToken(page);
  // An active instance is deactivated first (for every agent), as uninstalling requires.
  if (['active', 'executing'].includes(String(instance.state).toLowerCase())) {
    const off = await fetchFromPage(page, 'POST', `${path}/deactivate`, { body: {}, token });
    assert.ok(off.status < 300, `deactivating ${plugin} left by an earlier run: HTTP ${off.status} ${JSON.stringify(off.body)}`);
  }
  const answer = await fetchFromPage(page, 'DELETE', path, { token });
  assert.ok(answer.status < 300, `uninstalling ${plugin} left by an earlier run: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return true;
}
