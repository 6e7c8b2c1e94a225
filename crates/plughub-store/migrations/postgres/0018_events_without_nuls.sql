-- A mark, no change: a store below this version has had the NULs of its older events' metadata
-- replaced (U+FFFD, as plughub writes them since) by the code that runs before the migrations
-- (`Store::open`), which PostgreSQL needs before 0009 and the rollups can read those events. The mark
-- says it was done, so it is done once.
SELECT 1;
