-- Browser sessions of the server-rendered web layer (the console today, the member web app
-- later): one row a signed-in browser, revocable by deleting it. The cookie carries a random
-- token; only its SHA-256 is kept, so a copy of the database signs nobody in. `expires_at` is
-- the earlier of the idle deadline (moved on use) and the absolute one, so one index serves
-- both the check and the purge.
CREATE TABLE web_sessions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      TEXT NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    audience        TEXT NOT NULL CHECK (audience IN ('console', 'member')),
    csrf_token      TEXT NOT NULL,
    created_at      DOUBLE PRECISION NOT NULL,
    last_seen_at    DOUBLE PRECISION NOT NULL,
    expires_at      DOUBLE PRECISION NOT NULL,
    CHECK (expires_at <= created_at + 43200)
);
CREATE UNIQUE INDEX web_sessions_token_key ON web_sessions (token_hash);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);
CREATE INDEX web_sessions_expiry_idx ON web_sessions (expires_at);

-- The console's overview figures, counted at most once a minute by whichever instance takes
-- the lease first, so a page view never counts a million rows.
CREATE TABLE console_snapshot (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    figures      TEXT NOT NULL,
    computed_at  DOUBLE PRECISION NOT NULL,
    lease_until  DOUBLE PRECISION
);

-- The console lists relations by state, newest first.
CREATE INDEX mentorship_relations_state_idx ON mentorship_relations (state, id);
-- The console lists unsent mail oldest first.
CREATE INDEX outbox_unsent_idx ON outbox (created_at, id) WHERE sent_at IS NULL AND dead_at IS NULL;
