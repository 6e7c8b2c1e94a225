import type {
  Action,
  ActionResult,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  Plugin,
  Service,
  State,
} from '@elizaos/core';
import { tests } from './tests';

/**
 * A counter kept while the agent runs. elizaOS starts services with the class's static `start`; the class
 * does not extend core's `Service` so that the built plugin needs nothing of @elizaos/core at run time.
 */
export class CounterService {
  static serviceType = '{{service_type}}';
  capabilityDescription = 'Counts, for the agent';
  private count: number;

  constructor(start: number) {
    this.count = start;
  }

  static async start(runtime: IAgentRuntime): Promise<CounterService> {
    const start = Number(runtime.getSetting('{{PREFIX}}_START_AT') ?? 0);
    return new CounterService(Number.isFinite(start) ? start : 0);
  }

  static async stop(runtime: IAgentRuntime): Promise<void> {
    await runtime.getService<Service>(CounterService.serviceType)?.stop();
  }

  async stop(): Promise<void> {}

  next(): number {
    this.count += 1;
    return this.count;
  }
}

export const countAction: Action = {
  name: '{{PREFIX}}_COUNT',
  similes: ['COUNT'],
  description: 'Counts one more and says the count',
  validate: async (runtime: IAgentRuntime): Promise<boolean> =>
    runtime.getService(CounterService.serviceType) !== null,
  handler: async (
    runtime: IAgentRuntime,
    _message: Memory,
    _state?: State,
    _options?: Record<string, unknown>,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    const counter = runtime.getService(CounterService.serviceType) as unknown as CounterService | null;
    if (!counter) return { success: false, text: 'the counter service is not running' };
    const text = `The count is ${counter.next()}.`;
    await callback?.({ text, actions: ['{{PREFIX}}_COUNT'] });
    return { success: true, text };
  },
  examples: [],
};

export const {{ident}}: Plugin = {
  name: '{{bare}}',
  description: '{{description}}',
  services: [CounterService as unknown as typeof Service],
  actions: [countAction],
  tests,
};

export default {{ident}};
