// The plughub worker host: loads one elizaOS plugin the way elizaOS does, gives it a runtime, and answers
// plughub over a Unix socket (never over stdout, which belongs to the plugin and becomes its log).
// Messages are newline-delimited JSON with the elizaOS interop names; runtime calls go back to plughub.
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AsyncLocalStorage } from 'node:async_hooks';
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

const MAX_MESSAGE_BYTES = 1_000_000;
const socketPath = process.env.PLUGHUB_SOCKET;
delete process.env.PLUGHUB_SOCKET;

// Node's permission model refuses a child process with "Access to this API has been restricted", which
// libraries pass on in their own words (patchright: "browserType.launch: Access to this API…"): the
// refusal is tagged with what was refused, so that plughub can name the grant that would allow it.
const tagged = (e) => {
  if (e?.code === 'ERR_ACCESS_DENIED' && !String(e.message).includes('(ERR_ACCESS_DENIED')) {
    e.message = `${e.message} (ERR_ACCESS_DENIED: ${e.permission ?? 'unknown'})`;
  }
  return e;
};
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = childProcess[name];
  const wrapped = function (...args) {
    try {
      return original.apply(this, args);
    } catch (e) {
      throw tagged(e);
    }
  };
  // util.promisify's own form of exec and execFile stays what it was.
  for (const key of Object.getOwnPropertySymbols(original)) {
    Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(original, key));
  }
  childProcess[name] = wrapped;
}
syncBuiltinESMExports();

// The plugin's stdout and stderr are pipes to plughub, which reads them as they come. Node writes to a pipe
// asynchronously, queueing in this process what the pipe has not taken: a plugin printing 300 lines of
// 1 MB ran out of its heap that way. Blocking writes make the plugin wait for the pipe instead.
for (const stream of [process.stdout, process.stderr]) stream._handle?.setBlocking?.(true);

const socket = net.createConnection(socketPath);
socket.setNoDelay(true);

// This process boots without a plugin, possibly ahead of need, and waits: no plugin code runs until
// plughub has confined it (its cgroup) and given it a package (mounted where PLUGHUB_PACKAGE says). The
// first line says so, with what the plugin's process needs in its environment.
const start = await new Promise((resolve, reject) => {
  let early = '';
  const onData = (chunk) => {
    early += chunk.toString('utf8');
    const newline = early.indexOf('\n');
    if (newline < 0) return;
    socket.removeListener('data', onData);
    socket.pause();
    const first = JSON.parse(early.slice(0, newline));
    if (first.type !== 'plughub.start') reject(new Error(`plughub: expected plughub.start, got ${first.type}`));
    else resolve(first);
  };
  socket.on('data', onData);
  socket.once('error', reject);
  socket.once('close', () => process.exit(0));
});

Object.assign(process.env, start.env);
if (process.env.PLUGHUB_CWD) process.chdir(process.env.PLUGHUB_CWD);
delete process.env.PLUGHUB_CWD;
const packageDir = process.env.PLUGHUB_PACKAGE;
const egressPath = process.env.PLUGHUB_EGRESS;
// `plughub dev test`: the plugin's own tests run here, and what they send over the network is noted for
// `plughubTest.httpRequests()`. Never set for an execution.
const devTest = process.env.PLUGHUB_DEV_TEST === '1';
// The certificate authority of the operator's stubs (`--egress-map-ca`, or the one `plughub dev test`
// makes for its stub), trusted on TLS to the mapped domains only: the proxy sends those to the stubs.
const mappedCa = process.env.PLUGHUB_EGRESS_CA ? [...tls.rootCertificates, process.env.PLUGHUB_EGRESS_CA] : undefined;
const mappedDomains = JSON.parse(process.env.PLUGHUB_EGRESS_MAPPED || '[]');
// The same match as the proxy's (a name, or `*.example.com` for the names under it).
function caFor(host) {
  if (!mappedCa) return undefined;
  const name = String(host).replace(/\.$/, '').toLowerCase();
  const mapped = mappedDomains.some((d) => (d.startsWith('*.') ? name.endsWith(d.slice(1)) : name === d));
  return mapped ? mappedCa : undefined;
}
// plughub's caps (crates/plughub-engine/src/caps.rs), the same figures it enforces on its side, so that
// both stop at the same message; these defaults are its own.
const caps = {
  callbacks: 1_000,
  callbackBytes: 1024 * 1024,
  logLineBytes: 8 * 1024,
  runtimeCallBytes: MAX_MESSAGE_BYTES,
  ...JSON.parse(process.env.PLUGHUB_CAPS || '{}'),
};
delete process.env.PLUGHUB_PACKAGE;
delete process.env.PLUGHUB_EGRESS;
delete process.env.PLUGHUB_CAPS;
delete process.env.PLUGHUB_DEV_TEST;
delete process.env.PLUGHUB_EGRESS_CA;
delete process.env.PLUGHUB_EGRESS_MAPPED;

