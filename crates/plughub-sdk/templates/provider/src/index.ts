import type { IAgentRuntime, Memory, Plugin, Provider, ProviderResult, State } from '@elizaos/core';
import { tests } from './tests';

interface Status {
  status: string;
  message?: string;
}

/** Asks the API for its status with the configured key. */
export async function fetchStatus(runtime: IAgentRuntime): Promise<Status> {
  const key = runtime.getSetting('{{PREFIX}}_API_KEY');
  if (!key) throw new Error('{{PREFIX}}_API_KEY is not set');
  const base = String(runtime.getSetting('{{PREFIX}}_API_URL') ?? 'https://api.example.com');
  const response = await fetch(`${base.replace(/\/$/, '')}/v1/status`, {
    headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`the API answered ${response.status}`);
  return (await response.json()) as Status;
}

export const statusProvider: Provider = {
  name: '{{PREFIX}}_STATUS',
  description: 'The status of the API, for the agent to mention when asked',
  dynamic: true,
  get: async (runtime: IAgentRuntime, _message: Memory, _state: State): Promise<ProviderResult> => {
    const status = await fetchStatus(runtime);
    return {
      text: `The API's status is ${status.status}${status.message ? `: ${status.message}` : ''}.`,
      values: { apiStatus: status.status },
      data: { status },
    };
  },
};

export const {{ident}}: Plugin = {
  name: '{{bare}}',
  description: '{{description}}',
  providers: [statusProvider],
  tests,
};

export default {{ident}};
