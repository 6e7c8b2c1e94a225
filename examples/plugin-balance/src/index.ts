import type {
  Action,
  ActionResult,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  Plugin,
  Provider,
  ProviderResult,
  State,
} from '@elizaos/core';
import { tests } from './tests';

export interface BalanceSettings {
  apiUrl: string;
  apiKey: string | null;
  currency: string;
}

/** The plugin's settings: BALANCE_API_KEY is a secret (plughub gives it only if granted), the rest have defaults. */
export function balanceSettings(runtime: IAgentRuntime): BalanceSettings {
  const text = (key: string) => {
    const value = runtime.getSetting(key);
    return value === null || value === undefined || String(value).trim() === '' ? null : String(value).trim();
  };
  return {
    apiUrl: (text('BALANCE_API_URL') ?? 'https://api.balance.example.com').replace(/\/+$/, ''),
    apiKey: text('BALANCE_API_KEY'),
    currency: (text('BALANCE_CURRENCY') ?? 'USD').toUpperCase(),
  };
}

export interface Balance {
  available: number;
  pending: number;
  currency: string;
}

/** Errors that say what to do, without the key in them. */
export class BalanceError extends Error {}

/** Reads the account's balance in `currency`, with the key as a bearer token. */
export async function readBalance(settings: BalanceSettings): Promise<Balance> {
  if (!settings.apiKey) {
    throw new BalanceError('BALANCE_API_KEY is not set: configure the plugin with the balance API key (and grant it the secret)');
  }
  if (!/^[A-Z]{3}$/.test(settings.currency)) {
    throw new BalanceError(`BALANCE_CURRENCY must be a three-letter currency code such as USD, not ${settings.currency}`);
  }
  const url = `${settings.apiUrl}/v1/balance?currency=${settings.currency}`;
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${settings.apiKey}`, accept: 'application/json' },
  });
  if (response.status === 401 || response.status === 403) {
    throw new BalanceError(`the balance API refused the key (${response.status}): check BALANCE_API_KEY`);
  }
  if (!response.ok) throw new BalanceError(`the balance API answered ${response.status}`);
  const body = (await response.json()) as Partial<Balance>;
  if (typeof body.available !== 'number') throw new BalanceError('the balance API answered without an available balance');
  return { available: body.available, pending: body.pending ?? 0, currency: body.currency ?? settings.currency };
}

export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
}

export const balanceProvider: Provider = {
  name: 'ACCOUNT_BALANCE',
  description: "The account's available and pending balance",
  dynamic: true,
  get: async (runtime: IAgentRuntime, _message: Memory, _state: State): Promise<ProviderResult> => {
    try {
      const balance = await readBalance(balanceSettings(runtime));
      return {
        text: `Account balance: ${formatMoney(balance.available, balance.currency)} available, ${formatMoney(balance.pending, balance.currency)} pending.`,
        values: { balanceAvailable: balance.available, balancePending: balance.pending, balanceCurrency: balance.currency },
      };
    } catch (e) {
      return { text: 'The account balance is not available right now.', values: {}, data: { error: (e as Error).message } };
    }
  },
};

export const checkBalanceAction: Action = {
  name: 'CHECK_BALANCE',
  similes: ['GET_BALANCE', 'ACCOUNT_BALANCE', 'HOW_MUCH_MONEY'],
  description: "Tells the user the account's available balance",
  examples: [
    [
      { name: '{{user}}', content: { text: "What's my balance?" } },
      { name: '{{agent}}', content: { text: 'You have $1,234.50 available.', actions: ['CHECK_BALANCE'] } },
    ],
  ],
  validate: async (_runtime: IAgentRuntime, message: Memory) => /\b(balance|how much money)\b/i.test(message.content?.text ?? ''),
  handler: async (
    runtime: IAgentRuntime,
    _message: Memory,
    _state?: State,
    _options?: Record<string, unknown>,
    callback?: HandlerCallback,
  ): Promise<ActionResult> => {
    try {
      const balance = await readBalance(balanceSettings(runtime));
      const text = `You have ${formatMoney(balance.available, balance.currency)} available.`;
      await callback?.({ text, actions: ['CHECK_BALANCE'] });
      return { success: true, text, values: { balanceAvailable: balance.available } };
    } catch (e) {
      const text = `I could not read the balance: ${(e as Error).message}`;
      await callback?.({ text, actions: ['CHECK_BALANCE'] });
      return { success: false, text, error: e as Error };
    }
  },
};

export const balancePlugin: Plugin = {
  name: 'balance',
  description: "Reads an account's balance from a balance API with an API key",
  providers: [balanceProvider],
  actions: [checkBalanceAction],
  tests,
};

export default balancePlugin;
