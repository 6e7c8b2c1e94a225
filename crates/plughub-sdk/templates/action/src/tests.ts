import type { Content, IAgentRuntime, Memory, TestSuite, UUID } from '@elizaos/core';
import { greetAction, whoToGreet } from './index';

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
        name: 'reads the name after "greet"',
        fn: () => {
          expect(whoToGreet('please greet Ada') === 'Ada', 'expected Ada');
          expect(whoToGreet('hello') === 'friend', 'expected friend');
        },
      },
      {
        name: 'validates greetings only',
        fn: async (runtime) => {
          expect(await greetAction.validate(runtime, message(runtime, 'greet Ada')), 'greet Ada');
          expect(!(await greetAction.validate(runtime, message(runtime, 'weather?'))), 'weather?');
        },
      },
      {
        name: 'greets through its callback with the configured word',
        fn: async (runtime) => {
          const said: Content[] = [];
          const result = await greetAction.handler(
            runtime,
            message(runtime, 'greet Ada'),
            undefined,
            {},
            async (content) => {
              said.push(content);
              return [];
            },
          );
          expect(said.length === 1, `expected one callback, got ${said.length}`);
          expect(said[0].text === 'Hello, Ada!', `expected "Hello, Ada!", got "${said[0].text}"`);
          expect(result && result.success, 'expected success');
        },
      },
    ],
  },
];
