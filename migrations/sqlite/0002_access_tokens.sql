-- Personal access tokens. Only the SHA-256 of a token is stored. Nothing is
-- ever deleted: revocation and user deletion only set the revoked columns.
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    description TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- the owner's login name when the token was made, as GoCD shows it
    username TEXT NOT NULL,
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
