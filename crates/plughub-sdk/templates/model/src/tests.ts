import type { TestSuite } from '@elizaos/core';
import { complete } from './index';

function expect(condition: unknown, what: string): void {
  if (!condition) throw new Error(what);
}

export const tests: TestSuite[] = [
  {
    name: '{{bare}}',
    tests: [
      {
        // The API's answer comes from plughub.dev.json's "http" stub.
        name: 'answers the completion API text',
        fn: async (runtime) => {
          const text = await complete(runtime, { prompt: 'What is the capital of France?' }, 'small');
          expect(text === 'Paris is the capital of France.', `got "${text}"`);
        },
      },
    ],
  },
];
