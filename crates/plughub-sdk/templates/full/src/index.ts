import type {
  Action,
  ActionResult,
  Evaluator,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  Plugin,
  Provider,
  ProviderResult,
  Service,
  State,
} from '@elizaos/core';
import { tests } from './tests';

/** Counts greetings while the agent runs (not extending core's Service: nothing of core is needed at run time). */
export class GreetingCounter {
  static serviceType = '{{service_type}}';
  capabilityDescription = 'Counts the greetings';
  count = 0;

  static async start(_runtime: IAgentRuntime): Promise<GreetingCounter> {
    return new GreetingCounter();
  }

  static async stop(runtime: IAgentRuntime): Promise<void> {
    await runtime.getService<Service>(GreetingCounter.serviceType)?.stop();
  }

  async stop(): Promise<void> {}
}

/** Who the message names after "greet", or "friend". */
export function whoToGreet(text: string): string {
  const match = /greet\s+([\p{L}\p{N}_-]+)/iu.exec(text);
  return match ? match[1] : 'friend';
}

export const greetAction: Action = {
  name: '{{PREFIX}}_GREET',
  similes: ['SAY_HELLO', 'GREET'],
  description: 'Greets the person the message names ("greet Ada")',
  validate: async (_runtime: IAgentRuntime, message: Memory): Promise<boolean> =>
    /\b(greet|hello)\b/i.test(message.content.text ?? ''),
  handler: async (
    runtime: IAgentRuntime,
    message: Memory,
    _state?: State,
    _options?: Record<string, unknown>,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    const greeting = String(runtime.getSetting('{{PREFIX}}_GREETING') ?? 'Hello');
    const text = `${greeting}, ${whoToGreet(message.content.text ?? '')}!`;
    const counter = runtime.getService(GreetingCounter.serviceType) as unknown as GreetingCounter | null;
    if (counter) counter.count += 1;
    await callback?.({ text, actions: ['{{PREFIX}}_GREET'] });
    return { success: true, text, values: { greetings: counter?.count ?? 1 } };
  },
  examples: [
    [
      { name: '{{user1}}', content: { text: 'greet Ada' } },
      { name: '{{agent}}', content: { text: 'Hello, Ada!', actions: ['{{PREFIX}}_GREET'] } },
    ],
  ],
};

export const statusProvider: Provider = {
  name: '{{PREFIX}}_STATUS',
  description: 'The status of the API',
  dynamic: true,
  get: async (runtime: IAgentRuntime, _message: Memory, _state: State): Promise<ProviderResult> => {
    const key = runtime.getSetting('{{PREFIX}}_API_KEY');
    if (!key) throw new Error('{{PREFIX}}_API_KEY is not set');
    const response = await fetch('https://api.example.com/v1/status', {
      headers: { Authorization: `Bearer ${key}` },
    });
    if (!response.ok) throw new Error(`the API answered ${response.status}`);
    const status = (await response.json()) as { status: string };
    return { text: `The API's status is ${status.status}.`, values: { apiStatus: status.status } };
  },
};

/** Which of the watched words the text mentions. */
export function mentioned(text: string, words: string[]): string[] {
  const lower = text.toLowerCase();
  return words.filter((w) => lower.includes(w));
}

function watchedWords(runtime: IAgentRuntime): string[] {
  return String(runtime.getSetting('{{PREFIX}}_WORDS') ?? 'urgent,refund')
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w.length > 0);
}

export const watchEvaluator: Evaluator = {
  name: '{{PREFIX}}_WATCH',
  description: 'Notes which watched words a message mentions',
  validate: async (runtime: IAgentRuntime, message: Memory): Promise<boolean> =>
    mentioned(message.content.text ?? '', watchedWords(runtime)).length > 0,
  handler: async (runtime: IAgentRuntime, message: Memory): Promise<ActionResult> => {
    const found = mentioned(message.content.text ?? '', watchedWords(runtime));
    return { success: true, text: `mentions ${found.join(', ') || 'nothing watched'}` };
  },
  examples: [],
};

export const {{ident}}: Plugin = {
  name: '{{bare}}',
  description: '{{description}}',
  actions: [greetAction],
  providers: [statusProvider],
  evaluators: [watchEvaluator],
  services: [GreetingCounter as unknown as typeof Service],
  tests,
};

export default {{ident}};
