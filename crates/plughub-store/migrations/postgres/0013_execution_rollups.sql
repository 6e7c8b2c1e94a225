-- Daily rollups of executions, for analytics (issue 17). Not a dimension change but a summary derived
-- from the execution events (src/rollups.rs fills it from the events after the watermark), so that an
-- analytics page reads a few thousand rows instead of millions of events. Rows per UTC day at six
-- levels (grouping sets, `LEVELS` in src/rollups.rs): by organisation or for all of them, and by
-- plugin and component, by plugin, or for all plugins; `*` stands for "all" in group_id, plugin, kind
-- and component (no id or name is `*`), so that the platform's figures read a row per day and plugin. The latency histogram has fixed buckets
-- (`LATENCY_BUCKETS_MS` in src/rollups.rs: b00 up to 5 ms, ... b12 above 60 s), so percentiles come
-- from sums of rows. A retention that deletes events deletes only those at or below the watermark.
CREATE TABLE execution_rollups (
    day             TEXT NOT NULL,
    group_id        TEXT NOT NULL,
    plugin          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    component       TEXT NOT NULL,
    executions      BIGINT NOT NULL,
    errors          BIGINT NOT NULL,
    timeouts        BIGINT NOT NULL,
    cache_hits      BIGINT NOT NULL,
    -- Executions that ran on a worker and recorded their duration (not cache hits, not failures).
    timed           BIGINT NOT NULL,
    duration_ms     DOUBLE PRECISION NOT NULL,
    -- Sum over timed executions of memory (MiB) x duration (s).
    memory_mib_s    DOUBLE PRECISION NOT NULL,
    b00 BIGINT NOT NULL, b01 BIGINT NOT NULL, b02 BIGINT NOT NULL, b03 BIGINT NOT NULL, b04 BIGINT NOT NULL,
    b05 BIGINT NOT NULL, b06 BIGINT NOT NULL, b07 BIGINT NOT NULL, b08 BIGINT NOT NULL, b09 BIGINT NOT NULL,
    b10 BIGINT NOT NULL, b11 BIGINT NOT NULL, b12 BIGINT NOT NULL,
    PRIMARY KEY (day, group_id, plugin, kind, component)
);
CREATE INDEX execution_rollups_group_day ON execution_rollups (group_id, day);
CREATE INDEX execution_rollups_plugin_day ON execution_rollups (plugin, day);

-- How far the rollups cover the event log: every execution event with seq <= covered_seq is counted
-- in execution_rollups, and none above it.
CREATE TABLE rollup_watermarks (
    name        TEXT PRIMARY KEY,
    covered_seq BIGINT NOT NULL,
    updated_at  TEXT NOT NULL
);
INSERT INTO rollup_watermarks (name, covered_seq, updated_at) VALUES ('executions', 0, '1970-01-01T00:00:00.000Z');
