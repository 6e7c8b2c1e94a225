// @plughub/plugin-remote: an elizaOS plugin that gives an agent the plugins its organisation installed,
// configured and activated for it in plughub, run in plughub's sandbox.

import type { IAgentRuntime, Plugin } from '@elizaos/core';
import { PlughubBridge } from './bridge.js';

export { PlughubBridge, SETTINGS, type BridgeLogLine, type SkippedComponent } from './bridge.js';
export {
  PlughubClient,
  PlughubError,
  runFrame,
  type ClientOptions,
  type RunHandlers,
  type RunState,
} from './client.js';
export * from './protocol.js';

const bridges = new WeakMap<object, PlughubBridge>();

/** The bridge of an agent's runtime (undefined before the plugin's init ran on it). */
export function getBridge(runtime: object): PlughubBridge | undefined {
  return bridges.get(runtime);
}

/** The plughub components the bridge skipped on this runtime because the agent had their names already. */
export function skippedComponents(runtime: object): PlughubBridge['skipped'] {
  return bridges.get(runtime)?.skipped ?? [];
}

export const plughubRemotePlugin: Plugin = {
  name: 'plughub-remote',
  description:
    "Uses the plugins the agent's organisation installed, configured and activated for it in plughub, " +
    "run in plughub's sandbox (settings PLUGHUB_URL, PLUGHUB_TOKEN, PLUGHUB_ORG, PLUGHUB_AGENT)",
  init: async (_config: Record<string, string>, runtime: IAgentRuntime) => {
    const previous = bridges.get(runtime);
    previous?.stop();
    const bridge = new PlughubBridge(runtime);
    bridges.set(runtime, bridge);
    await bridge.start();
  },
};

export default plughubRemotePlugin;
