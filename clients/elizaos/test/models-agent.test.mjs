// 7. When the organisation sets the agent's models to "agent", a plugin's useModel comes back over the
// run's socket and the agent's own model answers it. A second agent of the harness
// (PLUGHUB_MODELS_AGENT) keeps this from changing the other tests' agent.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conversation, env, needsServer, responseFor, startAgent, stopAgent } from './helpers.mjs';

const asked = [];
const localModel = {
  name: 'tiny-local-model',
  description: 'Answers TEXT_SMALL deterministically',
  models: {
    TEXT_SMALL: async (_runtime, params) => {
      asked.push(params.prompt);
      return `the agent's own model read ${params.prompt.length} characters`;
    },
  },
};

let agent;
before(async () => {
  if (!env.server) return;
  assert.ok(env.modelsAgent, 'the harness names a second agent (PLUGHUB_MODELS_AGENT)');
  const url = `${env.url.replace(/\/+$/, '')}/api/orgs/${encodeURIComponent(env.org)}/agents/${encodeURIComponent(env.modelsAgent)}/models`;
  const answer = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ models: 'agent' }),
  });
  assert.ok(answer.ok, `PUT ${url}: ${answer.status} ${await answer.text()}`);
  agent = await startAgent({ name: 'Eliza Models', settings: { PLUGHUB_AGENT: env.modelsAgent }, plugins: [localModel] });
});
after(async () => {
  if (agent) await stopAgent(agent.runtime);
});

test("ASK_MODEL's callback carries the agent's own model's answer", needsServer, async () => {
  const { runtime, bridge } = agent;
  assert.equal(bridge.components?.models, 'agent', `components: ${JSON.stringify(bridge.components)}`);
  const chat = await conversation(runtime);
  const message = await chat.say('what is plughub?');
  const seen = [];
  await runtime.processActions(message, [responseFor(runtime, message, ['ASK_MODEL'])], undefined, async (content) => {
    seen.push(content.text);
    return [];
  });
  const prompt = 'Answer: what is plughub?';
  assert.deepEqual(asked, [prompt]);
  const expected = `the agent's own model read ${prompt.length} characters`;
  assert.deepEqual(seen, [expected]);
  const [result] = runtime.getActionResults(message.id);
  assert.equal(result.success, true);
  assert.equal(result.text, expected);
});
