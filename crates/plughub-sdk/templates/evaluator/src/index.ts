import type { ActionResult, Evaluator, IAgentRuntime, Memory, Plugin } from '@elizaos/core';
import { tests } from './tests';

/** The watched words, from the settings. */
export function watchedWords(runtime: IAgentRuntime): string[] {
  return String(runtime.getSetting('{{PREFIX}}_WORDS') ?? 'urgent,refund')
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w.length > 0);
}

/** Which of `words` the text mentions. */
export function mentioned(text: string, words: string[]): string[] {
  const lower = text.toLowerCase();
  return words.filter((w) => lower.includes(w));
}

export const watchEvaluator: Evaluator = {
  name: '{{PREFIX}}_WATCH',
  similes: ['WATCH_WORDS'],
  description: 'Notes which watched words a message mentions',
  alwaysRun: true,
  validate: async (runtime: IAgentRuntime, message: Memory): Promise<boolean> =>
    mentioned(message.content.text ?? '', watchedWords(runtime)).length > 0,
  handler: async (runtime: IAgentRuntime, message: Memory): Promise<ActionResult> => {
    const found = mentioned(message.content.text ?? '', watchedWords(runtime));
    return {
      success: true,
      text: found.length ? `mentions ${found.join(', ')}` : 'mentions nothing watched',
      values: { watched: found },
    };
  },
  examples: [],
};

export const {{ident}}: Plugin = {
  name: '{{bare}}',
  description: '{{description}}',
  evaluators: [watchEvaluator],
  tests,
};

export default {{ident}};
