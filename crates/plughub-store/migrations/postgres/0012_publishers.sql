-- Publishers, deprecations (issue 17).
--
-- A publisher is a `publisher` thing (global, named by the namespace it owns: an npm scope such as
-- `@acme`, or an unscoped package's exact name), made when it is first claimed; its events
-- (publisher_claimed, publisher_claim_granted/refused, publisher_verified/verification_revoked) target
-- it. Who claims it and who holds it link people to it; people are not things, so connections cannot
-- carry these links (memberships link people to groups in a table of their own for the same reason).
-- Each row here changes in the transaction of the event that records it.
CREATE TABLE publisher_claims (
    id            TEXT PRIMARY KEY,
    publisher_id  TEXT NOT NULL REFERENCES things(id),
    person_id     TEXT NOT NULL REFERENCES people(id),
    evidence      TEXT NOT NULL,
    -- pending, granted or refused
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    decided_at    TEXT,
    decided_by    TEXT,
    decision_note TEXT
);
CREATE INDEX publisher_claims_status ON publisher_claims (status, created_at);
-- One open claim per person and publisher: a second one would only repeat the first.
CREATE UNIQUE INDEX publisher_claims_one_pending ON publisher_claims (publisher_id, person_id)
WHERE status = 'pending';

-- The people who hold a publisher, and how they came to (`claim`: a granted claim, whose id is kept;
-- the next issue adds holding by a proof of publishing).
CREATE TABLE publisher_people (
    publisher_id  TEXT NOT NULL REFERENCES things(id),
    person_id     TEXT NOT NULL REFERENCES people(id),
    how           TEXT NOT NULL,
    claim_id      TEXT REFERENCES publisher_claims(id),
    granted_by    TEXT NOT NULL,
    since         TEXT NOT NULL,
    PRIMARY KEY (publisher_id, person_id)
);
CREATE INDEX publisher_people_person ON publisher_people (person_id);

-- Platform owners' deprecations of catalogue plugins, by package name. A sync rewrites a catalogue
-- entry's properties from the registry, and an owner's decision must outlive that (and a plugin that
-- leaves the catalogue and comes back), so it is kept beside the entry, not in it. plugin_deprecated and
-- plugin_undeprecated record each change.
CREATE TABLE plugin_deprecations (
    plugin         TEXT PRIMARY KEY,
    replacement    TEXT,
    reason         TEXT NOT NULL,
    deprecated_by  TEXT NOT NULL,
    deprecated_at  TEXT NOT NULL
);
