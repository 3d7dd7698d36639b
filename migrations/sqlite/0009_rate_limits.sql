-- Hits per key and window, for throttling logins and capping mail-sending endpoints. A hit is
-- counted and checked against the limit in one statement (an upsert that only counts while
-- under the limit), so concurrent requests never slip past it.
CREATE TABLE rate_limits (
    key           TEXT NOT NULL,
    window_start  REAL NOT NULL,
    hits          INTEGER NOT NULL,
    last_hit_at   REAL NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
-- Failed logins were counted here, then checked apart from counting: replaced by rate_limits.
DROP TABLE login_failures;
-- Messages that failed too often stop being retried: they wait, dead, for an operator.
ALTER TABLE outbox ADD COLUMN dead_at REAL;
DROP INDEX outbox_due_idx;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_dead_idx ON outbox (dead_at) WHERE dead_at IS NOT NULL;
