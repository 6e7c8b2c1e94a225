-- Events stay append-only, with two deliberate exceptions, each made in one transaction: an
-- organisation deleted with everything of it, and executions deleted past their retention age. Such a
-- transaction first writes a row here saying why; deletions go through only while one is there (other
-- transactions never see it uncommitted), and the transaction removes it before it commits. An update
-- or a truncation is still refused.
CREATE TABLE event_deletion_permits (
    reason TEXT NOT NULL
);
DROP TRIGGER events_no_update ON events;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE FUNCTION events_deletion_permitted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM event_deletion_permits) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'events are append-only';
END $$;
-- Once a statement: a retention batch of thousands of rows asks once.
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
FOR EACH STATEMENT EXECUTE FUNCTION events_deletion_permitted();