// JSON of what a plugin gives, where only a true cycle (an object inside itself) is cut: an object met
// twice side by side (two actions sharing one similes array) is written twice, as it is data.
function safeJson(value) {
  const path = [];
  return JSON.stringify(value, function (_key, v) {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return undefined;
    if (v instanceof Error) return { name: v.name, message: v.message };
    if (typeof v !== 'object' || v === null) return v;
    // `this` holds v: the objects on the path below `this` were siblings' and are done.
    while (path.length > 0 && path[path.length - 1] !== this) path.pop();
    if (path.includes(v)) return '[Circular]';
    path.push(v);
    return v;
  });
}

function send(message) {
  let line = safeJson(message);
  if (Buffer.byteLength(line) > MAX_MESSAGE_BYTES && message.id !== undefined && message.type !== 'callback') {
    line = safeJson({ type: 'error', id: message.id, error: `the answer is over the ${MAX_MESSAGE_BYTES}-byte cap` });
  } else if (Buffer.byteLength(line) > MAX_MESSAGE_BYTES) {
    return;
  }
  return write(line);
}

// Writes a line; the promise settles once the socket has taken it in, so that a caller that awaits it
// (a callback) lets the event loop send what is queued instead of queueing without bound in this process.
let drained = null;
function write(line) {
  if (socket.write(line + '\n')) return undefined;
  drained ??= new Promise((resolve) =>
    socket.once('drain', () => {
      drained = null;
      resolve();
    }),
  );
  return drained;
}

const thousands = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
// A size as plughub says it: whole MiB or KiB when exact, else bytes.
const sizeOf = (n) =>
  n >= 1 << 20 && n % (1 << 20) === 0 ? `${n >> 20} MiB` : n >= 1 << 10 && n % (1 << 10) === 0 ? `${n >> 10} KiB` : `${thousands(n)} bytes`;

// A logger line is cut here to plughub's cap on a line (plughub would cut it anyway), saying how much was
// left out. Logging cannot wait, so while the socket holds more than LOG_BACKLOG bytes not yet sent, lines
// are dropped and counted, and the count is logged once it has drained: a plugin logging in a tight loop
// does not grow this process without bound.
const LOG_BACKLOG = 4 * 1024 * 1024;
let droppedLines = 0;
function reportDropped() {
  if (!droppedLines || socket.writableLength > LOG_BACKLOG) return;
  const dropped = droppedLines;
  droppedLines = 0;
  send({ type: 'log', level: 'warn', message: `plughub: ${thousands(dropped)} log lines were dropped: the plugin logged faster than plughub could take them` });
}
socket.on('drain', reportDropped);

function log(level, message) {
  if (socket.writableLength > LOG_BACKLOG) {
    droppedLines += 1;
    return;
  }
  reportDropped();
  let cut = 0;
  if (message.length > caps.logLineBytes) {
    const bytes = Buffer.from(message, 'utf8');
    if (bytes.length > caps.logLineBytes) {
      let end = caps.logLineBytes;
      while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
      message = bytes.toString('utf8', 0, end);
      cut = bytes.length - end;
    }
  }
  send(cut ? { type: 'log', level, message, cut } : { type: 'log', level, message });
}

// ---- the way out: in a sandbox there is no network, and plughub's egress proxy is reached through a Unix
// socket. `http`, `https` (and so axios) and `fetch` go through it unchanged: each connection is a CONNECT
// tunnel, TLS on top for https, so the proxy sees the host and the plugin keeps end-to-end TLS.
function tunnel(host, port) {
  return new Promise((resolve, reject) => {
    const proxy = net.createConnection(egressPath);
    proxy.once('error', reject);
    const closedEarly = () => reject(new Error(`plughub's egress proxy closed before answering for ${host}:${port}`));
    proxy.once('end', closedEarly);
    proxy.write(`CONNECT ${host}:${port} HTTP/1.1\r\nhost: ${host}:${port}\r\n\r\n`);
    let seen = Buffer.alloc(0);
    const onData = (chunk) => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      proxy.removeListener('data', onData);
      proxy.removeListener('end', closedEarly);
      const status = Number(seen.toString('latin1', 0, end).split(' ')[1]);
      const rest = seen.subarray(end + 4);
      if (status === 200) {
        proxy.removeListener('error', reject);
        if (rest.length) proxy.unshift(rest);
        resolve(proxy);
        return;
      }
      let why = rest.toString();
      proxy.on('data', (more) => (why += more.toString()));
      proxy.on('end', () => {
        const error = new Error(`plughub's egress proxy refused ${host}:${port} (${status}): ${why}`);
        error.plughubEgressStatus = status;
        reject(error);
      });
    };
    proxy.on('data', onData);
  });
}

