// Cross-site request forgery: a signed-in session's cookie must not be enough to change anything.
// - A page of another origin on loopback (this file serves it: the server's host on another port, which is
//   the same *site*, so the SameSite=Strict cookie alone does not stop it) posts a form to the server: the
//   server refuses it (403) and the session goes on.
// - A same-origin fetch that changes something needs the `X-CSRF-Token` header, with the token the page
//   carries in <meta name="csrf-token">: without it 403, with it the change is made.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { BASE_URL, ORG, launchChromium, screenshot, signIn, url, whoAmI } from './helpers.mjs';

let other; // the second origin: { server, origin }
before(async () => {
  const target = url('/api/auth/logout');
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>elsewhere</title></head>
<body><form id="forged" method="post" action="${target}"><input type="hidden" name="x" value="1"></form>
<script>document.getElementById('forged').submit();</script></body></html>`);
  });
  const host = new URL(BASE_URL).hostname;
  await new Promise((resolve) => server.listen(0, host, resolve));
  other = { server, origin: `http://${host}:${server.address().port}` };
});
after(async () => {
  await new Promise((resolve) => other?.server.close(resolve) ?? resolve());
});

test('csrf: a form posted from another origin is refused and the session goes on', async () => {
  const { page, close } = await launchChromium();
  try {
    await signIn(page, 'owner');
    assert.equal((await whoAmI(page)).status, 200);
    const [forged] = await Promise.all([
      page.waitForResponse((r) => r.url() === url('/api/auth/logout') && r.request().method() === 'POST'),
      page.goto(other.origin),
    ]);
    await screenshot(page, 'csrf-forged-post');
    assert.equal(forged.status(), 403, 'the cross-origin post is refused');
    await page.goto(url('/plugins'));
    assert.equal((await whoAmI(page)).status, 200, 'the session survives the forged sign-out');
  } finally {
    await close();
  }
});

test('csrf: a same-origin change needs the page\'s X-CSRF-Token', async () => {
  const { page, close } = await launchChromium();
  try {
    await signIn(page, 'owner');
    await page.goto(url('/plugins'));
    const token = await page.evaluate(() => document.querySelector('meta[name="csrf-token"]')?.content ?? null);
    assert.ok(token, 'the signed-in page carries <meta name="csrf-token">');

    const createAgent = (name, headers) =>
      page.evaluate(
        async ({ path, name, headers }) => {
          const answer = await fetch(path, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ name }),
          });
          return answer.status;
        },
        { path: `/api/orgs/${ORG}/agents`, name, headers },
      );
    const suffix = Date.now().toString(36);
    assert.equal(await createAgent(`csrf-without-${suffix}`, {}), 403, 'refused without the token');
    assert.equal(await createAgent(`csrf-wrong-${suffix}`, { 'x-csrf-token': `${token}x` }), 403, 'refused with a wrong token');
    const status = await createAgent(`csrf-with-${suffix}`, { 'x-csrf-token': token });
    assert.ok(status >= 200 && status < 300, `made with the token (HTTP ${status})`);
  } finally {
    await close();
  }
});
