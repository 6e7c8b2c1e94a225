import type { ActionResult, Evaluator, IAgentRuntime, Memory, Plugin, State } from '@elizaos/core';
import { tests } from './tests';

/**
 * A small sentiment lexicon: each word's weight from -3 (very negative) to +3 (very positive), in the
 * manner of AFINN. A real plugin would load a larger list; the scoring is the same.
 */
export const LEXICON: Readonly<Record<string, number>> = {
  love: 3, excellent: 3, amazing: 3, wonderful: 3, fantastic: 3, perfect: 3,
  great: 2, good: 2, happy: 2, glad: 2, thanks: 2, thank: 2, like: 2, nice: 2, helpful: 2, fun: 2,
  ok: 1, fine: 1, better: 1, works: 1, cool: 1,
  bad: -2, sad: -2, wrong: -2, broken: -2, slow: -1, annoying: -2, angry: -3, problem: -1, fail: -2, failed: -2,
  terrible: -3, awful: -3, hate: -3, horrible: -3, worst: -3, useless: -3,
};

// A negation flips the weight of the next sentiment word within three words ("not very good").
const NEGATIONS = new Set(['not', "don't", 'dont', 'never', 'no', "isn't", 'isnt', "doesn't", 'doesnt', "wasn't", 'wasnt']);

export type SentimentLabel = 'positive' | 'negative' | 'neutral';

export interface Sentiment {
  /** Sum of the weights of the words found. */
  score: number;
  /** The score per word of the text, from -3 to 3: comparable between short and long messages. */
  comparative: number;
  label: SentimentLabel;
  /** The lexicon's words found, with the weight each counted for (negated ones flipped). */
  words: Array<{ word: string; weight: number }>;
}

export function scoreText(text: string): Sentiment {
  const tokens = text.toLowerCase().match(/[\p{L}']+/gu) ?? [];
  let score = 0;
  let negatedFor = 0;
  const words: Sentiment['words'] = [];
  for (const token of tokens) {
    if (NEGATIONS.has(token)) {
      negatedFor = 3;
      continue;
    }
    const weight = LEXICON[token];
    if (weight !== undefined) {
      const counted = negatedFor > 0 ? -weight : weight;
      score += counted;
      words.push({ word: token, weight: counted });
      negatedFor = 0;
    } else if (negatedFor > 0) {
      negatedFor -= 1;
    }
  }
  const comparative = tokens.length ? score / tokens.length : 0;
  const label: SentimentLabel = score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral';
  return { score, comparative, label, words };
}

/** The memory table the scores go to: SENTIMENT_TABLE, else "sentiment". */
export function sentimentTable(runtime: IAgentRuntime): string {
  const table = runtime.getSetting('SENTIMENT_TABLE');
  return typeof table === 'string' && table.trim() ? table.trim() : 'sentiment';
}

export const sentimentEvaluator: Evaluator = {
  name: 'MESSAGE_SENTIMENT',
  similes: ['SENTIMENT', 'MOOD'],
  description: "Scores the sentiment of each message people send and keeps the score as a memory in the message's room",
  // Every message people write, not only when the planner picks it.
  alwaysRun: true,
  examples: [
    {
      prompt: 'A user thanks the agent',
      messages: [{ name: '{{user}}', content: { text: 'Thanks, that was really helpful!' } }],
      outcome: 'A memory in the sentiment table: positive, score 4',
    },
  ],
  // The agent's own messages are not scored, nor messages without text.
  validate: async (runtime: IAgentRuntime, message: Memory): Promise<boolean> =>
    message.entityId !== runtime.agentId && typeof message.content?.text === 'string' && message.content.text.trim() !== '',
  handler: async (runtime: IAgentRuntime, message: Memory, _state?: State): Promise<ActionResult> => {
    const sentiment = scoreText(message.content?.text ?? '');
    const table = sentimentTable(runtime);
    await runtime.createMemory(
      {
        entityId: message.entityId,
        agentId: runtime.agentId,
        roomId: message.roomId,
        content: {
          text: `sentiment ${sentiment.label} (${sentiment.score})`,
          label: sentiment.label,
          score: sentiment.score,
          comparative: sentiment.comparative,
          words: sentiment.words,
          ...(message.id ? { messageId: message.id } : {}),
        },
        createdAt: Date.now(),
      },
      table,
    );
    return { success: true, values: { sentimentLabel: sentiment.label, sentimentScore: sentiment.score } };
  },
};

export const sentimentPlugin: Plugin = {
  name: 'sentiment',
  description: "Scores each message's sentiment with a word list and remembers it",
  evaluators: [sentimentEvaluator],
  tests,
};

export default sentimentPlugin;

