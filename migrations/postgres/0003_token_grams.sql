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
);

-- Tokens made before this table existed. Grams never span the newline between
-- description and username.
INSERT INTO token_grams (gram, block, active_n, revoked_n)
SELECT gram, id >> 10,
       SUM(CASE WHEN revoked = 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN revoked = 1 THEN 1 ELSE 0 END)
FROM (
    SELECT DISTINCT t.id, t.revoked, g.gram
    FROM access_tokens t
    CROSS JOIN LATERAL (
        SELECT substr(t.search_text, i, 1) AS gram FROM generate_series(1, length(t.search_text)) AS i
        UNION
        SELECT substr(t.search_text, i, 2) FROM generate_series(1, length(t.search_text) - 1) AS i
    ) AS g
    WHERE position(chr(10) IN g.gram) = 0
) AS x
GROUP BY gram, id >> 10;