function egressAgent(Base, secure) {
  return class extends Base {
    createConnection(options, callback) {
      const host = options.host ?? options.hostname ?? 'localhost';
      const port = options.port ?? (secure ? 443 : 80);
      tunnel(host, port).then(
        (socket) =>
          callback(null, secure ? tls.connect({ ...options, socket, servername: options.servername ?? host, ...(caFor(host) && !options.ca ? { ca: caFor(host) } : {}) }) : socket),
        (error) => callback(error),
      );
    }
  };
}

if (egressPath) {
  http.globalAgent = new (egressAgent(http.Agent, false))({ keepAlive: false });
  https.globalAgent = new (egressAgent(https.Agent, true))({ keepAlive: false });
  // fetch is undici's, and so is a plugin's own copy of undici: both take their dispatcher from one
  // global symbol. A fetch of a data: URL (no network) makes Node create its dispatcher; an Agent of the
  // same class, whose connections are tunnels, takes its place. Redirects, bodies and streaming stay
  // undici's own.
  const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  await fetch('data:,');
  const Agent = globalThis[DISPATCHER]?.constructor;
  if (typeof Agent !== 'function') throw new Error('plughub: this Node.js has no undici dispatcher to route fetch');
  globalThis[DISPATCHER] = new Agent({
    // One request a tunnel (no keep-alive), so the proxy counts and records each request.
    pipelining: 0,
    connect(options, callback) {
      const secure = options.protocol === 'https:';
      const host = options.hostname;
      const port = Number(options.port) || (secure ? 443 : 80);
      tunnel(host, port).then(
        (socket) => {
          if (!secure) return callback(null, socket);
          const tlsSocket = tls.connect({ socket, servername: options.servername || host, ALPNProtocols: ['http/1.1'], ...(caFor(host) ? { ca: caFor(host) } : {}) });
          tlsSocket.once('secureConnect', () => callback(null, tlsSocket));
          tlsSocket.once('error', (error) => callback(error));
        },
        (error) => callback(error),
      );
    },
  });
}

// ---- what a test sends over the network (`plughub dev test` only) -------------------------------------
// Noted in the worker, where the URL is still seen (the egress proxy sees a tunnel to host:port, with TLS
// inside): each request of a test with its method, URL and the status it got (0 when it got no answer,
// or the proxy's status when the proxy refused it).
function noteHttp(method, url) {
  const test = runs.getStore()?.test;
  if (!test) return null;
  const note = { method: String(method ?? 'GET').toUpperCase(), url, status: null };
  test.http.push(note);
  return note;
}

function failed(note, error) {
  if (note && note.status === null) {
    note.status = error?.plughubEgressStatus ?? 0;
    note.error = String(error?.message ?? error);
  }
}

async function noteTestRequests() {
  const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  await fetch('data:,');
  const dispatcher = globalThis[DISPATCHER];
  const dispatch = dispatcher.dispatch.bind(dispatcher);
  dispatcher.dispatch = (options, handler) => {
    let url;
    try {
      url = new URL(options.path, options.origin).href;
    } catch {
      url = `${options.origin}${options.path}`;
    }
    const note = noteHttp(options.method, url);
    if (!note) return dispatch(options, handler);
    const noted = new Proxy(handler, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        if (property === 'onHeaders') return (status, ...rest) => ((note.status = status), value.call(target, status, ...rest));
        if (property === 'onResponseStart') return (c, status, ...rest) => ((note.status = status), value.call(target, c, status, ...rest));
        if (property === 'onError' || property === 'onResponseError') {
          return (...args) => (failed(note, args[args.length - 1]), value.apply(target, args));
        }
        return value.bind(target);
      },
    });
    return dispatch(options, noted);
  };
  for (const module of [http, https]) {
    const request = module.request;
    module.request = function (...args) {
      const req = request.apply(this, args);
      const note = noteHttp(req.method, `${req.protocol}//${req.host}${req.path}`);
      if (note) {
        req.once('response', (res) => (note.status = res.statusCode));
        req.once('error', (error) => failed(note, error));
      }
      return req;
    };
    module.get = function (...args) {
      const req = module.request(...args);
      req.end();
      return req;
    };
  }
}
if (devTest) await noteTestRequests();

// ---- runtime calls back to plughub -------------------------------------------------------------------
// Each request runs in an asynchronous context of its own, which follows it through every await, timer and
// promise it makes: a runtime call says which request's run made it, and whether a calling agent answers
// that run's conversation (its rooms, entities and memories: `remote`).
const runs = new AsyncLocalStorage();
const remote = () => runs.getStore()?.remote === true;

