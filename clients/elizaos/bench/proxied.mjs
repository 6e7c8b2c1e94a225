// The cost of the bridge: @fixture/plugin-conversation's REPORT_STEPS run through an agent's own action
// processing (runtime.processActions), proxied to plughub's sandbox, against the same plugin registered
// in the agent's process. Round-trip latency (p50, p99) and throughput, one run at a time and 8 at once.
//
// Needs what the tests need (scripts/bench-agent-bridge.sh sets it up and runs `npm run bench`):
// PLUGHUB_URL, PLUGHUB_TOKEN, PLUGHUB_ORG, PLUGHUB_AGENT. BENCH_RUNS (default 200) runs per row,
// after BENCH_WARMUP (default 20). plughub must not limit executions (serve --executions-per-minute 0).
//
// processActions also composes the state, which runs the agent's providers: the plugin's
// CONVERSATION_SUMMARY among them (proxied, or in-process), as an agent would. The "handler" rows call the
// action's handler alone.

import { performance } from 'node:perf_hooks';
import { conversationPlugin } from '../../../crates/plughub-testkit/fixtures/plugin-conversation/index.js';
import { conversation, env, responseFor, startAgent, stopAgent } from '../test/helpers.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const CONCURRENCY = 8;

if (!env.server) {
  console.error('set PLUGHUB_URL, PLUGHUB_TOKEN, PLUGHUB_ORG and PLUGHUB_AGENT (scripts/bench-agent-bridge.sh does)');
  process.exit(2);
}

const proxied = await startAgent({ name: 'Eliza Proxied' });
if (!proxied.bridge.components) {
  console.error(`plughub did not answer: ${proxied.bridge.lastError?.message}`);
  process.exit(1);
}
// The same plugin in the agent's process (another agent in the same database, without the bridge).
const local = await startAgent({
  name: 'Eliza Local',
  bridge: false,
  bridgeSettings: false,
  plugins: [{ ...conversationPlugin, config: { CONVERSATION_API_KEY: 'local-bench-key' } }],
  settings: { CONVERSATION_API_KEY: 'local-bench-key' },
});

async function viaProcessActions(agent) {
  const chat = await conversation(agent.runtime);
  return async (i) => {
    const message = await chat.say(`run ${i}`, false);
    let callbacks = 0;
    await agent.runtime.processActions(message, [responseFor(agent.runtime, message, ['REPORT_STEPS'])], undefined, async () => {
      callbacks += 1;
      return [];
    });
    const [result] = agent.runtime.getActionResults(message.id);
    if (callbacks !== 3 || !result?.success) throw new Error(`run ${i}: ${callbacks} callbacks, ${JSON.stringify(result)}`);
  };
}

async function viaHandler(agent) {
  const chat = await conversation(agent.runtime);
  const action = agent.runtime.actions.find((a) => a.name === 'REPORT_STEPS');
  const state = { values: { agentName: agent.runtime.character.name }, data: {}, text: '' };
  return async (i) => {
    const message = await chat.say(`run ${i}`, false);
    let callbacks = 0;
    const result = await action.handler(agent.runtime, message, state, {}, async () => {
      callbacks += 1;
      return [];
    });
    if (callbacks !== 3 || !result?.success) throw new Error(`run ${i}: ${callbacks} callbacks, ${JSON.stringify(result)}`);
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measure(run, concurrency) {
  for (let i = 0; i < WARMUP; i += 1) await run(-i - 1);
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < RUNS) {
        const i = next++;
        const t = performance.now();
        await run(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rate: RUNS / seconds };
}

const rows = [];
for (const [path, make] of [
  ['processActions', viaProcessActions],
  ['handler', viaHandler],
]) {
  for (const [where, agent] of [
    ['in-process', local],
    ['proxied', proxied],
  ]) {
    for (const concurrency of [1, CONCURRENCY]) {
      const result = await measure(await make(agent), concurrency);
      rows.push({ path, where, concurrency, ...result });
      process.stderr.write('.');
    }
  }
}
process.stderr.write('\n');

const table = [
  ['path', 'REPORT_STEPS', 'at once', 'p50 ms', 'p99 ms', 'runs/s'],
  ...rows.map((r) => [r.path, r.where, String(r.concurrency), r.p50.toFixed(2), r.p99.toFixed(2), r.rate.toFixed(1)]),
];
const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
console.log(`REPORT_STEPS (3 callbacks, a result), ${RUNS} runs per row after ${WARMUP} to warm up`);
for (const [i, row] of table.entries()) {
  console.log(`| ${row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ')} |`);
  if (i === 0) console.log(`|${widths.map((w, c) => (c >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
}

await stopAgent(proxied.runtime);
await local.runtime.stop();
