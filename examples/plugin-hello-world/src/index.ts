import type { Action, ActionResult, HandlerCallback, IAgentRuntime, Memory, Plugin, State } from '@elizaos/core';
import { tests } from './tests';

/** The greeting word: the HELLO_GREETING setting, else "Hello". */
export function greetingWord(runtime: IAgentRuntime): string {
  const word = runtime.getSetting('HELLO_GREETING');
  return typeof word === 'string' && word.trim() ? word.trim() : 'Hello';
}

/**
 * The name to greet, from the message: "say hello to Ada" or "greet Ada" greets Ada; anything else greets
 * whoever wrote. Only letters, digits, spaces, dashes and apostrophes are kept, so that nothing the user
 * typed ends up as markup in the answer.
 */
export function nameToGreet(text: string): string | null {
  const match = /(?:hello to|hi to|greet)\s+([\p{L}\p{N}' -]{1,40})/iu.exec(text);
  const name = match?.[1]?.trim();
  return name ? name : null;
}

export const helloAction: Action = {
  name: 'HELLO_WORLD',
  similes: ['GREET', 'SAY_HELLO', 'WAVE'],
  description: 'Greets the user, or the person the user names ("say hello to Ada")',
  examples: [
    [
      { name: '{{user}}', content: { text: 'Can you say hello?' } },
      { name: '{{agent}}', content: { text: 'Hello, world!', actions: ['HELLO_WORLD'] } },
    ],
    [
      { name: '{{user}}', content: { text: 'Please say hello to Ada' } },
      { name: '{{agent}}', content: { text: 'Hello, Ada!', actions: ['HELLO_WORLD'] } },
    ],
  ],
  // Only for messages that ask for a greeting: the planner calls validate before offering the action.
  validate: async (_runtime: IAgentRuntime, message: Memory): Promise<boolean> => {
    const text = message.content?.text ?? '';
    return /\b(hello|hi|greet|wave)\b/i.test(text);
  },
  handler: async (
    runtime: IAgentRuntime,
    message: Memory,
    _state?: State,
    _options?: Record<string, unknown>,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    const name = nameToGreet(message.content?.text ?? '') ?? 'world';
    const text = `${greetingWord(runtime)}, ${name}!`;
    await callback?.({ text, actions: ['HELLO_WORLD'] });
    return { success: true, text, values: { greeted: name } };
  },
};

export const helloWorldPlugin: Plugin = {
  name: 'hello-world',
  description: 'Greets people: an action with similes and examples',
  actions: [helloAction],
  tests,
};

export default helloWorldPlugin;
