-- Notifications and webhooks (issue 17). What happened is in the event log (a webhook is a `webhook`
-- thing, changed with `webhook_changed`/`webhook_deleted`; an update notice is a `plugin_update_available`
-- event). These tables keep what is not a change of the dimensions: how far the notifier has read the
-- log, each person's notifications and when they read them, a webhook's signing secret, the queue of
-- deliveries with each attempt, and which update notices were recorded already (once per version per
-- organisation).

-- Where the notifier has read the event log up to (by seq), so a restart goes on from there.
CREATE TABLE notify_cursors (
    name TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);
-- What was in the log before notifications existed is history, not news: the notifier starts after it
-- (`notifier_floor`: it never reads below, even looking back for late commits).
INSERT INTO notify_cursors (name, seq) SELECT 'notifier', COALESCE(MAX(seq), 0) FROM events;
INSERT INTO notify_cursors (name, seq) SELECT 'notifier_floor', COALESCE(MAX(seq), 0) FROM events;

-- One notification per person per event; `read_at` is when they marked it read.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people(id),
    group_id   TEXT NOT NULL REFERENCES groups(id),
    event_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    summary    TEXT NOT NULL,
    link       TEXT,
    created_at TEXT NOT NULL,
    read_at    TEXT,
    UNIQUE (person_id, event_id)
);
CREATE INDEX notifications_person ON notifications (person_id, created_at);

-- The secret a webhook signs its deliveries with: shown once when the webhook is made, kept out of the
-- thing's properties (which events and listings show). `sealed` is the secret sealed with the server's
-- key ring (plughub-secrets, place `webhook/{id}`), never the secret itself: secrets are encrypted at
-- rest, and `plughub admin rotate-key` reseals these with the plugins' secret settings.
CREATE TABLE webhook_secrets (
    webhook_id TEXT PRIMARY KEY REFERENCES things(id),
    sealed     TEXT NOT NULL
);

-- One delivery per webhook per event: pending until delivered, or failed once it has been retried
-- for a day. `next_attempt_at` is when it is due (and, while one server sends it, that server's lease).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES things(id),
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);

-- Each attempt at a delivery: the answer's status (none when there was no answer), how long it took,
-- and what went wrong.
CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempted_at TEXT NOT NULL,
    status_code  BIGINT,
    duration_ms  BIGINT NOT NULL,
    error        TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

-- The update notices recorded: a newer version is announced once per organisation.
CREATE TABLE update_notices (
    group_id    TEXT NOT NULL REFERENCES groups(id),
    plugin      TEXT NOT NULL,
    version     TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (group_id, plugin, version)
);
