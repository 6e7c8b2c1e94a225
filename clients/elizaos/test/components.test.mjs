// 1. The agent's runtime lists the proxied components of the plugin plughub runs for it, as the plugin
// declares them: the planner sees them as if they were local.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conversationPlugin } from '../../../crates/plughub-testkit/fixtures/plugin-conversation/index.js';
import { env, needsServer, recordReceived, startAgent, stopAgent } from './helpers.mjs';

let agent;
before(async () => {
  if (env.server) agent = await startAgent();
});
after(async () => {
  if (agent) await stopAgent(agent.runtime);
});

const plain = (value) => JSON.parse(JSON.stringify(value ?? null));

test('the runtime lists the proxied actions, providers and evaluator with their declarations', needsServer, async () => {
  const { runtime, bridge } = agent;
  assert.ok(bridge.components, `plughub answered the components (${bridge.lastError?.message ?? ''})`);
  assert.equal(bridge.components.org, env.org);
  assert.equal(bridge.components.agent, env.agent);
  assert.deepEqual(bridge.skipped, []);

  for (const declared of conversationPlugin.actions) {
    const action = runtime.actions.find((a) => a.name === declared.name);
    assert.ok(action, `action ${declared.name} is registered`);
    assert.equal(action.description, declared.description);
    assert.deepEqual(action.similes, declared.similes ?? []);
    assert.deepEqual(plain(action.examples), plain(declared.examples ?? []));
    assert.equal(await action.validate(runtime, { content: {} }), true);
  }
  for (const declared of conversationPlugin.providers) {
    const provider = runtime.providers.find((p) => p.name === declared.name);
    assert.ok(provider, `provider ${declared.name} is registered`);
    assert.equal(provider.description, declared.description);
    assert.equal(provider.dynamic, declared.dynamic ?? false);
    assert.equal(provider.private, declared.private ?? false);
    assert.equal(provider.position, declared.position);
  }
  for (const declared of conversationPlugin.evaluators) {
    const evaluator = runtime.evaluators.find((e) => e.name === declared.name);
    assert.ok(evaluator, `evaluator ${declared.name} is registered`);
    assert.equal(evaluator.description, declared.description);
    assert.deepEqual(evaluator.similes, declared.similes ?? []);
    assert.deepEqual(plain(evaluator.examples), plain(declared.examples ?? []));
    assert.equal(evaluator.alwaysRun, true);
  }
  const names = bridge.registered.map((p) => `${p.kind}:${p.name}`).sort();
  assert.deepEqual(names, [
    'action:ASK_MODEL',
    'action:FAIL_LOUDLY',
    'action:REPORT_STEPS',
    'evaluator:NOTE_TAKER',
    'provider:CONVERSATION_SUMMARY',
    'provider:SECRET_KEEPER',
  ]);
  assert.ok(bridge.registered.every((p) => p.plugin === '@fixture/plugin-conversation' && p.active));
});

test("a refresh reads the components again and changes nothing that did not change", needsServer, async () => {
  const { runtime, bridge } = agent;
  const received = recordReceived(bridge);
  const before = runtime.actions.length;
  assert.equal(await bridge.refresh(), true);
  assert.equal(runtime.actions.length, before);
  assert.ok(received.length === 1 && !received[0].includes(env.secret ?? '\u0000'), 'the answer holds no secret');
});
