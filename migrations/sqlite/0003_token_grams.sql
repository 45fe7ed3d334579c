-- Search of one or two characters, which the trigram index cannot serve: for
-- every one- and two-character substring (gram) of search_text, and every block
-- of 1024 token ids, how many active and revoked tokens of that block contain
-- it. Sums give exact counts; the blocks say where to look. Kept up to date by
-- the server in the same transaction as each insert and revoke.
CREATE TABLE token_grams (
    gram TEXT NOT NULL,
    block BIGINT NOT NULL,
    active_n BIGINT NOT NULL DEFAULT 0,
    revoked_n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (gram, block)
) WITHOUT ROWID;

-- Tokens made before this table existed. Grams never span the newline between
-- description and username.
WITH RECURSIVE pos (id, revoked, s, i) AS (
    SELECT id, revoked, search_text, 1 FROM access_tokens WHERE length(search_text) > 0
    UNION ALL
    SELECT id, revoked, s, i + 1 FROM pos WHERE i < length(s)
),
grams (id, revoked, gram) AS (
    SELECT id, revoked, substr(s, i, 1) FROM pos WHERE substr(s, i, 1) <> char(10)
    UNION
    SELECT id, revoked, substr(s, i, 2) FROM pos
    WHERE i < length(s) AND instr(substr(s, i, 2), char(10)) = 0
)
INSERT INTO token_grams (gram, block, active_n, revoked_n)
SELECT gram, id >> 10, SUM(revoked = 0), SUM(revoked = 1) FROM grams GROUP BY gram, id >> 10;
