-- Quotas and rates count an instance's or a group's events of one type since a time, on every
-- execution: these indexes keep those counts to the rows in the window instead of all the history.
CREATE INDEX events_target_type_time ON events (target, type, time);
CREATE INDEX events_group_type_time ON events (group_id, type, time);
