// The wire shapes of plughub's agent bridge API (GET .../components and the WebSocket .../run).

/** An action of a plugin, as the plugin declares it (no handler: plughub runs it). */
export interface RemoteAction {
  name: string;
  description?: string;
  similes?: string[];
  examples?: unknown[][];
}

export interface RemoteProvider {
  name: string;
  description?: string;
  dynamic?: boolean;
  private?: boolean;
  position?: number;
}

export interface RemoteEvaluator {
  name: string;
  description?: string;
  similes?: string[];
  examples?: unknown[];
  alwaysRun?: boolean;
}

/** One plugin installed, configured and activated for the agent. */
export interface RemotePlugin {
  plugin: string;
  version?: string;
  priority?: number;
  actions?: RemoteAction[];
  providers?: RemoteProvider[];
  evaluators?: RemoteEvaluator[];
  models?: string[];
}

/** `GET /api/orgs/{org}/agents/{agent}/components`. */
export interface Components {
  org: string;
  agent: string;
  /** Whose models a plugin's `useModel` reaches: plughub's, or the calling agent's (a runtime call). */
  models?: 'plughub' | 'agent';
  plugins: RemotePlugin[];
  unavailable?: { plugin: string; error: string }[];
}

export type ComponentKind = 'action' | 'provider' | 'evaluator';

/** What a run asks for: exactly one of action, provider, evaluator. */
export interface RunTarget {
  plugin: string;
  kind: ComponentKind;
  name: string;
}

/** The outcome of a finished run (`result` frame). */
export interface Outcome {
  result?: unknown;
  callbacks?: unknown[];
  duration_ms?: number;
  memory_bytes?: number;
  cache_hit?: boolean;
  attempts?: number;
  [key: string]: unknown;
}

/** plughub's error body, `{"error": {"code", "message", "details"}}`. */
export interface ApiErrorBody {
  code?: string;
  message?: string;
  details?: unknown;
}

/** The runtime methods a plugin's calls may reach on the agent through the bridge. */
export const RUNTIME_METHODS: readonly string[] = [
  'getMemories',
  'searchMemories',
  'getMemoriesByRoomIds',
  'getMemoryById',
  'createMemory',
  'getRoom',
  'getRoomsByIds',
  'getWorld',
  'getEntityById',
  'getEntitiesByIds',
  'getEntitiesForRoom',
  'getParticipantsForRoom',
  'getRoomsForParticipants',
  'useModel',
];

/** The largest frame the server takes. */
export const MAX_FRAME_BYTES = 1_000_000;
