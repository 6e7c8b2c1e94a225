-- plughub as a registry for plugin authors (issue 18).
--
-- A published package is a catalogue entry like any other (its source is `plughub`); what the registry
-- adds is kept here: every version uploaded with its tarball (the bytes themselves, so every server of a
-- shared store serves them), its checks and where it stands, the dist-tags, the platform owners'
-- blocklist of file hashes, the publish tokens (each for one namespace) and the platform owners'
-- documented decisions that a namespace npm also has belongs to a plughub publisher. Each change is
-- made in the transaction of the event that records it.

-- One row per version uploaded. `status`: published (installable, in the npm view), quarantined (a check
-- failed: waiting for a moderator), rejected (a moderator refused it), unpublished (taken back within
-- the window; the version number stays used: versions are immutable, as on npm).
CREATE TABLE registry_versions (
    package        TEXT NOT NULL,
    version        TEXT NOT NULL,
    namespace      TEXT NOT NULL,
    status         TEXT NOT NULL,
    -- The tarball's sha512 as an SRI string (npm's dist.integrity) and its sha1 in hex (dist.shasum).
    integrity      TEXT NOT NULL,
    shasum         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    -- package.json as published (JSON text).
    manifest       TEXT NOT NULL,
    tarball        BLOB NOT NULL,
    -- What each publish-time check found (JSON), and why a quarantined version is held.
    checks         TEXT NOT NULL,
    published_by   TEXT NOT NULL REFERENCES people(id),
    created_at     TEXT NOT NULL,
    decided_at     TEXT,
    decided_by     TEXT,
    decision_note  TEXT,
    unpublished_at TEXT,
    PRIMARY KEY (package, version)
);
CREATE INDEX registry_versions_status ON registry_versions (status, created_at);
CREATE INDEX registry_versions_namespace ON registry_versions (namespace);

CREATE TABLE registry_dist_tags (
    package    TEXT NOT NULL,
    tag        TEXT NOT NULL,
    version    TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (package, tag)
);

-- Files no published version may hold, by the sha512 of their content (hex).
CREATE TABLE registry_blocklist (
    sha512   TEXT PRIMARY KEY,
    reason   TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);

-- Tokens that may publish to one namespace and do nothing else; kept as the SHA-256 of their secret.
CREATE TABLE publish_tokens (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES people(id),
    namespace    TEXT NOT NULL,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX publish_tokens_person ON publish_tokens (person_id);

-- A platform owner's documented decision that a namespace npm also has belongs to its plughub publisher
-- (the other proof is a version on npm naming the publisher, checked at publish time).
CREATE TABLE namespace_decisions (
    namespace  TEXT PRIMARY KEY,
    note       TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
