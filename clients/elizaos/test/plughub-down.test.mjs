// 6. plughub down: the agent still starts, the bridge says what failed and where, keeps trying in the
// background and registers once plughub answers; a run against plughub down, or one that never
// finishes, errors cleanly instead of hanging. Also: settings missing. Uses a stand-in plughub on
// loopback (test/fake-plughub.mjs), so it needs no real one.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startFakePlughub } from './fake-plughub.mjs';
import { conversation, freePort, responseFor, startAgent, stopAgent, until } from './helpers.mjs';

const components = {
  org: 'acme',
  agent: 'eliza',
  models: 'plughub',
  plugins: [
    {
      plugin: '@fixture/plugin-slow',
      version: '1.0.0',
      priority: 0,
      actions: [{ name: 'NEVER_ANSWERS', description: 'Accepts the run and never answers', similes: [], examples: [] }],
      providers: [{ name: 'SLOW_PROVIDER', description: 'Never answers either', dynamic: false, private: false }],
      evaluators: [],
      models: [],
    },
  ],
  unavailable: [{ plugin: '@fixture/plugin-broken', error: 'init failed: KEY is required' }],
};

const agents = [];
let fake;
after(async () => {
  for (const runtime of agents) await stopAgent(runtime);
  await fake?.close();
});

test('plughub down: the agent starts at once, the bridge logs why and registers when plughub comes up', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { runtime, bridge, initMs } = await startAgent({
    name: 'Eliza Down',
    settings: {
      PLUGHUB_URL: url,
      PLUGHUB_TOKEN: 'phk_test',
      PLUGHUB_ORG: 'acme',
      PLUGHUB_AGENT: 'eliza',
      PLUGHUB_TIMEOUT_SECONDS: '1',
    },
  });
  agents.push(runtime);
  assert.ok(initMs < 5000, `initialize took ${initMs} ms`);
  assert.equal(bridge.components, undefined);
  const line = bridge.logLines.find((l) => l.level === 'error');
  assert.ok(line, 'an error line');
  assert.match(line.message, /could not read the agent's components from plughub/);
  assert.ok(line.message.includes(`${url}/api/orgs/acme/agents/eliza/components`), line.message);
  assert.match(line.message, /ECONNREFUSED/);
  assert.match(line.message, /check PLUGHUB_URL and that plughub is running/);
  assert.ok(bridge.logLines.some((l) => /retrying in the background/.test(l.message)));
  assert.ok(!runtime.actions.some((a) => a.name === 'NEVER_ANSWERS'));

  // plughub comes up on that address: the bridge's next try (1 s, then 2 s, ...) registers the proxies.
  fake = await startFakePlughub({ components, port, onRun: () => {} });
  await until(() => runtime.actions.some((a) => a.name === 'NEVER_ANSWERS'), 10_000, 'the proxies');
  assert.ok(bridge.logLines.some((l) => /plughub answered at last/.test(l.message)));
  assert.ok(bridge.logLines.some((l) => /could not start @fixture\/plugin-broken for this agent: init failed/.test(l.message)));

  // A run that never finishes: PLUGHUB_TIMEOUT_SECONDS (1 s), then a clear error, and the socket closed.
  const chat = await conversation(runtime);
  const message = await chat.say('hello?');
  const started = Date.now();
  await assert.rejects(
    runtime.processActions(message, [responseFor(runtime, message, ['NEVER_ANSWERS'])], undefined, async () => []),
    /^PlughubError: action NEVER_ANSWERS of @fixture\/plugin-slow did not finish within 1 s \(PLUGHUB_TIMEOUT_SECONDS\)/,
  );
  assert.ok(Date.now() - started < 6000, "a second for the provider composeState runs, a second for the action");
  await until(() => fake.runs.length >= 1, 1000, 'the run to reach the stand-in');
  // A provider that times out does not break composeState: its text is empty and the error is in its data.
  const state = await runtime.composeState(message);
  assert.match(state.data.providers.SLOW_PROVIDER.data.plughubError, /SLOW_PROVIDER .* did not finish within 1 s/);

  // plughub goes down again: a proxy answers an error at once rather than hanging.
  await fake.close();
  fake = undefined;
  const again = Date.now();
  await assert.rejects(
    runtime.processActions(message, [responseFor(runtime, message, ['NEVER_ANSWERS'])], undefined, async () => []),
    /could not run action NEVER_ANSWERS of @fixture\/plugin-slow: .*ECONNREFUSED/,
  );
  assert.ok(Date.now() - again < 3000, "refused at once, not after the time-out");
});

test('settings missing: the agent starts, the bridge names what to set and registers nothing', async () => {
  const { runtime, bridge } = await startAgent({
    name: 'Eliza Unset',
    bridgeSettings: false,
    settings: { PLUGHUB_URL: 'http://127.0.0.1:9', PLUGHUB_ORG: 'acme' },
  });
  agents.push(runtime);
  assert.deepEqual(bridge.missingSettings, ['PLUGHUB_TOKEN', 'PLUGHUB_AGENT']);
  assert.equal(bridge.client, undefined);
  const [line] = bridge.logLines;
  assert.equal(line.level, 'error');
  assert.match(line.message, /^PLUGHUB_TOKEN, PLUGHUB_AGENT are not set, so no plughub plugin is registered; set it in/);
  assert.equal(bridge.registered.length, 0);
});
