// A small client of plughub's agent bridge API: the components an agent has, and runs over a WebSocket.
// It knows nothing of elizaOS beyond the shapes it passes through; the bridge (bridge.ts) adapts it.

import WebSocket from 'ws';
import {
  MAX_FRAME_BYTES,
  RUNTIME_METHODS,
  type ApiErrorBody,
  type Components,
  type Outcome,
  type RunTarget,
} from './protocol.js';

export interface ClientOptions {
  /** plughub's address, `http(s)://host:port` (a path prefix is kept). */
  url: string;
  /** An API token (`phk_…`), sent as `Authorization: Bearer`. */
  token: string;
  org: string;
  agent: string;
  /** Seconds one run may take before it is abandoned (default 60). */
  timeoutSeconds?: number;
  /** Runs in flight at once (default 16); more wait in a queue. */
  maxRuns?: number;
}

/** An error of plughub or of the way to it, with what the agent's operator should check. */
export class PlughubError extends Error {
  /** The HTTP status plughub answered, when it answered. */
  readonly status?: number;
  /** plughub's error code (`token_unknown`, `agent_not_found`, …), when it gave one. */
  readonly code?: string;
  /** Where the request went. */
  readonly url?: string;
  constructor(message: string, fields: { status?: number; code?: string; url?: string } = {}) {
    super(message);
    this.name = 'PlughubError';
    this.status = fields.status;
    this.code = fields.code;
    this.url = fields.url;
  }
}

/** What a run does with the frames plughub sends while it runs. */
export interface RunHandlers {
  /** Each `callback` frame's content, strictly in order; the next waits for this one's promise. */
  callback?: (content: Record<string, unknown>) => unknown;
  /** The object whose methods answer `runtime.call` frames (the agent's runtime). */
  runtime?: object;
  /** Seconds for this run (default: the client's). */
  timeoutSeconds?: number;
}

/** The state sent with a run: values and text, data only when it serialises. */
export interface RunState {
  values?: Record<string, unknown>;
  data?: Record<string, unknown>;
  text?: string;
}

const DEFAULT_TIMEOUT_SECONDS = 60;
const DEFAULT_MAX_RUNS = 16;
// Callback frames waiting for the agent beyond which the socket stops reading (TCP then holds the
// server back), and the level at which it reads again. High: the callbacks' promise chain is what paces
// them; plughub takes a socket that reads nothing for 10 s as an agent that left, so this is only a
// bound on what a flood can queue in the agent's memory.
const PAUSE_AT = 1024;
const RESUME_AT = 256;

/** A counting semaphore with a FIFO queue. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly size: number) {
    this.free = size;
  }
  get queued(): number {
    return this.waiting.length;
  }
  get inUse(): number {
    return this.size - this.free;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** What a failed fetch or socket says, down to the system's reason (ECONNREFUSED and the like). */
export function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth += 1) {
    const e = current as { message?: string; code?: string; name?: string; cause?: unknown };
    const text = e.code && !(e.message ?? '').includes(e.code) ? `${e.message} (${e.code})` : e.message;
    if (text && !parts.includes(text)) parts.push(text);
    current = e.cause;
  }
  return parts.join(': ') || String(error);
}

/** JSON text of a value, or undefined when it does not serialise (cycles, BigInt). */
function tryStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** The run frame, made to fit under plughub's frame limit: state.data goes first, then state.text. */
export function runFrame(
  target: RunTarget,
  message: unknown,
  state: RunState | undefined,
  timeoutSeconds: number,
): string {
  const base: Record<string, unknown> = {
    type: 'run',
    plugin: target.plugin,
    [target.kind]: target.name,
    message,
    // Whole seconds, as plughub takes them.
    timeout: Math.max(1, Math.ceil(timeoutSeconds)),
  };
  const values = state?.values ?? {};
  const text = typeof state?.text === 'string' ? state.text : '';
  const attempts: (RunState | undefined)[] = state
    ? [
        { values, data: state.data ?? {}, text },
        { values, text },
        { values, text: '' },
        { values: {}, text: '' },
      ]
    : [undefined];
  for (const attempt of attempts) {
    const frame = tryStringify(attempt ? { ...base, state: attempt } : base);
    if (frame !== undefined && Buffer.byteLength(frame) < MAX_FRAME_BYTES) return frame;
  }
  throw new PlughubError(
    `the message of this run does not fit in one frame (${MAX_FRAME_BYTES} bytes) or does not serialise as JSON`,
  );
}

/** Calls one allowed method of the agent's runtime for a `runtime.call` frame. */
async function answerRuntimeCall(runtime: object | undefined, method: string, params: unknown[]): Promise<unknown> {
  if (!RUNTIME_METHODS.includes(method)) {
    throw new Error(`runtime.${method} is not answered by the bridge (it answers ${RUNTIME_METHODS.join(', ')})`);
  }
  const target = runtime as Record<string, unknown> | undefined;
  const fn = target?.[method];
  if (typeof fn !== 'function') throw new Error(`the agent's runtime has no ${method}`);
  let args = params;
  if (method === 'getMemories') {
    const query = (params[0] ?? {}) as Record<string, unknown>;
    args = [{ ...query, tableName: query.tableName ?? 'messages' }, ...params.slice(1)];
  }
  if (method === 'useModel') args = [params[0], params[1] ?? {}];
  const result = await (fn as (...a: unknown[]) => unknown).apply(runtime, args);
  return result === undefined ? null : result;
}

