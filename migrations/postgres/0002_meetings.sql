-- Meetings of a relation, and the substitute mentor a titular mentor may invite to one.
CREATE TABLE meetings (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relation_id              BIGINT NOT NULL REFERENCES mentorship_relations (id) ON DELETE CASCADE,
    -- The relation's parties, copied so that "my meetings" and the overlap rule use an index.
    mentor_id                BIGINT REFERENCES users (id) ON DELETE SET NULL,
    mentee_id                BIGINT REFERENCES users (id) ON DELETE SET NULL,
    proposer_id              BIGINT NOT NULL,
    start_date               DOUBLE PRECISION NOT NULL,
    end_date                 DOUBLE PRECISION NOT NULL,
    place                    TEXT,
    notes                    TEXT,
    state                    TEXT NOT NULL CHECK (state IN ('proposed', 'confirmed', 'declined', 'cancelled')),
    substitute_user_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    substitute_status        TEXT CHECK (substitute_status IN ('pending', 'accepted', 'rejected')),
    substitute_invited_at    DOUBLE PRECISION,
    substitute_responded_at  DOUBLE PRECISION,
    -- SHA-256 of the current invitation's nonce: a new invitation replaces it, killing older links.
    substitute_nonce_hash    TEXT,
    created_at               DOUBLE PRECISION NOT NULL,
    updated_at               DOUBLE PRECISION NOT NULL,
    -- Bumped on every change, as the iCalendar SEQUENCE.
    revision                 BIGINT NOT NULL DEFAULT 0,
    CHECK (end_date > start_date)
);
CREATE INDEX meetings_relation_idx ON meetings (relation_id, start_date);
CREATE INDEX meetings_mentor_idx ON meetings (mentor_id, state, start_date);
CREATE INDEX meetings_mentee_idx ON meetings (mentee_id, state, start_date);
-- "My pending invitations", and the meetings a substitute delivers.
CREATE INDEX meetings_substitute_idx ON meetings (substitute_user_id, substitute_status, start_date);
CREATE INDEX meetings_state_idx ON meetings (state, substitute_status, id);
