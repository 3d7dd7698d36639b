-- Each member's preferences: the time zone their e-mails show times in, and whether they want
-- meeting reminders. A member without a row has the defaults (UTC, reminders on).
CREATE TABLE user_preferences (
    user_id            BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    timezone           TEXT NOT NULL DEFAULT 'UTC',
    meeting_reminders  BOOLEAN NOT NULL DEFAULT TRUE
);

-- Every substitute invitation of a meeting, kept as history: the meeting's substitute_*
-- columns say where the current one stands, these rows what became of each.
CREATE TABLE substitute_invitations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meeting_id   BIGINT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    invitee_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'withdrawn',
                                                 'replaced', 'expired', 'cancelled', 'stepped_back',
                                                 'taken_back')),
    -- SHA-256 of the invitation's nonce: an old link finds what became of its invitation.
    nonce_hash   TEXT NOT NULL,
    invited_at   DOUBLE PRECISION NOT NULL,
    expires_at   DOUBLE PRECISION NOT NULL,
    ended_at     DOUBLE PRECISION
);
-- At most one invitation of a meeting is live (pending or accepted).
CREATE UNIQUE INDEX substitute_invitations_live_key ON substitute_invitations (meeting_id)
    WHERE status IN ('pending', 'accepted');
CREATE INDEX substitute_invitations_meeting_idx ON substitute_invitations (meeting_id, id);
CREATE INDEX substitute_invitations_nonce_idx ON substitute_invitations (nonce_hash);
CREATE INDEX substitute_invitations_status_idx ON substitute_invitations (status, meeting_id);
CREATE INDEX substitute_invitations_pending_idx ON substitute_invitations (expires_at)
    WHERE status = 'pending';

-- Reminders sent: one per meeting, person, kind and start time, so each goes once whatever the
-- number of instances or runs, and a meeting moved later is reminded again.
CREATE TABLE meeting_reminders (
    meeting_id  BIGINT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('day', 'hour')),
    start_date  DOUBLE PRECISION NOT NULL,
    sent_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (meeting_id, user_id, kind, start_date)
);
-- Confirmed meetings by start, for the reminders and the candidates' overlap checks.
CREATE INDEX meetings_confirmed_start_idx ON meetings (start_date) WHERE state = 'confirmed';

-- The words of the skills and interests of every verified member available to mentor, for
-- ranking substitute candidates by what they share with a mentee. Kept by the services that
-- change a member's profile, verification or availability.
CREATE TABLE mentor_words (
    word     TEXT NOT NULL,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source   TEXT NOT NULL CHECK (source IN ('skills', 'interests')),
    PRIMARY KEY (word, user_id, source)
);
CREATE INDEX mentor_words_user_idx ON mentor_words (user_id);

-- Work a migration leaves for the server to do in Rust when it next migrates (splitting the
-- existing profiles into words is not plain SQL on SQLite).
CREATE TABLE pending_backfills (name TEXT PRIMARY KEY);
INSERT INTO pending_backfills (name) VALUES ('mentor_words');
