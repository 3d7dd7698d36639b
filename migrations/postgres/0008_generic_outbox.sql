-- The outbox carries messages of any kind (mail today; webhooks or exports later): a kind that
-- names the handler, and a JSON payload that handler reads. Queued mail keeps its content.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'mail', ADD COLUMN payload TEXT;
UPDATE outbox SET payload = json_build_object(
    'template', template, 'recipient', recipient, 'subject', subject,
    'text', body_text, 'html', body_html, 'calendar', calendar)::text;
ALTER TABLE outbox
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN payload SET NOT NULL,
    DROP COLUMN template,
    DROP COLUMN recipient,
    DROP COLUMN subject,
    DROP COLUMN body_text,
    DROP COLUMN body_html,
    DROP COLUMN calendar;
