-- The six dimensions of the product spec. Times are RFC 3339 UTC text with milliseconds, so they sort as
-- text and read the same on SQLite and PostgreSQL. JSON is stored as text for the same reason.
CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    parent_id   TEXT REFERENCES groups(id),
    plan        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE people (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE memberships (
    person_id   TEXT NOT NULL REFERENCES people(id),
    group_id    TEXT NOT NULL REFERENCES groups(id),
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (person_id, group_id)
);

CREATE TABLE things (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    group_id    TEXT REFERENCES groups(id),
    status      TEXT NOT NULL,
    properties  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX things_kind_scope_name ON things (kind, COALESCE(group_id, ''), name);
CREATE INDEX things_group_kind ON things (group_id, kind);

CREATE TABLE connections (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    from_id     TEXT NOT NULL REFERENCES things(id),
    to_id       TEXT NOT NULL REFERENCES things(id),
    group_id    TEXT REFERENCES groups(id),
    metadata    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, from_id, to_id)
);

CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    target      TEXT,
    group_id    TEXT,
    time        TEXT NOT NULL,
    metadata    TEXT NOT NULL
);
CREATE INDEX events_target ON events (target, seq);
CREATE INDEX events_group ON events (group_id, seq);
CREATE INDEX events_type ON events (type, seq);

-- Events are append-only: the database itself refuses to change or delete one.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TABLE knowledge (
    thing_id    TEXT NOT NULL REFERENCES things(id),
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (thing_id, kind)
);

-- One row per catalogue sync: which sources were read, when, and what failed.
CREATE TABLE catalog_syncs (
    id           TEXT PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    status       TEXT NOT NULL,
    report       TEXT NOT NULL
);
CREATE INDEX catalog_syncs_started ON catalog_syncs (started_at);
