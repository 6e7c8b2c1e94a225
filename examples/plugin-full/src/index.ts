// Every kind of component elizaOS plugins have, each small enough to read at once. Only types come from
// @elizaos/core (`import type`): the built plugin loads nothing of it, so it starts fast and runs with
// whichever copy of core the agent has.
import type {
  Action,
  ActionResult,
  Evaluator,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  Plugin,
  Provider,
  Route,
  RouteRequest,
  RouteResponse,
  Service,
  State,
} from '@elizaos/core';
import { tests } from './tests';

// ---- a service: state that lives as long as the agent, started and stopped by the runtime ------------

/**
 * Counts what the other components ask it to count (the COUNT action's presses, the messages the
 * MESSAGE_RECEIVED handler sees). Shaped as elizaOS's `Service` (a static `serviceType` and `start`, an
 * instance `stop`), without extending its class, which would load @elizaos/core at run time.
 */
export class CounterService {
  static serviceType = 'counter';
  capabilityDescription = 'Counts things for the other components of the full example';
  private counts = new Map<string, number>();
  private running = true;

  constructor(protected runtime?: IAgentRuntime) {}

  static async start(runtime: IAgentRuntime): Promise<CounterService> {
    return new CounterService(runtime);
  }

  /** elizaOS stops a service by type through the class too. */
  static async stop(runtime: IAgentRuntime): Promise<void> {
    const service = runtime.getService<Service>(CounterService.serviceType) as unknown as CounterService | null;
    await service?.stop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.counts.clear();
  }

  get isRunning(): boolean {
    return this.running;
  }

  increment(what: string): number {
    if (!this.running) throw new Error('the counter service is stopped');
    const next = (this.counts.get(what) ?? 0) + 1;
    this.counts.set(what, next);
    return next;
  }

  count(what: string): number {
    return this.counts.get(what) ?? 0;
  }
}

/** The running counter service, or an error saying it is not running. */
export function counterOf(runtime: IAgentRuntime): CounterService {
  const service = runtime.getService<Service>(CounterService.serviceType) as unknown as CounterService | null;
  if (!service || !service.isRunning) throw new Error('the counter service is not running');
  return service;
}

// ---- actions ------------------------------------------------------------------------------------------

export const countAction: Action = {
  name: 'COUNT',
  similes: ['INCREMENT', 'PRESS_COUNTER'],
  description: 'Adds one to the counter (the counter service) and says the new count',
  examples: [
    [
      { name: '{{user}}', content: { text: 'count one more' } },
      { name: '{{agent}}', content: { text: 'Count: 1', actions: ['COUNT'] } },
    ],
  ],
  validate: async (runtime: IAgentRuntime) => runtime.getService(CounterService.serviceType) !== null,
  handler: async (
    runtime: IAgentRuntime,
    _message: Memory,
    _state?: State,
    _options?: Record<string, unknown>,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    const count = counterOf(runtime).increment('presses');
    const text = `Count: ${count}`;
    await callback?.({ text, actions: ['COUNT'] });
    return { success: true, text, values: { count } };
  },
};

/** The prompt SUMMARIZE gives the agent's small text model. */
export function summaryPrompt(text: string): string {
  return `Summarize in one short sentence:\n\n${text}`;
}

export const summarizeAction: Action = {
  name: 'SUMMARIZE',
  similes: ['TLDR', 'SUMMARY'],
  description: "Summarizes the user's message in one sentence with the agent's small text model",
  examples: [
    [
      { name: '{{user}}', content: { text: 'summarize: the meeting moved to Friday because the room was taken' } },
      { name: '{{agent}}', content: { text: 'The meeting is now on Friday.', actions: ['SUMMARIZE'] } },
    ],
  ],
  validate: async (_runtime: IAgentRuntime, message: Memory) => (message.content?.text ?? '').trim().length > 0,
  handler: async (
    runtime: IAgentRuntime,
    message: Memory,
    _state?: State,
    _options?: Record<string, unknown>,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    const text = (message.content?.text ?? '').replace(/^\s*summari[sz]e:?\s*/i, '');
    const answer = await runtime.useModel('TEXT_SMALL', { prompt: summaryPrompt(text) });
    const summary = String(answer).trim();
    await callback?.({ text: summary, actions: ['SUMMARIZE'] });
    return { success: true, text: summary, values: { summary } };
  },
};