export class PlughubClient {
  readonly base: string;
  readonly org: string;
  readonly agent: string;
  readonly timeoutSeconds: number;
  /** Sees every frame and answer, as text: 'in' from plughub, 'out' to it (for tests and debugging). */
  observer?: (direction: 'in' | 'out', text: string) => void;
  private readonly token: string;
  private readonly slots: Slots;

  constructor(options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    if (!/^https?:\/\//i.test(this.base)) {
      throw new PlughubError(`PLUGHUB_URL must start with http:// or https://, not '${options.url}'`);
    }
    this.token = options.token;
    this.org = options.org;
    this.agent = options.agent;
    this.timeoutSeconds = positive(options.timeoutSeconds, DEFAULT_TIMEOUT_SECONDS);
    this.slots = new Slots(Math.floor(positive(options.maxRuns, DEFAULT_MAX_RUNS)));
  }

  private path(tail: string): string {
    return `/api/orgs/${encodeURIComponent(this.org)}/agents/${encodeURIComponent(this.agent)}/${tail}`;
  }

  get componentsUrl(): string {
    return this.base + this.path('components');
  }

  get runUrl(): string {
    return this.base.replace(/^http/i, 'ws') + this.path('run');
  }

  /** Runs in flight now. */
  get inFlight(): number {
    return this.slots.inUse;
  }

  /** Runs waiting for a free slot. */
  get queued(): number {
    return this.slots.queued;
  }

  get maxRuns(): number {
    return this.slots.size;
  }

  /** What to check for an HTTP status plughub answered. */
  static hint(status: number | undefined): string {
    switch (status) {
      case 401:
        return 'check PLUGHUB_TOKEN (an API token of a member of the organisation: plughub admin create-token)';
      case 403:
        return "check that PLUGHUB_TOKEN's person may use the organisation's agents";
      case 404:
        return 'check PLUGHUB_ORG and PLUGHUB_AGENT (the agent must exist in plughub: plughub agent create NAME --org ORG)';
      case 426:
        return 'the run endpoint takes only WebSocket upgrades';
      case undefined:
        return 'check PLUGHUB_URL and that plughub is running and reachable from the agent';
      default:
        return status >= 500 ? "plughub failed; its log says why" : 'check the bridge settings';
    }
  }

  /** An error from a status and plughub's error body. */
  static fromAnswer(what: string, url: string, status: number, bodyText: string): PlughubError {
    let detail: ApiErrorBody | undefined;
    try {
      detail = (JSON.parse(bodyText) as { error?: ApiErrorBody }).error;
    } catch {
      detail = undefined;
    }
    const said = detail?.message ?? bodyText.trim().slice(0, 200);
    const code = detail?.code;
    return new PlughubError(
      `${what}: plughub answered ${status}${code ? ` ${code}` : ''}${said ? `: ${said}` : ''} (${url}); ${PlughubClient.hint(status)}`,
      { status, code, url },
    );
  }

