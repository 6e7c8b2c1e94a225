-- Events stay append-only, with two deliberate exceptions, each made in one transaction: an
-- organisation deleted with everything of it, and executions deleted past their retention age. Such a
-- transaction first writes a row here saying why; deletions go through only while one is there, and the
-- transaction removes it before it commits (a rollback removes it too). An update is still refused.
CREATE TABLE event_deletion_permits (
    reason TEXT NOT NULL
);
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM event_deletion_permits)
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
