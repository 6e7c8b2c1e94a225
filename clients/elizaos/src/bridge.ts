// The bridge of one agent: reads the components plughub runs for it, registers a proxy for each on the
// agent's runtime, keeps them current, and runs them in plughub when the agent calls them.

import type {
  Action,
  ActionResult,
  Evaluator,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  Provider,
  ProviderResult,
  State,
} from '@elizaos/core';
import { PlughubClient, PlughubError, describeCause, type RunState } from './client.js';
import type { ComponentKind, Components, RemotePlugin } from './protocol.js';

/** The settings the bridge reads with `runtime.getSetting`. */
export const SETTINGS = {
  url: 'PLUGHUB_URL',
  token: 'PLUGHUB_TOKEN',
  org: 'PLUGHUB_ORG',
  agent: 'PLUGHUB_AGENT',
  refresh: 'PLUGHUB_REFRESH_SECONDS',
  timeout: 'PLUGHUB_TIMEOUT_SECONDS',
  maxRuns: 'PLUGHUB_MAX_RUNS',
} as const;

/** A component of plughub that the bridge did not register: the agent has that name already. */
export interface SkippedComponent {
  kind: ComponentKind;
  name: string;
  /** The plughub plugin it came from. */
  plugin: string;
  /** Who has the name: `local` (a plugin of the agent) or another plughub plugin's name. */
  heldBy: string;
}

/** A line the bridge logged, kept for tests and diagnostics (the last 200). */
export interface BridgeLogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
}

interface ProxyEntry {
  kind: ComponentKind;
  name: string;
  plugin: string;
  version?: string;
  active: boolean;
}

/** How long init waits for plughub's first answer before going on in the background. */
const FIRST_FETCH_MS = 3_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

