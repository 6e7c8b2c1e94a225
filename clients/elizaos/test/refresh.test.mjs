// Refreshing: a component newly active gets a proxy; one no longer active answers an error saying so,
// and comes back when activated again. A stand-in plughub on loopback plays the server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakePlughub } from './fake-plughub.mjs';
import { conversation, responseFor, startAgent, stopAgent } from './helpers.mjs';

const plugin = (name, actions, extra = {}) => ({
  plugin: name,
  version: '1.0.0',
  priority: 0,
  actions: actions.map((a) => ({ name: a, description: `${a} of ${name}`, similes: [], examples: [] })),
  providers: [],
  evaluators: [],
  models: [],
  ...extra,
});
let active;
let fake;
let agent;
before(async () => {
  active = [plugin('@fixture/one', ['ONE'])];
  fake = await startFakePlughub({
    components: () => ({ org: 'acme', agent: 'eliza', models: 'plughub', plugins: active, unavailable: [] }),
    onRun: (frame, peer) => peer.result({ success: true, text: `${frame.plugin} ran ${frame.action}` }),
  });
  agent = await startAgent({
    name: 'Eliza Refresh',
    settings: { PLUGHUB_URL: fake.url, PLUGHUB_TOKEN: fake.token, PLUGHUB_ORG: 'acme', PLUGHUB_AGENT: 'eliza', PLUGHUB_REFRESH_SECONDS: '3600' },
  });
});
after(async () => {
  if (agent) await stopAgent(agent.runtime);
  await fake?.close();
});

test('new components get proxies, gone ones answer that they are no longer active, and come back', async () => {
  const { runtime, bridge } = agent;
  const chat = await conversation(runtime);
  const message = await chat.say('go');
  const run = async (name) => {
    await runtime.processActions(message, [responseFor(runtime, message, [name])], undefined, async () => []);
    return runtime.getActionResults(message.id)[0];
  };
  assert.equal((await run('ONE')).text, '@fixture/one ran ONE');
  assert.ok(!runtime.actions.some((a) => a.name === 'TWO'));

  active = [plugin('@fixture/two', ['TWO', 'THREE'], { priority: 1 })];
  assert.equal(await bridge.refresh(), true);
  assert.equal((await run('TWO')).text, '@fixture/two ran TWO');
  await assert.rejects(run('ONE'), (error) => {
    assert.match(error.message, /^@fixture\/one: action ONE is no longer active for agent eliza of acme in plughub/);
    return true;
  });
  assert.ok(bridge.logLines.some((l) => l.message === 'action ONE of @fixture/one is no longer active for this agent in plughub'));

  // Two plughub plugins with one name: the one of higher priority keeps it, the other is skipped.
  active = [plugin('@fixture/two', ['TWO', 'THREE'], { priority: 1 }), plugin('@fixture/one', ['ONE', 'TWO'])];
  assert.equal(await bridge.refresh(), true);
  assert.equal((await run('ONE')).text, '@fixture/one ran ONE');
  assert.equal((await run('TWO')).text, '@fixture/two ran TWO');
  assert.deepEqual(bridge.skipped, [{ kind: 'action', name: 'TWO', plugin: '@fixture/one', heldBy: '@fixture/two' }]);
  assert.equal(runtime.actions.filter((a) => a.name === 'TWO').length, 1);
});
