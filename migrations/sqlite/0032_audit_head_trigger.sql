-- The head of the audit chain follows each appended event inside the insert itself (one
-- statement less per audited change).
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events BEGIN
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1 AND seq < NEW.seq;
END;
