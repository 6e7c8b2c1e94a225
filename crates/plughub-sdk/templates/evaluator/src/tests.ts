import type { IAgentRuntime, Memory, TestSuite, UUID } from '@elizaos/core';
import { mentioned, watchEvaluator } from './index';

function message(runtime: IAgentRuntime, text: string): Memory {
  return {
    entityId: '00000000-0000-0000-0000-000000000001' as UUID,
    roomId: '00000000-0000-0000-0000-000000000002' as UUID,
    agentId: runtime.agentId,
    content: { text },
  };
}

function expect(condition: unknown, what: string): void {
  if (!condition) throw new Error(what);
}

export const tests: TestSuite[] = [
  {
    name: '{{bare}}',
    tests: [
      {
        name: 'finds watched words whatever their case',
        fn: () => {
          const found = mentioned('This is URGENT, I want a refund', ['urgent', 'refund', 'later']);
          expect(found.join(',') === 'urgent,refund', `found ${found.join(',')}`);
        },
      },
      {
        name: 'runs only on messages that mention a watched word',
        fn: async (runtime) => {
          expect(await watchEvaluator.validate(runtime, message(runtime, 'urgent!')), 'urgent!');
          expect(!(await watchEvaluator.validate(runtime, message(runtime, 'hi'))), 'hi');
        },
      },
      {
        name: 'reports what it found',
        fn: async (runtime) => {
          const result = await watchEvaluator.handler(runtime, message(runtime, 'refund please'));
          expect(result && result.text === 'mentions refund', `got ${result && result.text}`);
        },
      },
    ],
  },
];
