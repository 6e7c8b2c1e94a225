import type { Content, IAgentRuntime, Memory, State, TestSuite, UUID } from '@elizaos/core';
import { greetAction, mentioned, statusProvider, watchEvaluator } from './index';

function message(runtime: IAgentRuntime, text: string): Memory {
  return {
    entityId: '00000000-0000-0000-0000-000000000001' as UUID,
    roomId: '00000000-0000-0000-0000-000000000002' as UUID,
    agentId: runtime.agentId,
    content: { text },
  };
}

const emptyState: State = { values: {}, data: {}, text: '' };

function expect(condition: unknown, what: string): void {
  if (!condition) throw new Error(what);
}

export const tests: TestSuite[] = [
  {
    name: '{{bare}}',
    tests: [
      {
        name: 'the action greets through its callback',
        fn: async (runtime) => {
          const said: Content[] = [];
          await greetAction.handler(runtime, message(runtime, 'greet Ada'), undefined, {}, async (c) => {
            said.push(c);
            return [];
          });
          expect(said[0]?.text === 'Hello, Ada!', `got "${said[0]?.text}"`);
        },
      },
      {
        // The answer comes from plughub.dev.json's "http" stub.
        name: 'the provider tells the API status',
        fn: async (runtime) => {
          const result = await statusProvider.get(runtime, message(runtime, 'status?'), emptyState);
          expect(result.text === "The API's status is ok.", `got "${result.text}"`);
        },
      },
      {
        name: 'the evaluator finds watched words',
        fn: async (runtime) => {
          expect(mentioned('URGENT refund', ['urgent', 'refund']).length === 2, 'two words');
          expect(await watchEvaluator.validate(runtime, message(runtime, 'urgent')), 'urgent');
        },
      },
    ],
  },
];
