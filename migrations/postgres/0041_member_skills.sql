-- The words of every verified member's skills, for the directory's skills filter
-- (`GET /users?skills=`, the member app's directory): a member matches when each word asked
-- for is one of theirs. Kept by the services that change a profile or verify an account, like
-- `mentor_words`; filled for existing members by the backfill below.
CREATE TABLE member_skills (
    word     TEXT NOT NULL,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (word, user_id)
);
CREATE INDEX member_skills_user_idx ON member_skills (user_id);
INSERT INTO pending_backfills (name) VALUES ('member_skills');

-- directory_page (migration 0006) with the skill words bound too ($5 to $7). The old form stays
-- for instances of the previous release during a rolling upgrade.
CREATE FUNCTION directory_page(query TEXT, caller BIGINT, term TEXT, need_mentoring BOOLEAN,
        available_to_mentor BOOLEAN, skill_1 TEXT, skill_2 TEXT, skill_3 TEXT)
    RETURNS SETOF BIGINT LANGUAGE plpgsql STABLE ROWS 50 AS $$
BEGIN
    RETURN QUERY EXECUTE query
        USING caller, term, need_mentoring, available_to_mentor, skill_1, skill_2, skill_3;
END
$$;
