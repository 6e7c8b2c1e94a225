-- A memory's id is the plugin's (elizaOS lets it choose one), so it is unique within its instance only:
-- one namespace across organisations let one learn that another holds an id, and block its writes.
-- SQLite cannot change a primary key in place: the table is made again with the same rows.
CREATE TABLE memories_by_instance (
    id          TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups(id),
    instance_id TEXT NOT NULL REFERENCES things(id),
    agent_id    TEXT NOT NULL,
    room_id     TEXT,
    table_name  TEXT NOT NULL,
    content     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (instance_id, id)
);
INSERT INTO memories_by_instance (id, group_id, instance_id, agent_id, room_id, table_name, content, body, created_at)
SELECT id, group_id, instance_id, agent_id, room_id, table_name, content, body, created_at FROM memories;
DROP TABLE memories;
ALTER TABLE memories_by_instance RENAME TO memories;
CREATE INDEX memories_scope ON memories (instance_id, agent_id, created_at);
