-- The audit log's inbox (issue 15): each change writes its events, in its own
-- transaction, here, where only the key is indexed, so recording costs a change
-- little. A background task moves them in batches, ids and all, into
-- audit_events, which carries the indexes and the search index. The search
-- reads both; audit_log is both, for whoever reads every event.
CREATE TABLE audit_inbox (
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
-- Its ids go on from the log's: every event gets its id here.
INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_inbox', COALESCE(MAX(id), 0) FROM audit_events;

CREATE VIEW audit_log AS
    SELECT id, at, actor, actor_method, client_ip, user_agent, action, family, target_user,
           target_user_id, target_token_id, details, search_text FROM audit_events
    UNION ALL
    SELECT id, at, actor, actor_method, client_ip, user_agent, action, family, target_user,
           target_user_id, target_token_id, details, search_text FROM audit_inbox;
