-- Invitations to join an organisation with a role, for anyone who holds the link (or for one email).
-- The link's secret is kept as its SHA-256 only, as tokens are; an invitation is used once: accepted,
-- withdrawn or past its expiry, it admits nobody. Rows stay, as what happened to each.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    group_id     TEXT NOT NULL REFERENCES groups(id),
    role         TEXT NOT NULL,
    email        TEXT,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    accepted_by  TEXT REFERENCES people(id),
    withdrawn_at TEXT
);
CREATE INDEX invitations_group ON invitations (group_id, created_at);
