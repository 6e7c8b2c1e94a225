import type { Content, IAgentRuntime, Memory, RouteRequest, RouteResponse, State, TestSuite, UUID } from '@elizaos/core';
import {
  CounterService,
  EMBEDDING_DIMENSIONS,
  QUESTIONS_TABLE,
  aboutProvider,
  counterOf,
  counterProvider,
  counterRoute,
  countAction,
  questionEvaluator,
  summarizeAction,
  summaryPrompt,
} from './index';

interface PlughubTest {
  runtimeCalls(): Array<{ method: string; params: unknown }>;
}
const harness = () => (globalThis as unknown as { plughubTest: PlughubTest }).plughubTest;

function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

const USER = '00000000-0000-4000-8000-000000000002' as UUID;
const state: State = { values: {}, data: {}, text: '' };
// A new id each time: the development store is kept between runs, so a fixed id or room could meet what an
// earlier run stored (plughub dev test clears memories before each run; a test does not rely on it).
function uniqueId(): UUID {
  return 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(Math.random() * 16).toString(16)) as UUID;
}
function message(runtime: IAgentRuntime, text: string, roomId = '00000000-0000-4000-8000-000000000001' as UUID): Memory {
  return {
    id: uniqueId(),
    entityId: USER,
    agentId: runtime.agentId,
    roomId,
    content: { text },
    createdAt: Date.now(),
  };
}

async function said(run: (callback: (c: Content) => Promise<Memory[]>) => Promise<unknown>) {
  const contents: Content[] = [];
  const result = await run(async (c) => {
    contents.push(c);
    return [];
  });
  return { contents, result: result as { success?: boolean; text?: string; values?: Record<string, unknown> } };
}

// The runtime starts the plugin's services before the tests, as elizaOS does when it loads a plugin.
function counter(runtime: IAgentRuntime): CounterService {
  try {
    return counterOf(runtime);
  } catch {
    throw new Error("the runtime did not start the plugin's counter service (elizaOS starts a plugin's services when it loads it)");
  }
}