// ---- providers ----------------------------------------------------------------------------------------

export const counterProvider: Provider = {
  name: 'COUNTER',
  description: 'How many times COUNT was pressed and how many messages were seen',
  get: async (runtime: IAgentRuntime) => {
    const counter = counterOf(runtime);
    const presses = counter.count('presses');
    const messages = counter.count('messages');
    return { text: `The counter is at ${presses}; ${messages} messages seen.`, values: { counterPresses: presses, counterMessages: messages } };
  },
};

export const aboutProvider: Provider = {
  name: 'FULL_EXAMPLE_ABOUT',
  description: 'What the full example plugin can do',
  // Always in the state, first: the planner reads it before anything else.
  position: -10,
  get: async () => ({
    text: 'This agent can COUNT (a counter) and SUMMARIZE (one sentence, with its small text model).',
    values: { fullExampleActions: 'COUNT, SUMMARIZE' },
  }),
};

// ---- an evaluator: runs after the agent answered ------------------------------------------------------

export const QUESTIONS_TABLE = 'questions';

export const questionEvaluator: Evaluator = {
  name: 'REMEMBER_QUESTIONS',
  similes: ['QUESTION_LOG'],
  description: 'Remembers the questions people ask, as memories in the questions table',
  examples: [
    {
      prompt: 'A user asks a question',
      messages: [{ name: '{{user}}', content: { text: 'How does the counter work?' } }],
      outcome: 'A memory in the questions table holding the question',
    },
  ],
  validate: async (runtime: IAgentRuntime, message: Memory) =>
    message.entityId !== runtime.agentId && /\?\s*$/.test(message.content?.text ?? ''),
  handler: async (runtime: IAgentRuntime, message: Memory): Promise<ActionResult> => {
    const question = (message.content?.text ?? '').trim();
    await runtime.createMemory(
      {
        entityId: message.entityId,
        agentId: runtime.agentId,
        roomId: message.roomId,
        content: { text: question, ...(message.id ? { questionOf: message.id } : {}) },
        createdAt: Date.now(),
      },
      QUESTIONS_TABLE,
    );
    return { success: true, values: { question } };
  },
};

// ---- a model: a tiny, deterministic text embedding -----------------------------------------------------

export const EMBEDDING_DIMENSIONS = 16;

/**
 * A hashing embedding: each word adds to one of 16 dimensions (FNV-1a of the word), normalised to length
 * 1. Not a language model; enough to find the same words again, and to show how a plugin provides a model
 * type. elizaOS calls it with `null` to learn the dimension: it answers a vector of zeros then.
 */
export function embed(text: string | null | undefined): number[] {
  const vector = new Array<number>(EMBEDDING_DIMENSIONS).fill(0);
  for (const word of (text ?? '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) {
      hash ^= word.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    vector[hash % EMBEDDING_DIMENSIONS] += 1;
  }
  const length = Math.hypot(...vector);
  return length === 0 ? vector : vector.map((v) => v / length);
}

// ---- a route: answered by plughub at the plugin's path -----------------------------------------------

export const counterRoute: Route = {
  type: 'GET',
  path: '/counter',
  name: 'counter',
  handler: async (_req: RouteRequest, res: RouteResponse, runtime: IAgentRuntime) => {
    const counter = counterOf(runtime);
    res.json({ presses: counter.count('presses'), messages: counter.count('messages') });
  },
};

// ---- the plugin --------------------------------------------------------------------------------------

export const fullPlugin: Plugin = {
  name: 'full-example',
  description: 'Every kind of elizaOS component: actions, providers, an evaluator, a service, a model, a route and event handlers',
  actions: [countAction, summarizeAction],
  providers: [aboutProvider, counterProvider],
  evaluators: [questionEvaluator],
  // The class has Service's shape (see CounterService); the cast says so to TypeScript.
  services: [CounterService as unknown as typeof Service],
  models: {
    TEXT_EMBEDDING: async (_runtime: IAgentRuntime, params: unknown) => {
      const text = typeof params === 'string' ? params : (params as { text?: string } | null)?.text;
      return embed(text);
    },
  },
  routes: [counterRoute],
  events: {
    // Each message the agent receives is counted.
    MESSAGE_RECEIVED: [
      async ({ runtime }) => {
        counterOf(runtime).increment('messages');
      },
    ],
  },
  tests,
};

export default fullPlugin;
