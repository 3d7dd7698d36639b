-- The directory search as one lower-cased key per member: name and username, joined by a
-- character neither can contain (chr(1)), so no match spans the two. One trigram index serves
-- rare terms; a covering index in id order serves common ones, whose page fills after a short
-- walk that reads the index alone (a walk over the table had to read every row and lower-case
-- two columns: 0.66 ms against 0.19 ms for the fifth page of a common term at 1M members).
ALTER TABLE users ADD COLUMN search_key TEXT
    GENERATED ALWAYS AS (lower(name) || chr(1) || lower(username)) STORED;
DROP INDEX users_name_trgm_idx;
DROP INDEX users_username_trgm_idx;
CREATE INDEX users_search_key_trgm_idx ON users USING gin (search_key gin_trgm_ops);
CREATE INDEX users_directory_idx ON users (id)
    INCLUDE (search_key, is_email_verified, need_mentoring, available_to_mentor);

-- Runs the query that finds the ids of one page of a directory search (built by the server
-- from fixed fragments, src/store/users.rs) planned for its values: a common term is best
-- found by walking the covering index, a rare one through the trigram index, and a prepared
-- statement would plan once for all terms. PL/pgSQL's EXECUTE plans anew on every call, and
-- the server calls this from a prepared statement, in one round trip (an unnamed statement
-- took two, and planned the whole query with its joins).
CREATE FUNCTION directory_page(query TEXT, caller BIGINT, term TEXT, need_mentoring BOOLEAN,
        available_to_mentor BOOLEAN)
    RETURNS SETOF BIGINT LANGUAGE plpgsql STABLE ROWS 50 AS $$
BEGIN
    RETURN QUERY EXECUTE query USING caller, term, need_mentoring, available_to_mentor;
END
$$;
