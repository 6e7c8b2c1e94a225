import type {
  Action,
  ActionResult,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  Plugin,
  State,
} from '@elizaos/core';
import { tests } from './tests';

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
    await callback?.({ text, actions: ['{{PREFIX}}_GREET'] });
    return { success: true, text, values: { greeted: true } };
  },
  examples: [
    [
      { name: '{{user1}}', content: { text: 'greet Ada' } },
      { name: '{{agent}}', content: { text: 'Hello, Ada!', actions: ['{{PREFIX}}_GREET'] } },
    ],
  ],
};

export const {{ident}}: Plugin = {
  name: '{{bare}}',
  description: '{{description}}',
  actions: [greetAction],
  tests,
};

export default {{ident}};
