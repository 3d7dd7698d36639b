-- Deleting a member looks up every row that references them (ON DELETE CASCADE / SET NULL).
-- Without an index on the referencing column that lookup reads the whole table, once per
-- deleted member: delete-unverified-users over 100,000 accounts took 27 minutes on SQLite
-- beside 200,000 meeting reminders. Every foreign key now has an index led by its column
-- (a test checks it for every table, so a new one cannot miss it).
CREATE INDEX IF NOT EXISTS meeting_reminders_user_idx ON meeting_reminders (user_id);
CREATE INDEX IF NOT EXISTS substitute_invitations_invitee_idx ON substitute_invitations (invitee_id);
