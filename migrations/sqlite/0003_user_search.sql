-- Substring search of names and usernames (the directory's `search`) through an FTS5 trigram
-- index kept in step with `users` by triggers, so it never scans the whole table.
CREATE VIRTUAL TABLE users_search USING fts5(
    name, username, content = 'users', content_rowid = 'id', tokenize = 'trigram case_sensitive 0'
);
INSERT INTO users_search (users_search) VALUES ('rebuild');

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, name, username) VALUES (new.id, new.name, new.username);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, username) VALUES ('delete', old.id, old.name, old.username);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF name, username ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, username) VALUES ('delete', old.id, old.name, old.username);
    INSERT INTO users_search (rowid, name, username) VALUES (new.id, new.name, new.username);
END;
