import type { IAgentRuntime, Memory, TestSuite, UUID } from '@elizaos/core';
import { scoreText, sentimentEvaluator, sentimentTable } from './index';

interface PlughubTest {
  runtimeCalls(): Array<{ method: string; params: unknown }>;
}
const harness = () => (globalThis as unknown as { plughubTest: PlughubTest }).plughubTest;

function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

// A new id each time: the development store is kept between runs, so a fixed id or room could meet what an
// earlier run stored (plughub dev test clears memories before each run; a test does not rely on it).
function uniqueId(): UUID {
  return 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(Math.random() * 16).toString(16)) as UUID;
}
const USER = '00000000-0000-4000-8000-000000000002' as UUID;

function message(runtime: IAgentRuntime, roomId: UUID, text: string, from: UUID = USER): Memory {
  return {
    id: uniqueId(),
    entityId: from,
    agentId: runtime.agentId,
    roomId,
    content: { text },
    createdAt: Date.now(),
  };
}

async function scoresIn(runtime: IAgentRuntime, roomId: UUID): Promise<Memory[]> {
  return runtime.getMemories({ roomId, tableName: sentimentTable(runtime), count: 10 });
}

export const tests: TestSuite[] = [
  {
    name: 'sentiment',
    tests: [
      {
        name: 'the lexicon scores positive, negative and neutral text',
        fn: async () => {
          const positive = scoreText('Thanks, that was really helpful!');
          assert(positive.label === 'positive' && positive.score === 4, `got ${JSON.stringify(positive)}`);
          const negative = scoreText('This is terrible and the build is broken');
          assert(negative.label === 'negative' && negative.score === -5, `got ${JSON.stringify(negative)}`);
          const neutral = scoreText('The meeting is at noon');
          assert(neutral.label === 'neutral' && neutral.score === 0 && neutral.words.length === 0, `got ${JSON.stringify(neutral)}`);
        },
      },
      {
        name: 'a negation flips the next sentiment word',
        fn: async () => {
          const result = scoreText('this is not very good');
          assert(result.score === -2 && result.label === 'negative', `got ${JSON.stringify(result)}`);
          assert(result.words[0]?.word === 'good' && result.words[0].weight === -2, 'the negated word was not flipped');
        },
      },
      {
        name: 'the evaluator stores the score as a memory in the message room',
        fn: async (runtime) => {
          // A room of its own, new each run: only this test's memory can be in it.
          const roomId = uniqueId();
          const sent = message(runtime, roomId, 'I love this, it works great');
          const result = await sentimentEvaluator.handler(runtime, sent);
          assert(result && (result as { success?: boolean }).success === true, 'the evaluator did not succeed');
          const memories = (await scoresIn(runtime, roomId)).filter((m) => m.content?.messageId === sent.id);
          assert(memories.length === 1, `expected one memory naming the message, found ${memories.length}`);
          const stored = memories[0];
          assert(stored.content.label === 'positive', `stored label ${String(stored.content.label)}`);
          assert(stored.content.score === 6, `stored score ${String(stored.content.score)}`);
          assert(stored.entityId === USER, 'the memory is not about the message sender');
        },
      },
      {
        name: 'storing goes through createMemory into the sentiment table',
        fn: async (runtime) => {
          await sentimentEvaluator.handler(runtime, message(runtime, uniqueId(), 'what an awful day'));
          const creates = harness()
            .runtimeCalls()
            .filter((c) => c.method === 'createMemory');
          assert(creates.length === 1, `expected one createMemory call, got ${creates.length}`);
          const params = creates[0].params as [Memory, string];
          assert(params[1] === 'sentiment', `the memory went to table ${String(params[1])}`);
          assert(params[0].content.label === 'negative', `the memory says ${String(params[0].content.label)}`);
        },
      },
      {
        name: "the agent's own messages and empty messages are not scored",
        fn: async (runtime) => {
          assert(!(await sentimentEvaluator.validate(runtime, message(runtime, uniqueId(), 'great!', runtime.agentId))), "validate took the agent's own message");
          assert(!(await sentimentEvaluator.validate(runtime, message(runtime, uniqueId(), '   '))), 'validate took an empty message');
          assert(await sentimentEvaluator.validate(runtime, message(runtime, uniqueId(), 'great!')), "validate refused a person's message");
        },
      },
    ],
  },
];