let nextCall = 0;
const pendingCalls = new Map();
function callHost(method, params) {
  const id = `r${++nextCall}`;
  // A test's runtime calls, as plughub receives them, for `plughubTest.runtimeCalls()`.
  runs.getStore()?.test?.calls.push({ method, params: JSON.parse(safeJson(params ?? null)) });
  const request = runs.getStore()?.id;
  const line = safeJson(
    request === undefined ? { type: 'runtime.call', id, method, params } : { type: 'runtime.call', id, method, params, request },
  );
  const size = Buffer.byteLength(line);
  if (size > caps.runtimeCallBytes) {
    return Promise.reject(
      new Error(`runtime.${method}(): its arguments are ${thousands(size)} bytes, over the ${thousands(caps.runtimeCallBytes)}-byte cap of a runtime call`),
    );
  }
  return new Promise((resolve, reject) => {
    pendingCalls.set(id, { resolve, reject });
    socket.write(line + '\n');
  });
}

const logger = {};
for (const level of ['trace', 'debug', 'info', 'log', 'warn', 'error', 'fatal', 'success']) {
  logger[level] = (...args) => log(level, args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' '));
}

let settings = {};
let character = { name: 'plughub', settings: {}, secrets: {} };
const registered = {
  actions: [], providers: [], evaluators: [], services: new Map(), models: {}, routes: [], events: {}, taskWorkers: new Map(),
};
const serviceClasses = new Map();

// Settings as an elizaOS agent has them: from its environment, so text. A number or a boolean an
// organisation configured arrives as its text (getSetting turns "true"/"false" back into booleans, as
// elizaOS does), a JSON setting as JSON text: plugins validate them as strings (`z.string()` on what
// init or getSetting gives) and parse them themselves.
function asEnvironment(values) {
  const out = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    out[key] = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return out;
}

// elizaOS's lookup: character secrets, then character settings, then runtime settings; "true"/"false"
// become booleans.
function getSetting(key) {
  const value =
    character.secrets?.[key] ?? character.settings?.secrets?.[key] ?? character.settings?.[key] ?? settings[key];
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value ?? null;
}

