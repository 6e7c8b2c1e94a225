-- Sign-in throttling reads one client's recent attempts (failed sign-ins, unknown API tokens among
-- them, and successful ones) newest first, by the client (the events' actor), on every password login
-- and every unknown token. Partial, so that no other event pays for it. The condition is written as an
-- OR so that SQLite uses the index both for a query that repeats it and for one on either type alone.
CREATE INDEX events_sign_ins ON events (actor, seq) WHERE type = 'sign_in_failed' OR type = 'signed_in';
