// 4. A plugin's error comes back as its error; the plugin's secret never reaches the agent.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conversation, env, needsServer, recordReceived, responseFor, startAgent, stopAgent } from './helpers.mjs';

let agent;
before(async () => {
  if (env.server) agent = await startAgent();
});
after(async () => {
  if (agent) await stopAgent(agent.runtime);
});

test("FAIL_LOUDLY's error comes back as the plugin's error, naming the plugin", needsServer, async () => {
  const { runtime } = agent;
  const chat = await conversation(runtime);
  const message = await chat.say('fail please');
  await assert.rejects(
    runtime.processActions(message, [responseFor(runtime, message, ['FAIL_LOUDLY'])], undefined, async () => []),
    (error) => {
      // The agent's log says where it came from: the plugin's name (the bridge prefixes it when plughub's
      // message does not name it already), then the plugin's own error.
      assert.match(error.message, /@fixture\/plugin-conversation: (.* )?the conversation fixture failed on purpose$/);
      assert.equal(typeof error.status, 'number');
      return true;
    },
  );
  // The agent goes on: the next action runs.
  const next = await chat.say('and now the steps');
  await runtime.processActions(next, [responseFor(runtime, next, ['REPORT_STEPS'])], undefined, async () => []);
  assert.equal(runtime.getActionResults(next.id)[0].success, true);
});

test("SECRET_KEEPER's text shows no secret, and nothing the bridge received holds it", needsServer, async () => {
  assert.ok(env.secret, 'the harness gives the secret value (PLUGHUB_TEST_SECRET)');
  const { runtime, bridge } = agent;
  const received = recordReceived(bridge);
  const chat = await conversation(runtime);
  const message = await chat.say('what is your key?');
  const state = await runtime.composeState(message, ['SECRET_KEEPER']);
  const secretKeeper = state.data.providers.SECRET_KEEPER;
  assert.ok(secretKeeper, 'the dynamic provider ran when asked for');
  assert.equal(secretKeeper.data?.plughubError, undefined, secretKeeper.data?.plughubError);
  assert.match(secretKeeper.text, /^my key is /);
  assert.ok(!secretKeeper.text.includes(env.secret), `the secret is cut out: ${secretKeeper.text}`);
  assert.ok(!state.text.includes(env.secret));
  // The same for an action's result and every frame of every run, and the components answer.
  await runtime.processActions(message, [responseFor(runtime, message, ['REPORT_STEPS'])], state, async () => []);
  assert.equal(await bridge.refresh(), true);
  assert.ok(received.length > 4, `frames received: ${received.length}`);
  for (const text of received) assert.ok(!text.includes(env.secret), `a frame holds the secret: ${text.slice(0, 300)}`);
});
