-- The daily quota and the per-minute rate count a group's or an instance's executions on every run.
-- Counting them read every failed run of the window, logs and all (a failed run's log may be 50 MB), to
-- tell a failed execution from a failed install. These partial indexes hold only executions (the
-- condition of `executions_condition` in src/events.rs, written the same way so that SQLite sees that
-- the count's WHERE implies it): a count walks index entries, and the condition, implied, is not
-- evaluated again on the events, so no event's metadata is read.
CREATE INDEX events_group_executions ON events (group_id, time)
WHERE (type = 'plugin_action_executed' OR (type = 'plugin_error_occurred' AND (json_type(metadata, '$.kind') IS NOT NULL OR json_extract(metadata, '$.operation') = 'init')));
CREATE INDEX events_target_executions ON events (target, time)
WHERE (type = 'plugin_action_executed' OR (type = 'plugin_error_occurred' AND (json_type(metadata, '$.kind') IS NOT NULL OR json_extract(metadata, '$.operation') = 'init')));