// The agent the worker serves, as plughub names it; a calling agent's run sees that agent's own id.
let agentId;
const provided = {
  get agentId() {
    const run = runs.getStore();
    return (run?.remote && run.agentId) || agentId;
  },
  get character() {
    return character;
  },
  logger,
  getSetting,
  setSetting: (key, value) => {
    settings[key] = value;
  },
  getService: (type) => registered.services.get(type) ?? null,
  getAllServices: () => registered.services,
  registerAction: (a) => registered.actions.push(a),
  registerProvider: (p) => registered.providers.push(p),
  registerEvaluator: (e) => registered.evaluators.push(e),
  registerService: (s) => serviceClasses.set(s.serviceType, s),
  registerModel: (type, handler) => {
    registered.models[type] = handler;
  },
  // A model the plugin registered itself is called in place, as elizaOS would; any other goes to the model
  // plugin the group has active for that type, in its own worker.
  useModel: (type, params) =>
    registered.models[type] ? registered.models[type](runtime, params) : callHost('useModel', [type, params ?? null]),
  composeState: (message, include, onlyInclude) => composeState(message, include, onlyInclude),
  getCache: (key) => callHost('getCache', [key]),
  setCache: (key, value) => callHost('setCache', [key, value]),
  deleteCache: (key) => callHost('deleteCache', [key]),
  createMemory: (memory, table) => callHost('createMemory', [memory, table ?? 'messages']),
  deleteMemory: (id) => callHost('deleteMemory', [id]),
  getMemories: (query) => callHost('getMemories', [query ?? {}]),
  searchMemories: (query) => callHost('searchMemories', [query ?? {}]),
  // Handlers the plugin registered for the event run here, as in elizaOS; plughub records the event too.
  emitEvent: async (event, payload) => {
    for (const name of Array.isArray(event) ? event : [event]) {
      for (const handler of registered.events[name] ?? []) await handler({ ...(payload ?? {}), runtime });
    }
    return callHost('emitEvent', [event, payload ?? null]);
  },
  registerEvent: (event, handler) => {
    (registered.events[event] ??= []).push(handler);
  },
  hasService: (type) => registered.services.has(type),
  getServicesByType: (type) => (registered.services.has(type) ? [registered.services.get(type)] : []),
  registerTaskWorker: (worker) => registered.taskWorkers.set(worker.name, worker),
  getTaskWorker: (name) => registered.taskWorkers.get(name),
  getTasks: async () => [],
  getTasksByName: async () => [],
  // The conversation. A calling agent's run (the agent bridge) asks that agent, which answers from its own
  // runtime. Otherwise plughub keeps no rooms, worlds or entities of its own: an execution has one message,
  // from one user, in one room, and these describe just that, so that providers reading them (bootstrap's
  // CHARACTER, discord's) run instead of crashing.
  isReady: async () => true,
  getConversationLength: () => 32,
  getRoom: async (id) => (remote() ? callHost('getRoom', [id ?? null]) : id ? roomOf(id) : null),
  getRoomsByIds: async (ids) => (remote() ? callHost('getRoomsByIds', [ids ?? []]) : (ids ?? []).map(roomOf)),
  getWorld: async (id) =>
    remote()
      ? callHost('getWorld', [id ?? null])
      : id
        ? { id, name: 'plughub', agentId: provided.agentId, serverId: 'plughub', metadata: {} }
        : null,
  getEntityById: async (id) => (remote() ? callHost('getEntityById', [id ?? null]) : id ? entityOf(id) : null),
  getEntitiesByIds: async (ids) => (remote() ? callHost('getEntitiesByIds', [ids ?? []]) : (ids ?? []).map(entityOf)),
  getEntitiesForRoom: async (roomId, includeComponents) =>
    remote() ? callHost('getEntitiesForRoom', [roomId ?? null, Boolean(includeComponents)]) : [],
  getParticipantsForRoom: async (roomId) => (remote() ? callHost('getParticipantsForRoom', [roomId ?? null]) : []),
  getRoomsForParticipants: async (ids) => (remote() ? callHost('getRoomsForParticipants', [ids ?? []]) : []),
  getMemoryById: async (id) => (remote() ? callHost('getMemoryById', [id ?? null]) : null),
  getAllWorlds: async () => [],
  // Nobody has muted or followed a room plughub does not keep.
  getParticipantUserState: async () => null,
  getRooms: async () => [],
  getRelationships: async () => [],
  getComponent: async () => null,
  getComponents: async () => [],
  // Rooms, worlds and connections are the message's own: making sure they exist has nothing to do.
  ensureConnection: async () => undefined,
  ensureConnections: async () => undefined,
  ensureRoomExists: async () => undefined,
  ensureWorldExists: async () => undefined,
  getMemoriesByRoomIds: async (query) =>
    remote() ? callHost('getMemoriesByRoomIds', [query ?? {}]) : (
      await Promise.all(
        (query?.roomIds ?? []).map((roomId) =>
          callHost('getMemories', [{ roomId, tableName: query.tableName, count: query.limit }]),
        ),
      )
    ).flat(),
  // Embeddings are made when a search needs them, through useModel.
  queueEmbeddingGeneration: async () => undefined,
  getModel: (type) => registered.models[type] ?? ((_runtime, params) => callHost('useModel', [type, params ?? null])),
  // elizaOS's `runtime.log` writes a log entry for the agent; here it joins the execution's log.
  log: async (entry) => log('info', safeJson(entry)),
  // elizaOS's runtime keeps these lists as properties; they are the same arrays plughub registers into.
  actions: registered.actions,
  providers: registered.providers,
  evaluators: registered.evaluators,
  routes: registered.routes,
  services: registered.services,
};

// elizaOS's composeState: the plugin's providers asked about the message (all that are neither private
// nor dynamic, plus those named; only those named with `onlyInclude`), in their order, their texts joined
// a line apart and their values merged. A provider that throws is logged and left out, as elizaOS does.
async function composeState(message, include, onlyInclude) {
  const named = Array.isArray(include) ? include : [];
  const wanted = registered.providers
    .filter((p) => (onlyInclude && named.length ? named.includes(p.name) : (!p.private && !p.dynamic) || named.includes(p.name)))
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  const results = await Promise.all(
    wanted.map(async (p) => {
      try {
        return [p.name, (await p.get(runtime, message, { values: {}, data: {}, text: '' })) ?? {}];
      } catch (e) {
        logger.warn(`provider ${p.name} failed while composing state: ${e?.message ?? e}`);
        return [p.name, null];
      }
    }),
  );
  const values = {};
  const providers = {};
  const texts = [];
  for (const [name, result] of results) {
    if (!result) continue;
    Object.assign(values, result.values ?? {});
    providers[name] = result;
    if (typeof result.text === 'string' && result.text.trim()) texts.push(result.text);
  }
  const text = texts.join('\n');
  return { values: { ...values, providers: text }, data: { providers }, text };
}

function roomOf(id) {
  return { id, name: 'plughub', source: 'plughub', type: 'DM', channelId: id, serverId: 'plughub', worldId: null, agentId: provided.agentId, metadata: {} };
}

function entityOf(id) {
  const name = id === provided.agentId ? character.name : 'user';
  return { id, names: [name], agentId: provided.agentId, metadata: {} };
}

// What plughub does not provide fails loudly, naming the method, rather than returning undefined.
const runtime = new Proxy(provided, {
  get(target, prop) {
    if (prop in target) return target[prop];
    if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
    return () => {
      throw new Error(`plughub's runtime does not provide runtime.${String(prop)}()`);
    };
  },
});

