// 5. An agent with a local plugin that has an action named REPORT_STEPS: the bridge registers the rest,
// skips that one and says so.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { skippedComponents } from '../dist/index.js';
import { env, needsServer, startAgent, stopAgent } from './helpers.mjs';

const localReportSteps = {
  name: 'REPORT_STEPS',
  description: 'The local one',
  similes: [],
  examples: [],
  validate: async () => true,
  handler: async () => ({ success: true, text: 'local steps' }),
};
const localPlugin = { name: 'local-steps', description: 'A local plugin', actions: [localReportSteps] };

let agent;
before(async () => {
  if (env.server) agent = await startAgent({ plugins: [localPlugin] });
});
after(async () => {
  if (agent) await stopAgent(agent.runtime);
});

test('the local REPORT_STEPS stays; the bridge skips plughub’s and lists it', needsServer, async () => {
  const { runtime, bridge } = agent;
  assert.ok(bridge.components, 'plughub answered');
  const all = runtime.actions.filter((a) => a.name === 'REPORT_STEPS');
  assert.equal(all.length, 1);
  assert.equal(all[0], localReportSteps);
  assert.deepEqual(skippedComponents(runtime), [
    { kind: 'action', name: 'REPORT_STEPS', plugin: '@fixture/plugin-conversation', heldBy: 'local' },
  ]);
  assert.deepEqual(bridge.skipped, skippedComponents(runtime));
  const line = bridge.logLines.find((l) => l.message.includes('skipped action REPORT_STEPS'));
  assert.ok(line, 'one line names it');
  assert.match(line.message, /@fixture\/plugin-conversation/);
  // The others are there, and a refresh does not skip it twice or register it.
  for (const name of ['ASK_MODEL', 'FAIL_LOUDLY']) assert.ok(runtime.actions.some((a) => a.name === name));
  assert.equal(await bridge.refresh(), true);
  assert.equal(bridge.skipped.length, 1);
  assert.equal(runtime.actions.filter((a) => a.name === 'REPORT_STEPS').length, 1);
});
