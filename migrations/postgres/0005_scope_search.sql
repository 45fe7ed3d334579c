-- The admin search matches scope names (issue 13): search_text gains a third
-- line, the token's scopes as stored. The trigram index follows; token_grams
-- is built again from the new texts, as in 0003.
UPDATE access_tokens SET search_text = search_text || chr(10) || scopes;

TRUNCATE token_grams;

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
