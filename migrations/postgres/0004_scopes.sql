-- Scopes (issue 13): what a token opens. A token's grants, space-separated
-- in canonical order ("api", "read_api", "introspect", NAME or NAME:read).
-- Tokens made before scopes existed open tollgate's own API, as in GoCD.
ALTER TABLE access_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'api';

-- Service scopes, defined by admins; a token may be granted NAME or NAME:read.
CREATE TABLE scopes (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
