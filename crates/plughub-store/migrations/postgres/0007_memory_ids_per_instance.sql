-- A memory's id is the plugin's (elizaOS lets it choose one), so it is unique within its instance only:
-- one namespace across organisations let one learn that another holds an id, and block its writes.
ALTER TABLE memories DROP CONSTRAINT memories_pkey;
ALTER TABLE memories ADD PRIMARY KEY (instance_id, id);
