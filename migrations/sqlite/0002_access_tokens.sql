-- Personal access tokens. Only the SHA-256 of a token is stored. Nothing is
-- ever deleted: revocation and user deletion only set the revoked columns.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    description TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- the owner's login name when the token was made, as GoCD shows it
    username TEXT NOT NULL,
    -- description and username, lower-cased by the server (Unicode-aware), for
    -- case-insensitive substring search that behaves the same on every backend
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    revoked_at BIGINT,
    revoked_by TEXT,
    revoke_cause TEXT,
    revoked_because_user_deleted INTEGER NOT NULL DEFAULT 0 CHECK (revoked_because_user_deleted IN (0, 1))
);
CREATE UNIQUE INDEX access_tokens_hash ON access_tokens (token_hash);
CREATE INDEX access_tokens_user ON access_tokens (user_id, revoked);
-- the admin page's two orders: newest first, and newest revocation first
CREATE INDEX access_tokens_state_id ON access_tokens (revoked, id);
CREATE INDEX access_tokens_revoked_at ON access_tokens (revoked, revoked_at, id);

-- substring search: a trigram full-text index over search_text
CREATE VIRTUAL TABLE access_tokens_fts USING fts5(
    search_text, content = 'access_tokens', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER access_tokens_fts_insert AFTER INSERT ON access_tokens BEGIN
    INSERT INTO access_tokens_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER access_tokens_fts_update AFTER UPDATE OF search_text ON access_tokens BEGIN
    INSERT INTO access_tokens_fts (access_tokens_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO access_tokens_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
