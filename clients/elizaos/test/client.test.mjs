// The bridge's client against a stand-in plughub on loopback: what it sends, the order of callbacks under
// a slow agent, runtime calls, the frame limit, time-outs, refusals and the limit of runs in flight.
// Needs no plughub; runs in `npm test` alone too.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { PlughubClient, runFrame, MAX_FRAME_BYTES } from '../dist/index.js';
import { startFakePlughub } from './fake-plughub.mjs';

const target = { plugin: '@fixture/plugin-conversation', kind: 'action', name: 'REPORT_STEPS' };
const message = { entityId: 'e', roomId: 'r', content: { text: 'hi' } };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function client(fake, extra = {}) {
  return new PlughubClient({ url: fake.url, token: fake.token, org: 'acme', agent: 'eliza', ...extra });
}

test('the run frame names one component, keeps values and text, and drops data then text when too big', () => {
  const small = JSON.parse(runFrame(target, message, { values: { a: 1 }, data: { b: 2 }, text: 't' }, 30));
  assert.equal(small.type, 'run');
  assert.equal(small.action, 'REPORT_STEPS');
  assert.equal(small.provider, undefined);
  assert.deepEqual(small.state, { values: { a: 1 }, data: { b: 2 }, text: 't' });
  assert.equal(small.timeout, 30);
  assert.equal(JSON.parse(runFrame(target, message, undefined, 0.5)).timeout, 1, 'whole seconds');

  const cyclic = { values: {}, data: {}, text: 'kept' };
  cyclic.data.self = cyclic;
  assert.deepEqual(JSON.parse(runFrame(target, message, cyclic, 30)).state, { values: {}, text: 'kept' });

  const big = 'x'.repeat(MAX_FRAME_BYTES);
  const framed = runFrame(target, message, { values: { v: 1 }, data: { big }, text: big }, 30);
  assert.ok(Buffer.byteLength(framed) < MAX_FRAME_BYTES);
  assert.deepEqual(JSON.parse(framed).state, { values: { v: 1 }, text: '' });
  assert.throws(() => runFrame(target, { content: { text: big } }, undefined, 30), /does not fit in one frame/);
});

test('callbacks come in order, one after another, and the result only after the last', async () => {
  const fake = await startFakePlughub({
    onRun: async (frame, peer) => {
      for (let i = 1; i <= 50; i += 1) peer.send({ type: 'callback', content: { text: `step ${i}` } });
      peer.result({ success: true, text: 'done' });
    },
  });
  try {
    const seen = [];
    let inside = 0;
    const result = await client(fake).run(target, message, undefined, {
      callback: async (content) => {
        inside += 1;
        assert.equal(inside, 1, 'callbacks never overlap');
        await sleep(seen.length % 7 === 0 ? 5 : 0);
        seen.push(content.text);
        inside -= 1;
      },
    });
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, k) => `step ${k + 1}`));
    assert.deepEqual(result.result, { success: true, text: 'done' });
    assert.equal(fake.runs[0].action, 'REPORT_STEPS');
    assert.equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});

test('runtime calls reach the allowed methods of the given runtime; others are refused', async () => {
  let asked;
  const fake = await startFakePlughub({
    onRun: async (_frame, peer) => {
      const memories = await peer.call('getMemories', [{ roomId: 'r', count: 3 }]);
      const [a, b] = await Promise.all([peer.call('getRoom', ['r']), peer.call('useModel', ['TEXT_SMALL', { prompt: 'p' }])]);
      let refused = '';
      try {
        await peer.call('deleteMemory', ['m']);
      } catch (e) {
        refused = e.message;
      }
      peer.result({ memories, a, b, refused });
    },
  });
  const runtime = {
    getMemories: async (query) => {
      asked = query;
      return [{ content: { text: 'one' } }];
    },
    getRoom: async (id) => ({ id, name: 'lobby' }),
    useModel: async (type, params) => `${type}:${params.prompt}`,
    deleteMemory: async () => assert.fail('never called'),
  };
  try {
    const { result } = await client(fake).run(target, message, undefined, { runtime });
    assert.deepEqual(asked, { roomId: 'r', count: 3, tableName: 'messages' });
    assert.deepEqual(result.memories, [{ content: { text: 'one' } }]);
    assert.deepEqual(result.a, { id: 'r', name: 'lobby' });
    assert.equal(result.b, 'TEXT_SMALL:p');
    assert.match(result.refused, /runtime\.deleteMemory is not answered by the bridge/);
  } finally {
    await fake.close();
  }
});

test("an error frame becomes an error with plughub's message, status and code", async () => {
  const fake = await startFakePlughub({
    onRun: (_frame, peer) => peer.error(502, 'plugin_failed', 'the conversation fixture failed on purpose'),
  });
  try {
    await assert.rejects(client(fake).run(target, message, undefined), (e) => {
      assert.equal(e.message, 'the conversation fixture failed on purpose');
      assert.equal(e.status, 502);
      assert.equal(e.code, 'plugin_failed');
      return true;
    });
  } finally {
    await fake.close();
  }
});

test('a run that never answers times out cleanly and its socket is closed', async () => {
  let closed;
  const fake = await startFakePlughub({
    onRun: (_frame, peer) => {
      closed = new Promise((resolve) => peer.ws.on('close', resolve));
    },
  });
  try {
    const started = Date.now();
    await assert.rejects(client(fake, { timeoutSeconds: 0.5 }).run(target, message, undefined), /did not finish within 0.5 s/);
    assert.ok(Date.now() - started < 3000);
    await closed;
  } finally {
    await fake.close();
  }
});

test('refused, closed early, wrong token: each a clear error', async () => {
  const unused = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const down = new PlughubClient({ url: `http://127.0.0.1:${unused}`, token: 't', org: 'acme', agent: 'eliza' });
  await assert.rejects(down.run(target, message, undefined), /ECONNREFUSED.*check PLUGHUB_URL/);
  await assert.rejects(down.components(2000), /could not read the agent's components.*ECONNREFUSED.*127\.0\.0\.1/);

  const fake = await startFakePlughub({ onRun: (_frame, peer) => peer.ws.close(1011, 'going away') });
  try {
    await assert.rejects(client(fake).run(target, message, undefined), /closed the connection .* before it answered \(code 1011, going away\)/);
    const wrong = client(fake, { token: 'phk_wrong' });
    await assert.rejects(wrong.run(target, message, undefined), (e) => {
      assert.equal(e.status, 401);
      assert.match(e.message, /401 token_unknown: no such token.*check PLUGHUB_TOKEN/);
      return true;
    });
    await assert.rejects(wrong.components(), /401 token_unknown.*check PLUGHUB_TOKEN/);
  } finally {
    await fake.close();
  }
});

test('at most maxRuns runs are in flight; the rest wait their turn', async () => {
  let now = 0;
  let most = 0;
  const fake = await startFakePlughub({
    onRun: async (_frame, peer) => {
      now += 1;
      most = Math.max(most, now);
      await sleep(30);
      now -= 1;
      peer.result({ success: true });
    },
  });
  try {
    const c = client(fake, { maxRuns: 3 });
    const runs = Array.from({ length: 10 }, () => c.run(target, message, undefined));
    await sleep(10);
    assert.equal(c.inFlight, 3);
    assert.equal(c.queued, 7);
    await Promise.all(runs);
    assert.equal(most, 3);
    assert.equal(c.inFlight, 0);
  } finally {
    await fake.close();
  }
});
