import type { IAgentRuntime, Plugin } from '@elizaos/core';
import { tests } from './tests';

interface TextParams {
  prompt: string;
  maxTokens?: number;
  temperature?: number;
}

/** Sends the prompt to the completion API and answers its text. */
export async function complete(runtime: IAgentRuntime, params: TextParams, size: string): Promise<string> {
  const key = runtime.getSetting('{{PREFIX}}_API_KEY');
  if (!key) throw new Error('{{PREFIX}}_API_KEY is not set');
  const model = String(runtime.getSetting('{{PREFIX}}_MODEL') ?? 'small-1');
  const response = await fetch('https://api.example.com/v1/complete', {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model,
      size,
      prompt: params.prompt,
      max_tokens: params.maxTokens ?? 256,
      temperature: params.temperature ?? 0.7,
    }),
  });
  if (!response.ok) throw new Error(`the completion API answered ${response.status}`);
  const answer = (await response.json()) as { text?: string };
  return answer.text ?? '';
}

export const {{ident}}: Plugin = {
  name: '{{bare}}',
  description: '{{description}}',
  models: {
    TEXT_SMALL: (runtime: IAgentRuntime, params: TextParams) => complete(runtime, params, 'small'),
    TEXT_LARGE: (runtime: IAgentRuntime, params: TextParams) => complete(runtime, params, 'large'),
  },
  tests,
};

export default {{ident}};
