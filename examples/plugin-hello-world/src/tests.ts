import type { Content, IAgentRuntime, Memory, TestSuite, UUID } from '@elizaos/core';
import { helloAction } from './index';

// Ids in the UUID shape elizaOS uses; fixed, so that a failure names the same message every run.
const ROOM = '00000000-0000-4000-8000-000000000001' as UUID;
const USER = '00000000-0000-4000-8000-000000000002' as UUID;

function message(runtime: IAgentRuntime, text: string): Memory {
  return {
    id: '00000000-0000-4000-8000-000000000003' as UUID,
    entityId: USER,
    agentId: runtime.agentId,
    roomId: ROOM,
    content: { text },
    createdAt: Date.now(),
  };
}

function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

/** Runs the action as the agent would and returns what it said through the callback and its result. */
async function run(runtime: IAgentRuntime, text: string) {
  const said: Content[] = [];
  const result = await helloAction.handler(runtime, message(runtime, text), undefined, {}, async (content) => {
    said.push(content);
    return [];
  });
  return { said, result };
}

export const tests: TestSuite[] = [
  {
    name: 'hello-world',
    tests: [
      {
        name: 'greets the world when nobody is named',
        fn: async (runtime) => {
          const { said, result } = await run(runtime, 'hello there');
          assert(said.length === 1, `expected one callback, got ${said.length}`);
          assert(said[0].text === 'Howdy, world!', `expected "Howdy, world!", got ${JSON.stringify(said[0].text)}`);
          assert(said[0].actions?.includes('HELLO_WORLD'), 'the callback does not name the action');
          assert(result && result.success === true, 'the action did not succeed');
        },
      },
      {
        name: 'greets the person named in the message',
        fn: async (runtime) => {
          const { said, result } = await run(runtime, 'please say hello to Ada Lovelace');
          assert(said[0]?.text === 'Howdy, Ada Lovelace!', `got ${JSON.stringify(said[0]?.text)}`);
          assert(result && result.values?.greeted === 'Ada Lovelace', 'the result does not say who was greeted');
        },
      },
      {
        name: 'keeps markup out of the name',
        fn: async (runtime) => {
          const { said } = await run(runtime, 'greet <script>alert(1)</script>');
          assert(!said[0]?.text?.includes('<'), `markup reached the answer: ${said[0]?.text}`);
        },
      },
      {
        name: 'offers itself only for greetings',
        fn: async (runtime) => {
          assert(await helloAction.validate(runtime, message(runtime, 'Hi!')), 'validate refused "Hi!"');
          assert(
            !(await helloAction.validate(runtime, message(runtime, 'what time is it?'))),
            'validate accepted a message that asks for no greeting',
          );
        },
      },
      {
        name: 'uses the HELLO_GREETING setting',
        fn: async (runtime) => {
          // plughub.dev.json sets HELLO_GREETING to "Howdy".
          assert(runtime.getSetting('HELLO_GREETING') === 'Howdy', 'the test run has no HELLO_GREETING of Howdy');
          const { said } = await run(runtime, 'hello');
          assert(said[0]?.text === 'Howdy, world!', `got ${JSON.stringify(said[0]?.text)}`);
        },
      },
    ],
  },
];
