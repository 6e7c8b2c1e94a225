-- Compatibility runs (issue 19): one row per plugin version tried against one npm registry. Trials are
-- the catalogue's own records (they belong to no organisation) and are shared by every server of a
-- shared store; a run replaces a version's row when it tries it again (after a change of plughub's trial
-- rules), and the event `plugin_tried` records each try.
CREATE TABLE plugin_trials (
    plugin        TEXT NOT NULL,
    version       TEXT NOT NULL,
    registry      TEXT NOT NULL,
    package       TEXT NOT NULL,
    core_major    BIGINT,
    -- nothing, installed, loaded, inited (plughub_domain::trial::Reached).
    reached       TEXT NOT NULL,
    cause         TEXT,
    message       TEXT,
    duration_ms   BIGINT NOT NULL,
    disk_bytes    BIGINT NOT NULL,
    packages      BIGINT NOT NULL,
    -- JSON: the manifest as inited, and the grants it would need.
    manifest      TEXT,
    needs         TEXT NOT NULL,
    -- Plain npm's result for the same version in the same run, when it was tried.
    npm_reached   TEXT,
    npm_message   TEXT,
    npm_duration_ms BIGINT,
    rules         TEXT NOT NULL,
    tried_at      TEXT NOT NULL,
    PRIMARY KEY (plugin, version, registry)
);
CREATE INDEX plugin_trials_plugin ON plugin_trials (plugin, tried_at);
