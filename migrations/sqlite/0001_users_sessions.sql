-- Flags are INTEGER 0/1 on every backend: the same SQL and the same decoding everywhere.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login_name TEXT NOT NULL,
    login_name_lower TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email TEXT,
    email_me INTEGER NOT NULL DEFAULT 0 CHECK (email_me IN (0, 1)),
    checkin_aliases TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at BIGINT NOT NULL,
    -- users are never removed: a deleted user keeps its row so that its tokens
    -- stay attributable, and a new user of the same name gets a new id.
    deleted_at BIGINT
);
CREATE UNIQUE INDEX users_live_login ON users (login_name_lower) WHERE deleted_at IS NULL;

CREATE TABLE sessions (
    -- SHA-256 of the cookie value: a copy of the database cannot be used to sign in.
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
