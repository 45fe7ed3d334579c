-- The audit log (issue 15): append-only, one row per change, written in the
-- same transaction as the change it records. Never a secret.
--   at               milliseconds since the epoch
--   actor            login name, `system`, or `operator` (the command line)
--   actor_method     session, basic, bearer, cli or system
--   client_ip        the client's address, when there was a client
--   user_agent       at most 256 characters
--   action           token.created, auth.signed_in, user.deleted, ...
--   family           the action's family (token, auth, user, scope): the filter
--   target_user      the user the event is about (login name as typed for a
--                    failed sign-in); target_user_id when that user exists, so
--                    a later user of the same name never sees it
--   target_token_id  the token the event is about
--   details          a small JSON object: description, cause, scopes, fields
--   search_text      what the live search looks in, lower-cased by the server
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    actor_method TEXT NOT NULL,
    client_ip TEXT,
    user_agent TEXT,
    action TEXT NOT NULL,
    family TEXT NOT NULL,
    target_user TEXT,
    target_user_id BIGINT,
    target_token_id BIGINT,
    details TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_family ON audit_events (family, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_token ON audit_events (target_token_id, id)
    WHERE target_token_id IS NOT NULL;
CREATE INDEX audit_events_target_user_id ON audit_events (target_user_id, id)
    WHERE target_user_id IS NOT NULL;
CREATE INDEX audit_events_target_user ON audit_events (target_user, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);

-- Substring search of three characters or more, newest first.
CREATE VIRTUAL TABLE audit_events_fts USING fts5(
    search_text, content = 'audit_events', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER audit_events_fts_insert AFTER INSERT ON audit_events BEGIN
    INSERT INTO audit_events_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER audit_events_fts_delete AFTER DELETE ON audit_events BEGIN
    INSERT INTO audit_events_fts (audit_events_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
