import type { IAgentRuntime, TestSuite } from '@elizaos/core';
import { CounterService } from './index';

function expect(condition: unknown, what: string): void {
  if (!condition) throw new Error(what);
}

export const tests: TestSuite[] = [
  {
    name: '{{bare}}',
    tests: [
      {
        name: 'starts at the configured value and counts up',
        fn: async (runtime: IAgentRuntime) => {
          const counter = await CounterService.start(runtime);
          expect(counter.next() === 1, 'expected 1 first');
          expect(counter.next() === 2, 'expected 2 next');
          await counter.stop();
        },
      },
    ],
  },
];
