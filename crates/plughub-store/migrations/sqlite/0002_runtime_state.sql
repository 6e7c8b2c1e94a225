-- What plugins keep through their runtime: the cache (`getCache`/`setCache`) of an instance, and the
-- memories (`createMemory`/`getMemories`/`searchMemories`) of an instance for an agent. Plugin data, not
-- dimension changes: they take no event each (a chat would flood the log); executions record their runs.
CREATE TABLE runtime_cache (
    instance_id TEXT NOT NULL REFERENCES things(id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (instance_id, key)
);

CREATE TABLE memories (
    id          TEXT PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups(id),
    instance_id TEXT NOT NULL REFERENCES things(id),
    agent_id    TEXT NOT NULL,
    room_id     TEXT,
    table_name  TEXT NOT NULL,
    content     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX memories_scope ON memories (instance_id, agent_id, created_at);