// ---- loading the plugin, as elizaOS does -------------------------------------------------------------
// The file `import(name)` loads, found as Node.js finds it: the package's `exports` for "." under the
// conditions of an import on Node (`node`, `import`, `default`, in the order the package lists them,
// nested as deep as it nests them), else `main` (with Node's extensions and index files for CommonJS
// packages that name it without one), else index.js.
const CONDITIONS = new Set(['node', 'import', 'default']);
function exportTarget(target) {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const found = exportTarget(t);
      if (found) return found;
    }
    return null;
  }
  if (target && typeof target === 'object') {
    for (const [key, value] of Object.entries(target)) {
      if (!CONDITIONS.has(key)) continue;
      const found = exportTarget(value);
      if (found) return found;
    }
  }
  return null;
}

function entryOf(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const exp = manifest.exports;
  // `exports` is either a map of subpaths (keys starting with ".") or the conditions of "." itself.
  const subpaths = exp && typeof exp === 'object' && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith('.'));
  const dot = subpaths ? exp['.'] : exp;
  const fromExports = dot === undefined ? null : exportTarget(dot);
  if (exp !== undefined && dot !== undefined) {
    if (!fromExports) throw new Error(`${manifest.name}: its package.json "exports" has no entry for an import on Node.js`);
    return { manifest, file: path.join(dir, fromExports) };
  }
  const main = typeof manifest.main === 'string' ? manifest.main : 'index.js';
  const candidates = [main, `${main}.js`, `${main}.json`, `${main}.cjs`, path.join(main, 'index.js'), 'index.js'];
  const found = candidates.find((c) => {
    try {
      return fs.statSync(path.join(dir, c)).isFile();
    } catch {
      return false;
    }
  });
  return { manifest, file: path.join(dir, found ?? main) };
}

