// plughub's local model: an elizaOS model plugin whose answers depend only on what it is asked.
// Text models name the prompt by a digest and echo its last line, or, when the prompt shows the XML
// answer it wants (`<response><thought>…</thought><text>…</text></response>`, as elizaOS's templates
// do), fill those same fields with that; embeddings hash each word into a fixed
// number of dimensions (texts sharing words come out close, as a search needs); tokens are UTF-8 bytes.
// No network, no weights: for tests and offline agents, configured and activated like any model plugin.
import { createHash } from 'node:crypto';

const digest = (text) => createHash('sha256').update(text).digest('hex');

function promptOf(params) {
  if (typeof params === 'string') return params;
  return String(params?.prompt ?? params?.text ?? '');
}

function signature(runtime) {
  return runtime.getSetting('LOCAL_MODEL_NAME') || 'local-model';
}

function reply(runtime, type, params) {
  const prompt = promptOf(params);
  const lines = prompt.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = (lines.at(-1) ?? '').slice(0, 200);
  const signed = `[${signature(runtime)} ${type} ${digest(prompt).slice(0, 8)}]`;
  const format = prompt.match(/<response>([\s\S]*?)<\/response>/);
  if (!format) return `${signed} ${last}`;
  const fields = [...new Set([...format[1].matchAll(/<([A-Za-z_][\w-]*)>/g)].map((m) => m[1]))];
  const value = (field) => {
    if (field === 'actions') return 'REPLY';
    if (field === 'providers') return '';
    return `${signed} ${field}`;
  };
  return `<response>${fields.map((f) => `<${f}>${value(f)}</${f}>`).join('')}</response>`;
}

function dimensions(runtime) {
  const n = Number(runtime.getSetting('LOCAL_MODEL_EMBEDDING_DIMENSIONS') ?? 384);
  return Number.isInteger(n) && n > 0 && n <= 4096 ? n : 384;
}

function embed(runtime, params) {
  const size = dimensions(runtime);
  const vector = new Array(size).fill(0);
  // elizaOS asks with no text at start-up to learn the vector's length; it gets a non-zero vector.
  if (params === null || params === undefined) {
    vector[0] = 0.1;
    return vector;
  }
  const words = promptOf(params).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  // The first component is a small constant, the words hashed into the others: elizaOS plugins take an
  // embedding whose first component is 0 for an empty one (plugin-knowledge drops it), and a constant
  // this small leaves unrelated texts far apart.
  vector[0] = size > 1 ? 0.1 : 1;
  for (const word of words) {
    const hash = createHash('sha256').update(word).digest();
    const index = size > 1 ? 1 + (hash.readUInt32BE(0) % (size - 1)) : 0;
    vector[index] += hash[4] & 1 ? 1 : -1;
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

const text = (type) => async (runtime, params) => reply(runtime, type, params);
const object = (type) => async (runtime, params) => ({
  model: signature(runtime),
  type,
  digest: digest(promptOf(params)),
  text: reply(runtime, type, params),
});

export const localModelPlugin = {
  name: 'local-model',
  description: 'Deterministic offline models: text, objects, embeddings and tokens',
  priority: -100,
  models: {
    TEXT_SMALL: text('TEXT_SMALL'),
    TEXT_LARGE: text('TEXT_LARGE'),
    OBJECT_SMALL: object('OBJECT_SMALL'),
    OBJECT_LARGE: object('OBJECT_LARGE'),
    TEXT_EMBEDDING: async (runtime, params) => embed(runtime, params),
    TEXT_TOKENIZER_ENCODE: async (_runtime, params) => [...Buffer.from(promptOf(params), 'utf8')],
    TEXT_TOKENIZER_DECODE: async (_runtime, params) => Buffer.from(params?.tokens ?? []).toString('utf8'),
  },
};

export default localModelPlugin;
