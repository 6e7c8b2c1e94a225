import type { IAgentRuntime, Memory, State, TestSuite, UUID } from '@elizaos/core';
import { statusProvider } from './index';

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
        // The answer comes from plughub.dev.json's "http" stub: no real request leaves the test.
        name: 'gives the status of the API as text',
        fn: async (runtime) => {
          const result = await statusProvider.get(runtime, message(runtime, 'status?'), emptyState);
          expect(
            result.text === "The API's status is ok: all systems normal.",
            `unexpected text: ${result.text}`,
          );
          expect(result.values?.apiStatus === 'ok', 'expected values.apiStatus = ok');
        },
      },
      {
        name: 'calls the API once, with GET',
        fn: async (runtime) => {
          await statusProvider.get(runtime, message(runtime, 'status?'), emptyState);
          const harness = (globalThis as { plughubTest?: { httpRequests(): { method: string; url: string }[] } })
            .plughubTest;
          if (!harness) return; // outside plughub's harness there is nothing to count
          const calls = harness.httpRequests().filter((r) => r.url.endsWith('/v1/status'));
          expect(calls.length === 1, `expected one request, saw ${calls.length}`);
          expect(calls[0].method === 'GET', `expected GET, saw ${calls[0].method}`);
        },
      },
    ],
  },
];