function camelName(name) {
  const bare = name.replace(/^@[^/]+\//, '').replace(/^plugin-/, '');
  return bare.replace(/-([a-z0-9])/g, (_m, c) => c.toUpperCase()) + 'Plugin';
}

const looksLikePlugin = (v) =>
  v && typeof v === 'object' && typeof v.name === 'string' &&
  ['init', 'services', 'providers', 'actions', 'evaluators', 'description'].some((k) => k in v);

function pickPlugin(module, packageName) {
  const camel = camelName(packageName);
  // A CommonJS module's `module.exports` is the namespace's default: `module.exports = plugin`, or an
  // object holding it as `exports.default` (TypeScript's `export default`) or as a named export.
  const cjs = module.default && typeof module.default === 'object' && !looksLikePlugin(module.default) ? module.default : {};
  const candidates = [
    module[camel], module.default, cjs[camel], cjs.default, ...Object.values(module), ...Object.values(cjs),
  ];
  for (let candidate of candidates) {
    if (typeof candidate === 'function' && candidate.length === 0 && !/^class\b/.test(String(candidate))) {
      try {
        candidate = candidate();
      } catch {
        continue;
      }
    }
    if (looksLikePlugin(candidate)) return candidate;
  }
  return null;
}

// A component's name; elizaOS 0.x providers have none (the agent called them all), so one is made from
// the kind and the place: `provider-1`.
function nameOf(component, kind, index) {
  return typeof component.name === 'string' && component.name ? component.name : `${kind}-${index + 1}`;
}

// What an agent's planner reads of each component (the agent bridge registers proxies from it).
function describe(plugin) {
  const component = (kind) => (c, i) => ({
    name: nameOf(c, kind, i),
    description: c.description ?? '',
    similes: Array.isArray(c.similes) ? c.similes : [],
    ...(Array.isArray(c.examples) && c.examples.length ? { examples: c.examples } : {}),
  });
  const provider = (p, i) => ({
    ...component('provider')(p, i),
    ...(p.dynamic ? { dynamic: true } : {}),
    ...(p.private ? { private: true } : {}),
    ...(typeof p.position === 'number' && Number.isFinite(p.position) ? { position: p.position } : {}),
  });
  const evaluator = (e, i) => ({ ...component('evaluator')(e, i), ...(e.alwaysRun ? { alwaysRun: true } : {}) });
  return {
    name: plugin.name,
    description: plugin.description ?? '',
    actions: registered.actions.map(component('action')),
    providers: registered.providers.map(provider),
    evaluators: registered.evaluators.map(evaluator),
    services: [...serviceClasses.values()].map((s) => ({
      serviceType: s.serviceType ?? s.name,
      capabilityDescription: s.prototype?.capabilityDescription ?? s.capabilityDescription ?? '',
    })),
    models: Object.keys(registered.models),
    routes: registered.routes.map((r) => `${(r.type ?? 'GET').toUpperCase()} ${r.path}`),
    dependencies: plugin.dependencies ?? [],
  };
}

// What a test may ask about itself (`plughub dev test` only): copies, so that asserting changes nothing.
if (devTest) globalThis.plughubTest = Object.freeze({
  runtimeCalls: () => (runs.getStore()?.test?.calls ?? []).map((c) => ({ ...c })),
  httpRequests: () => (runs.getStore()?.test?.http ?? []).map((r) => ({ ...r })),
});

const { manifest: packageJson, file } = entryOf(packageDir);
const plugin = pickPlugin(await import(pathToFileURL(file).href), packageJson.name);
if (!plugin) {
  process.stderr.write(`plughub: ${packageJson.name} exports no elizaOS plugin\n`);
  process.exit(3);
}
registered.actions.push(...(plugin.actions ?? []));
registered.providers.push(...(plugin.providers ?? []));
registered.evaluators.push(...(plugin.evaluators ?? []));
for (const s of plugin.services ?? []) serviceClasses.set(s.serviceType ?? s.name, s);
Object.assign(registered.models, plugin.models ?? {});
registered.routes.push(...(plugin.routes ?? []));
for (const [name, handlers] of Object.entries(plugin.events ?? {})) {
  (registered.events[name] ??= []).push(...(Array.isArray(handlers) ? handlers : [handlers]));
}

// ---- requests ----------------------------------------------------------------------------------------
const find = (list, name, kind) => {
  const found =
    list.find((c, i) => nameOf(c, kind, i) === name) ?? list.find((c) => (c.similes ?? []).includes(name));
  if (!found) throw new Error(`${plugin.name} has no ${kind} named ${name}`);
  return found;
};

// A refusal the plugin sees where it awaits, and that does not end this process as an unhandled
// rejection where it does not.
function refused(why) {
  const promise = Promise.reject(new Error(why));
  promise.catch(() => {});
  return promise;
}

// The callback of request `m`, counted against plughub's caps per execution. The callback that goes past
// a cap is still sent, for plughub fails the request on it (its count is the one that holds); it and every
// later one throw in the plugin, so that a loop of callbacks ends with its run. Each resolves once the
// socket has taken it in: a plugin sending callbacks as fast as it can waits for plughub instead of
// queueing them in this process until it runs out of memory.
function callbackOf(m) {
  let sent = 0;
  let bytes = 0;
  let stopped = null;
  return (content) => {
    if (stopped) return refused(stopped);
    const line = safeJson({ type: 'callback', id: m.id, content });
    const size = Buffer.byteLength(line);
    if (size > MAX_MESSAGE_BYTES) {
      return refused(`plughub: a callback of ${thousands(size)} bytes is over the ${thousands(MAX_MESSAGE_BYTES)}-byte cap of a message; it was not sent`);
    }
    sent += 1;
    bytes += size;
    const over =
      sent > caps.callbacks
        ? `more than ${thousands(caps.callbacks)} callbacks`
        : bytes > caps.callbackBytes
          ? `more than ${sizeOf(caps.callbackBytes)} of callbacks`
          : null;
    const written = write(line);
    if (over) {
      stopped = `plughub: the action sent ${over} (the cap per execution); its run was stopped`;
      return refused(stopped);
    }
    return written ? written.then(() => []) : Promise.resolve([]);
  };
}

// An action's handler, its callbacks sent as they come.
async function invoke(action, m) {
  const callback = callbackOf(m);
  const result = await action.handler(runtime, m.memory, m.state, m.options ?? {}, callback, []);
  return { type: 'action.result', result: result ?? null };
}

const handlers = {
  async 'plugin.init'(m) {
    settings = asEnvironment(m.config?.settings ?? {});
    if (m.config?.character) character = { ...character, ...m.config.character };
    agentId = m.config?.agentId;
    if (typeof plugin.init === 'function') await plugin.init({ ...settings }, runtime);
    return { type: 'plugin.init.result', success: true, manifest: describe(plugin) };
  },
  async 'action.validate'(m) {
    const action = find(registered.actions, m.action, 'action');
    const valid = action.validate ? await action.validate(runtime, m.memory, m.state) : true;
    return { type: 'validate.result', valid: Boolean(valid) };
  },
  async 'action.invoke'(m) {
    const action = find(registered.actions, m.action, 'action');
    return invoke(action, m);
  },
  async 'action.run'(m) {
    const action = find(registered.actions, m.action, 'action');
    const valid = action.validate ? await action.validate(runtime, m.memory, m.state) : true;
    if (!valid) return { type: 'validate.result', valid: false };
    return invoke(action, m);
  },
  async 'provider.get'(m) {
    const provider = find(registered.providers, m.provider, 'provider');
    return { type: 'provider.result', result: (await provider.get(runtime, m.memory, m.state)) ?? null };
  },
  async 'evaluator.invoke'(m) {
    const evaluator = find(registered.evaluators, m.evaluator, 'evaluator');
    const callback = callbackOf(m);
    const result = await evaluator.handler(runtime, m.memory, m.state, {}, callback, []);
    return { type: 'action.result', result: result ?? null };
  },
  async 'model.invoke'(m) {
    const model = registered.models[m.modelType];
    if (!model) throw new Error(`${plugin.name} provides no model ${m.modelType}`);
    return { type: 'model.result', result: (await model(runtime, m.params ?? null)) ?? null };
  },
  async 'service.start'(m) {
    const Service = serviceClasses.get(m.service);
    if (!Service) throw new Error(`${plugin.name} has no service ${m.service}`);
    registered.services.set(m.service, await Service.start(runtime));
    return { type: 'service.response', success: true };
  },
  async 'service.stop'(m) {
    const service = registered.services.get(m.service);
    if (service?.stop) await service.stop();
    registered.services.delete(m.service);
    return { type: 'service.response', success: true };
  },
  // The plugin's own test suites (elizaOS's `TestSuite[]` in its `tests`), for `plughub dev test`.
  async 'test.list'() {
    const suites = (Array.isArray(plugin.tests) ? plugin.tests : []).map((suite) => ({
      name: String(suite?.name ?? ''),
      tests: (Array.isArray(suite?.tests) ? suite.tests : []).map((t) => String(t?.name ?? '')),
    }));
    return { type: 'test.list.result', suites };
  },
  // One test: `fn(runtime)` with the runtime components get; it fails by throwing.
  async 'test.run'(m) {
    const suite = (plugin.tests ?? []).find((s) => s?.name === m.suite);
    const test = suite?.tests?.find((t) => t?.name === m.test);
    if (typeof test?.fn !== 'function') throw new Error(`${plugin.name} has no test ${m.suite} / ${m.test}`);
    const noted = runs.getStore().test;
    const started = performance.now();
    let outcome;
    try {
      await test.fn(runtime);
      outcome = { passed: true };
    } catch (e) {
      outcome = { passed: false, error: String(e?.message ?? e), stack: String(e?.stack ?? '') };
    }
    const result = { ...outcome, durationMs: performance.now() - started, runtimeCalls: noted.calls, httpRequests: noted.http };
    return { type: 'test.result', result: JSON.parse(safeJson(result)) };
  },
  async 'route.handle'(m) {
    const route = registered.routes.find(
      (r) => r.path === m.path && (r.type ?? 'GET').toUpperCase() === m.method.toUpperCase(),
    );
    if (!route) throw new Error(`${plugin.name} has no route ${m.method} ${m.path}`);
    const response = { status: 200, headers: {}, body: null };
    const res = {
      status(code) {
        response.status = code;
        return res;
      },
      setHeader(k, v) {
        response.headers[k] = v;
        return res;
      },
      json(body) {
        response.body = body;
        return res;
      },
      send(body) {
        response.body = body;
        return res;
      },
      end(body) {
        if (body !== undefined) response.body = body;
        return res;
      },
    };
    const req = { path: m.path, method: m.method, body: m.body, params: m.params ?? {}, query: m.query ?? {}, headers: m.headers ?? {} };
    await route.handler(req, res, runtime);
    return { type: 'route.response', ...response };
  },
};

// What a request failed with; a permission refusal says what it refused (see `tagged`).
function errorText(e) {
  return String(tagged(e)?.message ?? e);
}

function onMessage(m) {
  if (m.type === 'runtime.result' || m.type === 'runtime.error') {
    const call = pendingCalls.get(m.id);
    if (!call) return;
    pendingCalls.delete(m.id);
    if (m.type === 'runtime.result') call.resolve(m.result);
    else call.reject(new Error(m.error));
    return;
  }
  const handler = handlers[m.type];
  if (!handler) {
    send({ type: 'error', id: m.id, error: `unknown request ${m.type}` });
    return;
  }
  const run = { id: m.id, remote: m.remote === true, agentId: m.memory?.agentId };
  if (m.type === 'test.run') run.test = { calls: [], http: [] };
  runs
    .run(run, () => Promise.resolve().then(() => handler(m)))
    .then(
      (answer) => send({ ...answer, id: m.id }),
      (e) => send({ type: 'error', id: m.id, error: errorText(e), details: { stack: String(e?.stack ?? '') } }),
    );
}

let buffered = '';
socket.setEncoding('utf8');
socket.resume();
socket.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.trim()) onMessage(JSON.parse(line));
  }
});
// plughub went away: nothing left to serve.
socket.on('close', () => process.exit(0));
socket.on('error', () => process.exit(1));

send({ type: 'ready', manifest: describe(plugin) });