export const tests: TestSuite[] = [
  {
    name: 'service',
    tests: [
      {
        name: 'the counter service starts, counts and stops',
        fn: async (runtime) => {
          // A service of its own, not the runtime's: stopping it must not stop the one the others use.
          const service = await CounterService.start(runtime);
          assert(service.isRunning, 'a started service is not running');
          assert(service.increment('x') === 1 && service.increment('x') === 2, 'the service does not count');
          await service.stop();
          assert(!service.isRunning, 'a stopped service still runs');
          let refused = false;
          try {
            service.increment('x');
          } catch {
            refused = true;
          }
          assert(refused, 'a stopped service still counts');
        },
      },
      {
        name: 'the runtime runs the service under its type',
        fn: async (runtime) => {
          assert(counter(runtime).isRunning, 'the runtime’s counter service is not running');
        },
      },
    ],
  },
  {
    name: 'actions',
    tests: [
      {
        name: 'COUNT adds one through the service',
        fn: async (runtime) => {
          const before = counter(runtime).count('presses');
          const { contents, result } = await said((cb) => countAction.handler(runtime, message(runtime, 'count'), state, {}, cb));
          assert(result.success === true && result.values?.count === before + 1, `result ${JSON.stringify(result)}`);
          assert(contents.length === 1 && contents[0].text === `Count: ${before + 1}`, `said ${JSON.stringify(contents)}`);
          assert(counter(runtime).count('presses') === before + 1, 'the service did not count the press');
        },
      },
      {
        name: "SUMMARIZE answers with the agent's small text model",
        fn: async (runtime) => {
          const text = 'summarize: the meeting moved to Friday because the room was taken';
          const { contents, result } = await said((cb) => summarizeAction.handler(runtime, message(runtime, text), state, {}, cb));
          // The first scripted TEXT_SMALL answer in plughub.dev.json.
          assert(result.text === 'The meeting is now on Friday.', `the action answered ${JSON.stringify(result.text)}`);
          assert(contents[0]?.text === 'The meeting is now on Friday.', `said ${JSON.stringify(contents)}`);
          const calls = harness()
            .runtimeCalls()
            .filter((c) => c.method === 'useModel');
          assert(calls.length === 1, `expected one model call, got ${JSON.stringify(calls)}`);
          const [type, params] = calls[0].params as [string, { prompt?: string }];
          assert(type === 'TEXT_SMALL', `the action asked for ${type}`);
          assert(params?.prompt === summaryPrompt('the meeting moved to Friday because the room was taken'), `prompt ${JSON.stringify(params)}`);
        },
      },
    ],
  },
  {
    name: 'providers',
    tests: [
      {
        name: 'FULL_EXAMPLE_ABOUT names the actions',
        fn: async (runtime) => {
          const result = await aboutProvider.get(runtime, message(runtime, 'hi'), state);
          assert(result.text?.includes('COUNT') && result.text.includes('SUMMARIZE'), `text ${JSON.stringify(result.text)}`);
        },
      },
      {
        name: 'COUNTER says what the service counted',
        fn: async (runtime) => {
          await countAction.handler(runtime, message(runtime, 'count'), state, {}, async () => []);
          const presses = counter(runtime).count('presses');
          const result = await counterProvider.get(runtime, message(runtime, 'hi'), state);
          assert(result.values?.counterPresses === presses, `values ${JSON.stringify(result.values)} while the service has ${presses}`);
          assert(result.text?.startsWith(`The counter is at ${presses};`), `text ${JSON.stringify(result.text)}`);
        },
      },
    ],
  },
  {
    name: 'evaluator',
    tests: [
      {
        name: 'REMEMBER_QUESTIONS stores questions as memories',
        fn: async (runtime) => {
          const roomId = uniqueId();
          const asked = message(runtime, 'How does the counter work?', roomId);
          assert(await questionEvaluator.validate(runtime, asked), 'validate refused a question');
          await questionEvaluator.handler(runtime, asked);
          const memories = await runtime.getMemories({ roomId, tableName: QUESTIONS_TABLE, count: 10 });
          const stored = memories.find((m) => m.content?.questionOf === asked.id);
          assert(stored, `no memory holds the question; the room has ${JSON.stringify(memories)}`);
          assert(stored.content.text === 'How does the counter work?', `stored ${JSON.stringify(stored.content)}`);
        },
      },
      {
        name: 'statements are not remembered',
        fn: async (runtime) => {
          assert(!(await questionEvaluator.validate(runtime, message(runtime, 'The counter works.'))), 'validate took a statement');
        },
      },
    ],
  },
  {
    name: 'model',
    tests: [
      {
        name: 'TEXT_EMBEDDING gives normalised vectors, the same for the same text',
        fn: async (runtime) => {
          const a = (await runtime.useModel('TEXT_EMBEDDING', { text: 'the counter service' })) as number[];
          const b = (await runtime.useModel('TEXT_EMBEDDING', { text: 'The counter, service!' })) as number[];
          const c = (await runtime.useModel('TEXT_EMBEDDING', { text: 'weather in Berlin' })) as number[];
          assert(Array.isArray(a) && a.length === EMBEDDING_DIMENSIONS, `got ${JSON.stringify(a)}`);
          assert(Math.abs(Math.hypot(...a) - 1) < 1e-9, 'the vector is not of length 1');
          assert(JSON.stringify(a) === JSON.stringify(b), 'the same words gave different vectors');
          assert(JSON.stringify(a) !== JSON.stringify(c), 'different words gave the same vector');
          // The plugin's own model answers: nothing goes to plughub's model plugins.
          assert(!harness().runtimeCalls().some((call) => call.method === 'useModel'), 'the embedding went to the host');
        },
      },
    ],
  },
  {
    name: 'route and events',
    tests: [
      {
        name: 'GET /counter answers the counts as JSON',
        fn: async (runtime) => {
          let body: unknown = null;
          const res = {
            status: () => res,
            setHeader: () => res,
            send: () => res,
            end: () => res,
            json: (value: unknown) => {
              body = value;
              return res;
            },
          } as unknown as RouteResponse;
          await counterRoute.handler?.({ path: '/counter', method: 'GET' } as unknown as RouteRequest, res, runtime);
          const c = counter(runtime);
          assert(
            JSON.stringify(body) === JSON.stringify({ presses: c.count('presses'), messages: c.count('messages') }),
            `the route answered ${JSON.stringify(body)}`,
          );
        },
      },
      {
        name: 'MESSAGE_RECEIVED is counted by the event handler',
        fn: async (runtime) => {
          const before = counter(runtime).count('messages');
          await runtime.emitEvent('MESSAGE_RECEIVED', { message: message(runtime, 'hello'), source: 'test' });
          assert(counter(runtime).count('messages') === before + 1, 'the handler did not count the message');
          const emitted = harness()
            .runtimeCalls()
            .filter((c) => c.method === 'emitEvent');
          assert(emitted.length === 1, `expected the event to reach plughub once, got ${JSON.stringify(emitted)}`);
        },
      },
    ],
  },
];
