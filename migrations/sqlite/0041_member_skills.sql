-- The words of every verified member's skills, for the directory's skills filter
-- (`GET /users?skills=`, the member app's directory): a member matches when each word asked
-- for is one of theirs. Kept by the services that change a profile or verify an account, like
-- `mentor_words`; filled for existing members by the backfill below.
CREATE TABLE member_skills (
    word     TEXT NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (word, user_id)
);
CREATE INDEX member_skills_user_idx ON member_skills (user_id);
INSERT INTO pending_backfills (name) VALUES ('member_skills');
