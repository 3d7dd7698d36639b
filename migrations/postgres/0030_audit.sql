-- The audit trail: append-only events, each chained to the one before by a SHA-256 hash.
-- What the chain covers (seq, time, actor, action, subject, request id and the digest of the
-- personal detail) holds only ids; the personal detail (JSON detail, client address) sits
-- outside it, covered by its digest only, so erasing it leaves the chain verifiable.
CREATE TABLE audit_events (
    seq            BIGINT PRIMARY KEY,
    at             DOUBLE PRECISION NOT NULL,
    actor_id       BIGINT,
    action         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    request_id     TEXT,
    detail_digest  TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL,
    detail         TEXT,
    client         TEXT
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq);
CREATE INDEX audit_events_action_idx ON audit_events (action, seq);
CREATE INDEX audit_events_subject_idx ON audit_events (subject, seq);

-- The end of the chain: one row, locked by every transaction that appends, so the chain
-- stays linear whatever the number of instances.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Where the kept chain starts once older events were pruned (AUDIT_RETENTION): the last
-- pruned event's seq and hash.
CREATE TABLE audit_anchor (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_anchor (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Refused (throttled) sign-ins are counted, not listed one by one: the first refusal of a
-- window is an event, the others only add to its count here.
CREATE TABLE audit_throttled (
    subject       TEXT NOT NULL,
    window_start  DOUBLE PRECISION NOT NULL,
    refusals      BIGINT NOT NULL,
    PRIMARY KEY (subject, window_start)
);
CREATE INDEX audit_throttled_window_idx ON audit_throttled (window_start);
