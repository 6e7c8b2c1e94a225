-- The daily quota and the per-minute rate count a group's or an instance's executions on every run.
-- Counting them read every failed run of the window, logs and all (a failed run's log may be 50 MB), to
-- tell a failed execution from a failed install. These partial indexes hold only executions (the rule of
-- `executions_condition` in src/events.rs, written the same way so that the planner sees the count's
-- WHERE imply it), so a count reads index entries and never an event's metadata.
CREATE INDEX events_group_executions ON events (group_id, time)
WHERE (type = 'plugin_action_executed' OR (type = 'plugin_error_occurred' AND ((metadata::json -> 'kind') IS NOT NULL OR metadata::json ->> 'operation' = 'init')));
CREATE INDEX events_target_executions ON events (target, time)
WHERE (type = 'plugin_action_executed' OR (type = 'plugin_error_occurred' AND ((metadata::json -> 'kind') IS NOT NULL OR metadata::json ->> 'operation' = 'init')));
