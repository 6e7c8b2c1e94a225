-- Each instance's cache and memories count against its plan's storage quota. Every row keeps its size
-- (the bytes of what it stores), and runtime_usage keeps each instance's total, changed in the same
-- transaction as the row, so a write checks the quota by reading one row instead of summing all.
ALTER TABLE runtime_cache ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE runtime_cache SET size = octet_length(key) + octet_length(value);
ALTER TABLE memories ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
UPDATE memories SET size = octet_length(content) + octet_length(body);

CREATE TABLE runtime_usage (
    instance_id TEXT PRIMARY KEY REFERENCES things(id),
    bytes       BIGINT NOT NULL
);
INSERT INTO runtime_usage (instance_id, bytes)
SELECT instance_id, SUM(size) FROM (
    SELECT instance_id, size FROM runtime_cache
    UNION ALL
    SELECT instance_id, size FROM memories
) AS kept GROUP BY instance_id;
