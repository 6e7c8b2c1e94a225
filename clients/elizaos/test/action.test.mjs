// 2. An action run through the agent's own action processing reaches the sandboxed plugin: its callbacks
// come in order and the runtime keeps its result.

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

test('REPORT_STEPS through processActions: steps 1, 2, 3 in order, then the result', needsServer, async () => {
  const { runtime, bridge } = agent;
  const received = recordReceived(bridge);
  const chat = await conversation(runtime);
  const message = await chat.say('the launch');
  const state = await runtime.composeState(message);
  const seen = [];
  await runtime.processActions(message, [responseFor(runtime, message, ['REPORT_STEPS'])], state, async (content) => {
    seen.push(content.text);
    return [];
  });
  assert.deepEqual(seen, ['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
  const results = runtime.getActionResults(message.id);
  assert.equal(results.length, 1);
  const [result] = results;
  assert.equal(result.success, true);
  assert.match(result.text, /^three steps for the launch \(key /);
  assert.equal(result.values.steps, 3);
  assert.equal(result.values.room, message.roomId);
  if (env.secret) {
    assert.ok(!result.text.includes(env.secret), 'the secret is cut out of the result');
    for (const text of received) assert.ok(!text.includes(env.secret), `no secret in ${text.slice(0, 200)}`);
  }
  // The run went over one socket: the run frame out, the callbacks and the result in.
  assert.ok(received.filter((t) => t.includes('"type":"callback"')).length === 3);
});

test('the direct handler of the proxy runs too, and concurrent runs each keep their own order', needsServer, async () => {
  const { runtime } = agent;
  const chat = await conversation(runtime);
  const message = await chat.say('in parallel');
  const action = runtime.actions.find((a) => a.name === 'REPORT_STEPS');
  const runs = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const seen = [];
      const state = { values: { agentName: 'Eliza' }, data: {}, text: '' };
      const result = await action.handler(runtime, message, state, {}, async (content) => {
        seen.push(content.text);
        return [];
      });
      return { seen, result };
    }),
  );
  for (const { seen, result } of runs) {
    assert.deepEqual(seen, ['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
    assert.equal(result.success, true);
    assert.equal(result.values.agentName, 'Eliza', 'the plugin read the state it was given');
  }
});
