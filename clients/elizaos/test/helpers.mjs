// What the bridge's tests share: a real elizaOS AgentRuntime (with @elizaos/plugin-sql on PGlite in a
// temporary folder) carrying the bridge, the plughub set up by scripts/agent-bridge-tests.sh (its address
// and token in the environment), and a conversation in the agent's own database.
//
// One PGlite per process (the first runtime's folder wins): each test file is its own process, and a file
// that starts a second runtime gives it another agent name.

import { AgentRuntime, ChannelType, stringToUuid } from '@elizaos/core';
import sqlPlugin from '@elizaos/plugin-sql';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { getBridge, plughubRemotePlugin } from '../dist/index.js';

/** What the harness set up; `server` is false when the tests run without it (those tests skip). */
export const env = {
  url: process.env.PLUGHUB_URL,
  token: process.env.PLUGHUB_TOKEN,
  org: process.env.PLUGHUB_ORG ?? 'acme',
  agent: process.env.PLUGHUB_AGENT ?? 'eliza',
  modelsAgent: process.env.PLUGHUB_MODELS_AGENT,
  secret: process.env.PLUGHUB_TEST_SECRET,
  server: Boolean(process.env.PLUGHUB_URL && process.env.PLUGHUB_TOKEN),
};

export const needsServer = env.server ? {} : { skip: 'PLUGHUB_URL and PLUGHUB_TOKEN are not set (scripts/agent-bridge-tests.sh sets them)' };

const folders = [];
process.on('exit', () => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/**
 * Starts an agent with plugin-sql, the bridge and `plugins`, its settings merged over the plughub
 * ones of the environment; `bridgeSettings: false` leaves those out, `bridge: false` the bridge itself.
 */
export async function startAgent({ name = 'Eliza', settings = {}, plugins = [], bridgeSettings = true, bridge = true } = {}) {
  const folder = mkdtempSync(join(tmpdir(), 'plughub-bridge-pglite-'));
  folders.push(folder);
  const plughub = bridgeSettings
    ? {
        PLUGHUB_URL: env.url,
        PLUGHUB_TOKEN: env.token,
        PLUGHUB_ORG: env.org,
        PLUGHUB_AGENT: env.agent,
      }
    : {};
  const runtime = new AgentRuntime({
    character: {
      name,
      bio: ['A test agent of the plughub bridge'],
      settings: { PGLITE_DATA_DIR: folder, ...plughub, ...settings },
    },
    plugins: [sqlPlugin, ...(bridge ? [plughubRemotePlugin] : []), ...plugins],
  });
  await runtime.registerPlugin(sqlPlugin);
  await runtime.runPluginMigrations();
  const started = Date.now();
  await runtime.initialize();
  const initMs = Date.now() - started;
  return { runtime, bridge: getBridge(runtime), initMs };
}

/** Frames and answers the bridge received from plughub, as text, to look for what must never be there. */
export function recordReceived(bridge) {
  const received = [];
  bridge.client.observer = (direction, text) => {
    if (direction === 'in') received.push(text);
  };
  return received;
}

/** A room of the agent with a named sender, and a message of theirs (not yet stored). */
export async function conversation(runtime, { roomName = 'The Plughub Lounge', sender = 'Ada Lovelace' } = {}) {
  const worldId = stringToUuid(`world-${randomUUID()}`);
  const roomId = stringToUuid(`room-${randomUUID()}`);
  const entityId = stringToUuid(`user-${randomUUID()}`);
  await runtime.ensureWorldExists({ id: worldId, name: 'Test world', agentId: runtime.agentId, messageServerId: worldId });
  await runtime.ensureRoomExists({ id: roomId, name: roomName, source: 'test', type: ChannelType.GROUP, worldId });
  await runtime.ensureConnection({ entityId, roomId, worldId, name: sender, userName: 'ada', source: 'test', type: ChannelType.GROUP });
  const say = async (text, store = true) => {
    const memory = {
      id: stringToUuid(randomUUID()),
      entityId,
      agentId: runtime.agentId,
      roomId,
      worldId,
      content: { text, source: 'test', channelType: ChannelType.GROUP },
      createdAt: Date.now(),
    };
    if (store) await runtime.createMemory(memory, 'messages');
    return memory;
  };
  return { worldId, roomId, entityId, say };
}

/** The response memory with which processActions runs `actions`. */
export function responseFor(runtime, message, actions) {
  return {
    id: stringToUuid(randomUUID()),
    entityId: runtime.agentId,
    agentId: runtime.agentId,
    roomId: message.roomId,
    content: { text: '', actions },
  };
}

/** A loopback port where nothing listens (it was free a moment ago). */
export async function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` is truthy, or fails after `ms`. */
export async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what} after ${ms} ms`);
}

/** Stops the agent and closes its database, so the process can end. */
export async function stopAgent(runtime) {
  getBridge(runtime)?.stop();
  await runtime.stop();
  await runtime.adapter?.close?.();
}