  /** The components active for the agent. */
  async components(timeoutMs = 10_000): Promise<Components> {
    const url = this.componentsUrl;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      const why =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${timeoutMs / 1000} s`
          : describeCause(error);
      throw new PlughubError(
        `could not read the agent's components from plughub: ${why} (${url}); ${PlughubClient.hint(undefined)}`,
        { url },
      );
    }
    const text = await response.text();
    this.observer?.('in', text);
    if (!response.ok) throw PlughubClient.fromAnswer("could not read the agent's components", url, response.status, text);
    let body: Components;
    try {
      body = JSON.parse(text) as Components;
    } catch {
      throw new PlughubError(`plughub's components answer is not JSON (${url}): ${text.slice(0, 200)}`, { url });
    }
    if (!body || !Array.isArray(body.plugins)) {
      throw new PlughubError(`plughub's components answer has no plugins list (${url})`, { url });
    }
    return body;
  }

  /**
   * Runs one component in plughub's sandbox over one WebSocket: callback frames go to
   * `handlers.callback` in order, runtime calls to `handlers.runtime`; resolves with the outcome.
   */
  async run(target: RunTarget, message: unknown, state: RunState | undefined, handlers: RunHandlers = {}): Promise<Outcome> {
    const timeoutSeconds = positive(handlers.timeoutSeconds, this.timeoutSeconds);
    // Made before waiting for a slot: a message that can never be sent fails at once.
    const frame = runFrame(target, message, state, timeoutSeconds);
    await this.slots.acquire();
    try {
      return await this.runOnce(target, frame, handlers, timeoutSeconds);
    } finally {
      this.slots.release();
    }
  }

  private runOnce(target: RunTarget, frame: string, handlers: RunHandlers, timeoutSeconds: number): Promise<Outcome> {
    const url = this.runUrl;
    const what = `${target.kind} ${target.name} of ${target.plugin}`;
    return new Promise<Outcome>((resolve, reject) => {
      let settled = false;
      let finalFrame = false;
      let chain: Promise<unknown> = Promise.resolve();
      let pending = 0;
      let paused = false;
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${this.token}` },
        handshakeTimeout: Math.min(timeoutSeconds, 30) * 1000,
        maxPayload: 64 * 1024 * 1024,
      });
      const timer = setTimeout(() => {
        fail(
          new PlughubError(
            `${what} did not finish within ${timeoutSeconds} s (PLUGHUB_TIMEOUT_SECONDS); the bridge closed its connection to plughub`,
            { url, code: 'timeout' },
          ),
        );
      }, timeoutSeconds * 1000);

      const finish = (): void => {
        settled = true;
        clearTimeout(timer);
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
          try {
            ws.terminate();
          } catch {
            // already gone
          }
        }
      };
      const fail = (error: Error): void => {
        if (settled) return;
        finish();
        reject(error);
      };
      const succeed = (outcome: Outcome): void => {
        if (settled) return;
        finish();
        resolve(outcome);
      };
      const send = (value: unknown): void => {
        if (settled || ws.readyState !== WebSocket.OPEN) return;
        let text = tryStringify(value);
        const id = (value as { id?: string }).id;
        if (text === undefined || Buffer.byteLength(text) >= MAX_FRAME_BYTES) {
          text = JSON.stringify({
            type: 'runtime.error',
            id,
            error: text === undefined ? 'the answer does not serialise as JSON' : 'the answer is larger than one frame',
          });
        }
        this.observer?.('out', text);
        ws.send(text);
      };
      // Frames that must keep their order (callbacks, then the final frame) run one after another.
      const inOrder = (step: () => unknown): void => {
        pending += 1;
        if (!paused && pending >= PAUSE_AT) {
          paused = true;
          ws.pause();
        }
        chain = chain
          .then(() => (settled ? undefined : step()))
          .catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))))
          .finally(() => {
            pending -= 1;
            if (paused && pending <= RESUME_AT) {
              paused = false;
              ws.resume();
            }
          });
      };

      ws.on('open', () => {
        this.observer?.('out', frame);
        ws.send(frame);
      });
      ws.on('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          this.observer?.('in', body);
          fail(PlughubClient.fromAnswer(`could not run ${what}`, url, response.statusCode ?? 0, body));
        });
        response.on('error', (error) => fail(new PlughubError(`could not run ${what}: ${describeCause(error)} (${url})`, { url })));
      });
      ws.on('error', (error) => {
        fail(
          new PlughubError(`could not run ${what}: ${describeCause(error)} (${url}); ${PlughubClient.hint(undefined)}`, {
            url,
          }),
        );
      });
      ws.on('close', (code, reason) => {
        if (finalFrame) return; // the chain settles the run
        const why = reason.length > 0 ? `, ${reason.toString('utf8')}` : '';
        fail(
          new PlughubError(`plughub closed the connection of ${what} before it answered (code ${code}${why}) (${url})`, {
            url,
            code: 'closed',
          }),
        );
      });
      ws.on('message', (data, isBinary) => {
        if (settled || finalFrame) return;
        const raw = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
        this.observer?.('in', raw);
        let frameIn: Record<string, unknown>;
        try {
          frameIn = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          fail(new PlughubError(`plughub sent a frame that is not JSON during ${what} (${url})`, { url }));
          return;
        }
        switch (frameIn.type) {
          case 'callback': {
            const content = (frameIn.content ?? {}) as Record<string, unknown>;
            if (handlers.callback) {
              const callback = handlers.callback;
              inOrder(() => callback(content));
            }
            break;
          }
          case 'runtime.call': {
            const id = frameIn.id;
            const method = String(frameIn.method ?? '');
            const params = Array.isArray(frameIn.params) ? (frameIn.params as unknown[]) : [];
            answerRuntimeCall(handlers.runtime, method, params).then(
              (result) => send({ type: 'runtime.result', id, result }),
              (error: unknown) =>
                send({ type: 'runtime.error', id, error: error instanceof Error ? error.message : String(error) }),
            );
            break;
          }
          case 'result': {
            finalFrame = true;
            const outcome = (frameIn.outcome ?? {}) as Outcome;
            inOrder(() => succeed(outcome));
            break;
          }
          case 'error': {
            finalFrame = true;
            const body = (frameIn.error ?? {}) as ApiErrorBody;
            const status = typeof frameIn.status === 'number' ? frameIn.status : undefined;
            inOrder(() =>
              fail(
                new PlughubError(body.message ?? `plughub failed to run ${what}`, {
                  status,
                  code: body.code,
                  url,
                }),
              ),
            );
            break;
          }
          default:
            // A frame of a newer protocol: ignored.
            break;
        }
      });
    });
  }
}
