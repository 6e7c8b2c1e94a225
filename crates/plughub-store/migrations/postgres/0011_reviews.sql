-- Reviews are plugin_review things (stars, text, the version used, the publisher's response), linked
-- to their catalogue plugin by a review_of connection, every change an event (review_posted and
-- review_edited carry each version's stars and text: the history). These tables hold what is not a
-- change of a dimension but a tally of people about one: who found a review helpful (one vote each),
-- who reported it (one report each, until a moderator resolves it), and who may no longer review.
CREATE TABLE review_votes (
    review_id   TEXT NOT NULL REFERENCES things(id),
    person_id   TEXT NOT NULL REFERENCES people(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (review_id, person_id)
);

CREATE TABLE review_reports (
    id           TEXT PRIMARY KEY,
    review_id    TEXT NOT NULL REFERENCES things(id),
    person_id    TEXT NOT NULL REFERENCES people(id),
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT
);
-- One open report per person and review: reporting twice adds nothing until a moderator resolves it.
CREATE UNIQUE INDEX review_reports_open_once ON review_reports (review_id, person_id)
    WHERE resolved_at IS NULL;
CREATE INDEX review_reports_review ON review_reports (review_id, resolved_at);

CREATE TABLE reviewer_bans (
    person_id   TEXT PRIMARY KEY REFERENCES people(id),
    reason      TEXT NOT NULL,
    banned_by   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
