-- The admin search matches scope names (issue 13): search_text gains a third
-- line, the token's scopes as stored. The FTS index follows through its update
-- trigger; token_grams is built again from the new texts, as in 0003.
UPDATE access_tokens SET search_text = search_text || char(10) || scopes;

DELETE FROM token_grams;

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
