-- Token lifecycle (issue 14). Times are milliseconds since the epoch, as
-- created_at. Every column is optional or defaulted: existing tokens keep
-- working exactly as before (no expiry, no allowlist, not rotated).
--   expires_at            when the token stops working; NULL never
--   rotated_from          the token this one replaced (rotation)
--   family_id             the first token of its rotation chain; NULL for a
--                         token never rotated into (its family is itself)
--   last_used_ips         up to 5 distinct client addresses, newest first,
--                         space-separated
--   last_used_user_agent  the last user agent, at most 256 characters
--   allowed_cidrs         networks the token may be used from, space-
--                         separated; empty means anywhere
ALTER TABLE access_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE access_tokens ADD COLUMN rotated_from BIGINT;
ALTER TABLE access_tokens ADD COLUMN family_id BIGINT;
ALTER TABLE access_tokens ADD COLUMN last_used_ips TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN last_used_user_agent TEXT;
ALTER TABLE access_tokens ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '';

-- The Expired tab and the expiry warnings: only unrevoked tokens that expire.
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at, id)
    WHERE revoked = 0 AND expires_at IS NOT NULL;
-- Reuse detection: a token's successor, and a family's members.
CREATE INDEX access_tokens_rotated_from ON access_tokens (rotated_from)
    WHERE rotated_from IS NOT NULL;
CREATE INDEX access_tokens_family ON access_tokens (family_id)
    WHERE family_id IS NOT NULL;
