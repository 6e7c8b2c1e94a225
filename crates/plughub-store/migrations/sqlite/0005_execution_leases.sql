-- A plan's concurrent executions are slots shared by every server on the store. A server leases a
-- slot (0 to the plan's limit - 1) while its executions need it and renews the lease before it
-- expires; a server that stops loses its slots when their leases expire.
CREATE TABLE execution_leases (
    group_id   TEXT NOT NULL,
    slot       INTEGER NOT NULL,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (group_id, slot)
);
CREATE INDEX execution_leases_holder ON execution_leases (holder);
