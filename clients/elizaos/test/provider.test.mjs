// 3. A provider run in plughub reads the conversation from the agent's own database: its runtime calls
// come back over the run's socket and the agent answers them.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conversation, env, needsServer, startAgent, stopAgent } from './helpers.mjs';

let agent;
before(async () => {
  if (env.server) agent = await startAgent();
});
after(async () => {
  if (agent) await stopAgent(agent.runtime);
});

test("composeState includes CONVERSATION_SUMMARY's text, made from the agent's own messages, sender and room", needsServer, async () => {
  const { runtime } = agent;
  const chat = await conversation(runtime, { roomName: 'The Plughub Lounge', sender: 'Ada Lovelace' });
  await chat.say('first words');
  await chat.say('second thoughts');
  await chat.say('third time lucky');
  const message = await chat.say('and a fourth');
  const state = await runtime.composeState(message);
  assert.match(
    state.text,
    /Conversation in The Plughub Lounge with Ada Lovelace: 4 messages \(/,
    `state text: ${state.text}`,
  );
  for (const text of ['first words', 'second thoughts', 'third time lucky', 'and a fourth']) {
    assert.ok(state.text.includes(text), `${text} in ${state.text}`);
  }
  assert.equal(state.values.conversationMessages, 4);
  assert.equal(state.values.conversationSender, 'Ada Lovelace');
  assert.equal(state.data.providers.CONVERSATION_SUMMARY.data.texts.length, 4);
});

test('the evaluator NOTE_TAKER runs in plughub, through runtime.evaluate and through its handler', needsServer, async () => {
  const { runtime } = agent;
  const chat = await conversation(runtime);
  const message = await chat.say('note this down');
  const state = await runtime.composeState(message);
  const ran = await runtime.evaluate(message, state, false);
  assert.deepEqual(
    ran.map((e) => e.name),
    ['NOTE_TAKER'],
    'alwaysRun: it runs although the agent did not respond',
  );
  const evaluator = runtime.evaluators.find((e) => e.name === 'NOTE_TAKER');
  const result = await evaluator.handler(runtime, message, state, {});
  assert.deepEqual(result, { success: true, values: { noted: 'note this down' } });
});
