-- Most meetings never have a substitute. Indexing only those that do keeps the index small and,
-- on SQLite, stops the planner from judging it useless: its statistics counted every NULL as one
-- value shared by all rows, so "meetings user 1 delivers as substitute" scanned the table.
-- A query with `substitute_user_id = $1` implies the index's condition, so both databases use it.
DROP INDEX meetings_substitute_idx;
CREATE INDEX meetings_substitute_idx ON meetings (substitute_user_id, substitute_status, start_date)
    WHERE substitute_user_id IS NOT NULL;
