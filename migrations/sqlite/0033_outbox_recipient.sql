-- The address each queued message goes to, lower-cased, beside its payload: erasing a member
-- who leaves discards their unsent mail through this index instead of reading every unsent
-- payload once per member (quadratic for delete-unverified-users over a mail backlog). A
-- delivered row keeps no address (its payload is emptied too).
ALTER TABLE outbox ADD COLUMN recipient TEXT;
UPDATE outbox SET recipient = lower(json_extract(payload, '$.recipient'))
    WHERE sent_at IS NULL AND kind = 'mail';
UPDATE outbox SET recipient = lower(json_extract(payload, '$.email'))
    WHERE sent_at IS NULL AND kind = 'account_mail';
CREATE INDEX outbox_unsent_recipient_idx ON outbox (recipient) WHERE sent_at IS NULL;
