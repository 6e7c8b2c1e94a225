import type { Content, IAgentRuntime, Memory, State, TestSuite, UUID } from '@elizaos/core';
import { balanceProvider, balanceSettings, checkBalanceAction, readBalance } from './index';

interface PlughubTest {
  httpRequests(): Array<{ method: string; url: string; status: number }>;
}
const harness = () => (globalThis as unknown as { plughubTest: PlughubTest }).plughubTest;

function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

const state: State = { values: {}, data: {}, text: '' };
function message(runtime: IAgentRuntime, text: string): Memory {
  return {
    entityId: '00000000-0000-4000-8000-000000000002' as UUID,
    agentId: runtime.agentId,
    roomId: '00000000-0000-4000-8000-000000000001' as UUID,
    content: { text },
  };
}

async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure, got none');
}

export const tests: TestSuite[] = [
  {
    name: 'balance',
    tests: [
      {
        name: 'the settings: the key from the secret, the currency from its setting',
        fn: async (runtime) => {
          const settings = balanceSettings(runtime);
          // plughub.dev.json gives the test run a key and EUR.
          assert(settings.apiKey === 'test-balance-key', 'BALANCE_API_KEY did not reach the plugin');
          assert(settings.currency === 'EUR', `currency ${settings.currency}`);
        },
      },
      {
        name: 'the provider gives the balance in the configured currency',
        fn: async (runtime) => {
          const result = await balanceProvider.get(runtime, message(runtime, 'hi'), state);
          assert(result.text === 'Account balance: €1,234.50 available, €20.00 pending.', `got ${JSON.stringify(result.text)}`);
          assert(result.values?.balanceAvailable === 1234.5, 'values.balanceAvailable is not 1234.5');
          const requests = harness().httpRequests();
          assert(requests.length === 1 && requests[0].url.endsWith('/v1/balance?currency=EUR'), `requests: ${JSON.stringify(requests)}`);
        },
      },
      {
        name: 'the key goes to the API as a bearer token, and nowhere in the answer',
        fn: async (runtime) => {
          // Look at the request on its way out: the stub matches on method and URL only.
          const original = globalThis.fetch;
          const seen: string[] = [];
          globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
            seen.push(new Headers(init?.headers).get('authorization') ?? '');
            return original(input, init);
          }) as typeof fetch;
          let said: Content[] = [];
          try {
            await checkBalanceAction.handler(runtime, message(runtime, "what's my balance?"), state, {}, async (c) => {
              said.push(c);
              return [];
            });
          } finally {
            globalThis.fetch = original;
          }
          assert(seen.length === 1 && seen[0] === 'Bearer test-balance-key', `authorization headers sent: ${JSON.stringify(seen)}`);
          assert(said.length === 1 && said[0].text === 'You have €1,234.50 available.', `said ${JSON.stringify(said)}`);
          assert(!JSON.stringify(said).includes('test-balance-key'), 'the key is in what the agent says');
        },
      },
      {
        name: 'a refused key says which setting to check',
        fn: async (runtime) => {
          // plughub.dev.json answers 401 for GBP.
          const error = await failure(() => readBalance({ ...balanceSettings(runtime), currency: 'GBP' }));
          assert(error.message.includes('check BALANCE_API_KEY'), error.message);
          assert(!error.message.includes('test-balance-key'), 'the error shows the key');
        },
      },
      {
        name: 'without a key nothing is sent',
        fn: async (runtime) => {
          const error = await failure(() => readBalance({ ...balanceSettings(runtime), apiKey: null }));
          assert(error.message.startsWith('BALANCE_API_KEY is not set'), error.message);
          assert(harness().httpRequests().length === 0, 'a request went out without a key');
        },
      },
      {
        name: 'the action offers itself for balance questions only',
        fn: async (runtime) => {
          assert(await checkBalanceAction.validate(runtime, message(runtime, 'What is my balance?')), 'refused a balance question');
          assert(!(await checkBalanceAction.validate(runtime, message(runtime, 'tell me a joke'))), 'took a joke request');
        },
      },
    ],
  },
];
