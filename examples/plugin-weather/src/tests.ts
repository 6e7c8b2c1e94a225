import type { IAgentRuntime, Memory, State, TestSuite, UUID } from '@elizaos/core';
import { currentWeather, weatherProvider, weatherSettings } from './index';

// What `plughub dev test` gives a test to look at (see plughub.dev.json for the stubbed answers).
interface PlughubTest {
  httpRequests(): Array<{ method: string; url: string; status: number }>;
}
const harness = () => (globalThis as unknown as { plughubTest: PlughubTest }).plughubTest;

function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

const state: State = { values: {}, data: {}, text: '' };
function message(runtime: IAgentRuntime): Memory {
  return {
    entityId: '00000000-0000-4000-8000-000000000002' as UUID,
    agentId: runtime.agentId,
    roomId: '00000000-0000-4000-8000-000000000001' as UUID,
    content: { text: "what's the weather like?" },
  };
}

export const tests: TestSuite[] = [
  {
    name: 'weather',
    tests: [
      {
        name: 'the provider gives the current weather of the configured place',
        fn: async (runtime) => {
          const result = await weatherProvider.get(runtime, message(runtime), state);
          assert(
            result.text === 'The weather in Berlin: 21.5 °C, partly cloudy, wind 9.4 km/h.',
            `unexpected text: ${JSON.stringify(result.text)}`,
          );
          assert(result.values?.weatherTemperature === 21.5, 'values.weatherTemperature is not 21.5');
          assert(result.values?.weatherConditions === 'partly cloudy', 'values.weatherConditions is not "partly cloudy"');
        },
      },
      {
        name: 'it asks the configured API for the configured place, once',
        fn: async (runtime) => {
          await weatherProvider.get(runtime, message(runtime), state);
          const requests = harness().httpRequests();
          assert(requests.length === 1, `expected one request, got ${JSON.stringify(requests)}`);
          const url = new URL(requests[0].url);
          assert(requests[0].method === 'GET', `the request was a ${requests[0].method}`);
          assert(url.origin === new URL(weatherSettings(runtime).apiUrl).origin, `the request went to ${url.origin}`);
          assert(url.pathname === '/v1/forecast', `the request's path is ${url.pathname}`);
          assert(url.searchParams.get('latitude') === '52.52', 'not the configured latitude');
          assert(url.searchParams.get('longitude') === '13.41', 'not the configured longitude');
          assert(requests[0].status === 200, `the stub answered ${requests[0].status}`);
        },
      },
      {
        name: 'an API error says what went wrong',
        fn: async (runtime) => {
          // plughub.dev.json answers 503 for the place at 0,0.
          const { apiUrl } = weatherSettings(runtime);
          let error: unknown = null;
          try {
            await currentWeather(apiUrl, 0, 0);
          } catch (e) {
            error = e;
          }
          assert(error instanceof Error, 'a 503 from the API did not fail');
          assert(error.message.includes('answered 503'), `the error does not give the status: ${error.message}`);
        },
      },
      {
        name: 'when the API fails, the agent is told the weather is not known',
        fn: async (runtime) => {
          // The same runtime, set up for the place at 0,0, for which plughub.dev.json answers 503.
          const elsewhere = new Proxy(runtime, {
            get(target, property) {
              if (property === 'getSetting') {
                return (key: string) =>
                  key === 'WEATHER_LATITUDE' || key === 'WEATHER_LONGITUDE' ? '0' : key === 'WEATHER_PLACE' ? 'Null Island' : target.getSetting(key);
              }
              return Reflect.get(target, property);
            },
          });
          const result = await weatherProvider.get(elsewhere, message(runtime), state);
          assert(result.text === 'The weather in Null Island is not known right now.', `got ${JSON.stringify(result.text)}`);
          assert(result.values?.weatherTemperature === undefined, 'a temperature was made up');
          assert(String(result.data?.error).includes('answered 503'), `data.error: ${JSON.stringify(result.data)}`);
          const requests = harness().httpRequests();
          assert(requests.length === 1 && requests[0].status === 503, `requests: ${JSON.stringify(requests)}`);
        },
      },
      {
        name: 'an answer without the current weather is refused',
        fn: async (runtime) => {
          // plughub.dev.json answers {} for the place at 1,1.
          const { apiUrl } = weatherSettings(runtime);
          let error: unknown = null;
          try {
            await currentWeather(apiUrl, 1, 1);
          } catch (e) {
            error = e;
          }
          assert(error instanceof Error, 'an empty answer was taken for the weather');
          assert(error.message.includes('no current temperature'), `unexpected error: ${error.message}`);
        },
      },
    ],
  },
];