function numberSetting(runtime: IAgentRuntime, key: string, fallback: number): number {
  const raw = runtime.getSetting(key);
  if (raw === null || raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function stringSetting(runtime: IAgentRuntime, key: string): string | undefined {
  const raw = runtime.getSetting(key);
  if (raw === null || raw === undefined || typeof raw === 'boolean') return undefined;
  const value = String(raw).trim();
  return value === '' ? undefined : value;
}

function label(kind: ComponentKind): string {
  return kind;
}

function article(kind: ComponentKind): string {
  return kind === 'provider' ? 'a' : 'an';
}

export class PlughubBridge {
  readonly runtime: IAgentRuntime;
  /** Set once the settings are all there. */
  client?: PlughubClient;
  /** Components not registered because the agent already has their name. */
  readonly skipped: SkippedComponent[] = [];
  /** The last lines logged. */
  readonly logLines: BridgeLogLine[] = [];
  /** The settings that were missing at init (then nothing is registered). */
  missingSettings: string[] = [];
  /** plughub's last components answer. */
  components?: Components;
  /** The last error reading the components, cleared by the next answer. */
  lastError?: Error;
  private readonly proxies = new Map<string, ProxyEntry>();
  private readonly skippedKeys = new Set<string>();
  private refreshSeconds = 60;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readyWaiters: (() => void)[] = [];

  constructor(runtime: IAgentRuntime) {
    this.runtime = runtime;
  }

  private log(level: BridgeLogLine['level'], message: string): void {
    this.logLines.push({ level, message });
    if (this.logLines.length > 200) this.logLines.shift();
    const line = `plughub-remote: ${message}`;
    const logger = (this.runtime as unknown as { logger?: Record<string, unknown> }).logger;
    const fn = logger?.[level];
    if (typeof fn === 'function') (fn as (m: string) => void).call(logger, line);
    else console[level](line);
  }

  /** Reads the settings and the components; registers what plughub answers. Never throws. */
  async start(): Promise<void> {
    const runtime = this.runtime;
    const url = stringSetting(runtime, SETTINGS.url);
    const token = stringSetting(runtime, SETTINGS.token);
    const org = stringSetting(runtime, SETTINGS.org);
    const agent = stringSetting(runtime, SETTINGS.agent);
    const missing = (
      [
        [SETTINGS.url, url],
        [SETTINGS.token, token],
        [SETTINGS.org, org],
        [SETTINGS.agent, agent],
      ] as const
    )
      .filter(([, value]) => value === undefined)
      .map(([key]) => key);
    if (missing.length > 0) {
      this.missingSettings = missing;
      this.log(
        'error',
        `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set, so no plughub plugin is registered; ` +
          "set it in the character's settings (or secrets, for PLUGHUB_TOKEN) or the agent's environment: " +
          'PLUGHUB_URL (http(s)://host:port of plughub), PLUGHUB_TOKEN (plughub admin create-token), ' +
          'PLUGHUB_ORG (the organisation), PLUGHUB_AGENT (the agent as named in plughub)',
      );
      return;
    }
    try {
      this.client = new PlughubClient({
        url: url!,
        token: token!,
        org: org!,
        agent: agent!,
        timeoutSeconds: numberSetting(runtime, SETTINGS.timeout, 60),
        maxRuns: numberSetting(runtime, SETTINGS.maxRuns, 16),
      });
    } catch (error) {
      this.log('error', `${(error as Error).message}; no plughub plugin is registered`);
      return;
    }
    this.refreshSeconds = numberSetting(runtime, SETTINGS.refresh, 60);
    const ok = await this.refresh(FIRST_FETCH_MS);
    if (ok) {
      this.schedule(this.refreshSeconds * 1000, () => this.periodic());
    } else {
      this.log('warn', `retrying in the background (every 1 s, doubling to 60 s) until plughub answers`);
      this.schedule(BACKOFF_FIRST_MS, () => this.retry(BACKOFF_FIRST_MS));
    }
  }

  /** Stops the background refresh (the proxies stay and go on working). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves once plughub has answered the components at least once (or at once if it has). */
  ready(): Promise<void> {
    if (this.components) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private schedule(ms: number, step: () => Promise<void>): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void step(), ms);
    this.timer.unref?.();
  }

  private async retry(delay: number): Promise<void> {
    if (this.stopped) return;
    if (await this.refresh(10_000, true)) {
      this.log('info', `plughub answered at last; refreshing every ${this.refreshSeconds} s`);
      this.schedule(this.refreshSeconds * 1000, () => this.periodic());
      return;
    }
    const next = Math.min(delay * 2, BACKOFF_MAX_MS);
    this.schedule(next, () => this.retry(next));
  }

  private async periodic(): Promise<void> {
    if (this.stopped) return;
    await this.refresh(10_000, true);
    this.schedule(this.refreshSeconds * 1000, () => this.periodic());
  }

  /**
   * Reads the components once and applies them: proxies for what is newly active, and those no longer
   * active marked so. Answers whether plughub answered. A failure keeps the proxies as they are.
   */
  async refresh(timeoutMs = 10_000, quietRepeat = false): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    let components: Components;
    try {
      components = await client.components(timeoutMs);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // One line per new kind of failure; the same failure again is only a warning.
      const repeated = quietRepeat && this.lastError?.message === message;
      this.lastError = error instanceof Error ? error : new Error(message);
      this.log(repeated ? 'warn' : 'error', message);
      return false;
    }
    this.lastError = undefined;
    this.apply(components);
    return true;
  }

  /** Registers proxies for the components plughub answered, and marks the others inactive. */
  apply(components: Components): void {
    const first = this.components === undefined;
    this.components = components;
    const seen = new Set<string>();
    const plugins = [...components.plugins].sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
    for (const plugin of plugins) {
      for (const action of plugin.actions ?? []) this.offer('action', action.name, plugin, seen, () => this.actionProxy(action));
      for (const provider of plugin.providers ?? [])
        this.offer('provider', provider.name, plugin, seen, () => this.providerProxy(provider));
      for (const evaluator of plugin.evaluators ?? [])
        this.offer('evaluator', evaluator.name, plugin, seen, () => this.evaluatorProxy(evaluator));
    }
    for (const [key, entry] of this.proxies) {
      if (!seen.has(key) && entry.active) {
        entry.active = false;
        this.log('info', `${label(entry.kind)} ${entry.name} of ${entry.plugin} is no longer active for this agent in plughub`);
      }
    }
    for (const down of components.unavailable ?? []) {
      this.log('warn', `plughub could not start ${down.plugin} for this agent: ${down.error}`);
    }
    if (first) {
      const active = [...this.proxies.values()].filter((p) => p.active);
      this.log(
        'info',
        `registered ${active.length} component(s) of ${components.plugins.length} plughub plugin(s) for agent ` +
          `${components.agent} of ${components.org} (models: ${components.models ?? 'plughub'})` +
          (this.skipped.length > 0 ? `; skipped ${this.skipped.length} whose name the agent has already` : ''),
      );
      for (const resolve of this.readyWaiters.splice(0)) resolve();
    }
  }

  private localHolder(kind: ComponentKind, name: string): boolean {
    const runtime = this.runtime;
    const list: { name: string }[] =
      kind === 'action' ? runtime.actions : kind === 'provider' ? runtime.providers : runtime.evaluators;
    return (list ?? []).some((c) => c.name === name);
  }

  private offer(
    kind: ComponentKind,
    name: string,
    plugin: RemotePlugin,
    seen: Set<string>,
    make: () => Action | Provider | Evaluator,
  ): void {
    if (typeof name !== 'string' || name === '') return;
    const key = `${kind}:${name}`;
    const existing = this.proxies.get(key);
    if (seen.has(key)) {
      // Two plughub plugins with one name: the first (highest priority) keeps it.
      this.skip(kind, name, plugin.plugin, existing?.plugin ?? 'another plughub plugin');
      return;
    }
    if (existing) {
      seen.add(key);
      if (!existing.active || existing.plugin !== plugin.plugin) {
        this.log('info', `${label(kind)} ${name} is active again, from ${plugin.plugin}`);
      }
      existing.active = true;
      existing.plugin = plugin.plugin;
      existing.version = plugin.version;
      return;
    }
    if (this.localHolder(kind, name)) {
      this.skip(kind, name, plugin.plugin, 'local');
      return;
    }
    seen.add(key);
    this.proxies.set(key, { kind, name, plugin: plugin.plugin, version: plugin.version, active: true });
    const proxy = make();
    if (kind === 'action') this.runtime.registerAction(proxy as Action);
    else if (kind === 'provider') this.runtime.registerProvider(proxy as Provider);
    else this.runtime.registerEvaluator(proxy as Evaluator);
  }

  private skip(kind: ComponentKind, name: string, plugin: string, heldBy: string): void {
    const key = `${kind}:${name}:${plugin}`;
    if (this.skippedKeys.has(key)) return;
    this.skippedKeys.add(key);
    this.skipped.push({ kind, name, plugin, heldBy });
    this.log(
      'warn',
      `skipped ${label(kind)} ${name} of plughub plugin ${plugin}: the agent has ${article(kind)} ${label(kind)} of that name already` +
        (heldBy === 'local' ? ' (from a local plugin)' : ` (from ${heldBy})`),
    );
  }

  /** The plugin a proxy runs now, or an error saying it is no longer active. */
  private target(kind: ComponentKind, name: string): { plugin: string; client: PlughubClient } {
    const entry = this.proxies.get(`${kind}:${name}`);
    const client = this.client;
    if (!entry || !client) throw new Error(`plughub: ${label(kind)} ${name} is not known to the bridge`);
    if (!entry.active) {
      throw new PlughubError(
        `${entry.plugin}: ${label(kind)} ${name} is no longer active for agent ${client.agent} of ${client.org} in plughub ` +
          '(deactivated, uninstalled or failing); activate it again there',
        { code: 'not_active' },
      );
    }
    return { plugin: entry.plugin, client };
  }

  /** Runs a component in plughub; errors carry the plugin's name. */
  async run(
    kind: ComponentKind,
    name: string,
    message: Memory,
    state: State | undefined,
    callback?: HandlerCallback,
  ): Promise<unknown> {
    const { plugin, client } = this.target(kind, name);
    try {
      const outcome = await client.run({ plugin, kind, name }, message, state as RunState | undefined, {
        runtime: this.runtime,
        callback: callback ? (content) => callback(content as never) : undefined,
      });
      return outcome.result;
    } catch (error) {
      const text = error instanceof Error ? error.message : describeCause(error);
      // Errors of the bridge name the plugin already; plughub's error frames carry the plugin's own message.
      const wrapped = new PlughubError(text.includes(plugin) ? text : `${plugin}: ${text}`, {
        status: (error as PlughubError).status,
        code: (error as PlughubError).code,
        url: (error as PlughubError).url,
      });
      throw wrapped;
    }
  }

  private actionProxy(declared: { name: string; description?: string; similes?: string[]; examples?: unknown[][] }): Action {
    const name = declared.name;
    return {
      name,
      description: declared.description ?? '',
      similes: declared.similes ?? [],
      examples: (declared.examples ?? []) as Action['examples'],
      plughub: true,
      // plughub runs the plugin's own validate as part of the run.
      validate: async () => true,
      handler: async (_runtime, message, state, _options, callback) =>
        (await this.run('action', name, message, state, callback)) as ActionResult | undefined,
    };
  }

  private providerProxy(declared: {
    name: string;
    description?: string;
    dynamic?: boolean;
    private?: boolean;
    position?: number;
  }): Provider {
    const name = declared.name;
    const provider: Provider = {
      name,
      description: declared.description,
      dynamic: declared.dynamic ?? false,
      private: declared.private ?? false,
      // elizaOS's composeState does not catch a provider's error (1.7): one failing provider would fail
      // the agent's whole state, so the proxy logs the error and answers an empty result that says it.
      get: async (_runtime, message, state): Promise<ProviderResult> => {
        try {
          return ((await this.run('provider', name, message, state)) ?? {}) as ProviderResult;
        } catch (error) {
          const text = (error as Error).message;
          this.log('error', `provider ${name} failed: ${text}`);
          return { text: '', values: {}, data: { plughubError: text } };
        }
      },
    };
    if (typeof declared.position === 'number') provider.position = declared.position;
    return provider;
  }

  private evaluatorProxy(declared: {
    name: string;
    description?: string;
    similes?: string[];
    examples?: unknown[];
    alwaysRun?: boolean;
  }): Evaluator {
    const name = declared.name;
    return {
      name,
      description: declared.description ?? '',
      similes: declared.similes ?? [],
      examples: (declared.examples ?? []) as Evaluator['examples'],
      alwaysRun: declared.alwaysRun ?? false,
      validate: async () => true,
      handler: async (_runtime, message, state, _options, callback) =>
        (await this.run('evaluator', name, message, state, callback)) as ActionResult | undefined,
    };
  }

  /** The proxies registered, with the plugin each runs and whether it is active now. */
  get registered(): ProxyEntry[] {
    return [...this.proxies.values()].map((p) => ({ ...p }));
  }
}
