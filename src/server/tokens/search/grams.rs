//! `token_grams`: for each one- and two-character substring (gram) and each
//! block of [`BLOCK_SIZE`] token ids, how many active and revoked tokens of
//! the block contain it. It answers short searches, which no trigram index
//! can, and bounds the work of terms pg_trgm cannot index.

use sqlx::{Any, AssertSqlSafe, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// Token ids per block are `1 << BLOCK_SHIFT`. The migrations that built
/// `token_grams` from the tokens already stored say `id >> 10`; a test below
/// holds them to this constant.
pub const BLOCK_SHIFT: u32 = 10;
/// Token ids per block of `token_grams`.
pub const BLOCK_SIZE: i64 = 1 << BLOCK_SHIFT;

/// What substring search looks in: the description, the username, the
/// stored scopes (`api grafana:read`) and, once it was used, the addresses
/// it was last used from, one a line, lower-cased here, in Rust, so that
/// case folding is Unicode-aware and identical on every backend.
pub fn search_text(description: &str, username: &str, scopes: &str, ips: &str) -> String {
    let mut text = format!(
        "{}\n{}\n{}",
        description.to_lowercase(),
        username.to_lowercase(),
        scopes.to_lowercase()
    );
    if !ips.is_empty() {
        text.push('\n');
        text.push_str(&ips.to_lowercase());
    }
    text
}

/// Searches this short are served by `token_grams`, not a trigram index.
pub fn is_short(q: &str) -> bool {
    q.chars().count() <= 2 && !q.contains('\n')
}

/// The distinct one- and two-character substrings of a search text, never
/// spanning the newline between description and username.
pub fn grams(text: &str) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    for w in bounds.windows(2) {
        out.insert(&text[w[0]..w[1]]);
    }
    for w in bounds.windows(3) {
        out.insert(&text[w[0]..w[2]]);
    }
    out.retain(|g| !g.contains('\n'));
    out
}

/// The grams a block must hold to hold a token containing `q`: a short term
/// itself; for a longer one its two-character grams, and only the single
/// characters none of them holds (one beside a newline). A block with a pair
/// has its characters, and pairs are the rarer, so fewer rows are read.
pub fn required(q: &str) -> Vec<&str> {
    if is_short(q) {
        return vec![q];
    }
    let all = grams(q);
    let pairs: Vec<&str> = all
        .iter()
        .copied()
        .filter(|g| g.chars().count() == 2)
        .collect();
    all.into_iter()
        .filter(|g| g.chars().count() == 2 || !pairs.iter().any(|p| p.contains(g)))
        .collect()
}

/// Whether pg_trgm can take a trigram from `LIKE '%q%'`, following its
/// `generate_wildcard_trgm`: words are runs of letters and digits, padded
/// with two spaces in front unless they begin the pattern and one behind
/// unless they end it, and a padded word shorter than three characters gives
/// no trigram. Without one (`----`, `%%%`, `h ☃`) the trigram index narrows
/// nothing and PostgreSQL reads every row.
pub fn has_trigram(q: &str) -> bool {
    let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).collect();
    let last = words.len() - 1;
    words.iter().enumerate().any(|(i, w)| {
        let pad = 2 * usize::from(i > 0) + usize::from(i < last);
        !w.is_empty() && w.chars().count() + pad >= 3
    })
}

/// A token entering or changing state, for `token_grams`.
pub struct GramChange<'a> {
    id: i64,
    text: &'a str,
    active: i64,
    revoked: i64,
}

impl<'a> GramChange<'a> {
    /// A new token: counted active or revoked.
    pub fn inserted(id: i64, text: &'a str, revoked: bool) -> Self {
        let revoked = i64::from(revoked);
        GramChange {
            id,
            text,
            active: 1 - revoked,
            revoked,
        }
    }

    /// An active token revoked: moved from active to revoked.
    pub fn revoked(id: i64, text: &'a str) -> Self {
        GramChange {
            id,
            text,
            active: -1,
            revoked: 1,
        }
    }

    /// A token's old search text taken away (its new one is `inserted`).
    pub fn removed(id: i64, text: &'a str, revoked: bool) -> Self {
        let revoked = i64::from(revoked);
        GramChange {
            id,
            text,
            active: revoked - 1,
            revoked: -revoked,
        }
    }
}

/// Applies token inserts and revokes to `token_grams`, in the caller's
/// transaction. Rows are written in (gram, block) order, so concurrent
/// writers on PostgreSQL always lock them in the same order.
pub async fn apply(
    tx: &mut Transaction<'_, Any>,
    changes: &[GramChange<'_>],
) -> Result<(), sqlx::Error> {
    let mut deltas: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
    for c in changes {
        for g in grams(c.text) {
            let d = deltas.entry((g, c.id >> BLOCK_SHIFT)).or_default();
            d.0 += c.active;
            d.1 += c.revoked;
        }
    }
    let deltas: Vec<_> = deltas.into_iter().collect();
    for chunk in deltas.chunks(500) {
        let mut sql =
            String::from("INSERT INTO token_grams (gram, block, active_n, revoked_n) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        sql.push_str(
            " ON CONFLICT (gram, block) DO UPDATE SET \
             active_n = token_grams.active_n + excluded.active_n, \
             revoked_n = token_grams.revoked_n + excluded.revoked_n",
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((gram, block), (a, r)) in chunk {
            q = q.bind(*gram).bind(*block).bind(*a).bind(*r);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_are_the_distinct_one_and_two_character_substrings_of_each_line() {
        let text = search_text("Café ab", "Bo", "api", "");
        let g: Vec<&str> = grams(&text).into_iter().collect();
        assert_eq!(
            g,
            [
                " ", " a", "a", "ab", "af", "ap", "b", "bo", "c", "ca", "f", "fé", "i", "o", "p",
                "pi", "é", "é "
            ]
        );
        let g: Vec<&str> = grams("日本\n日").into_iter().collect();
        assert_eq!(g, ["日", "日本", "本"]);
        assert!(grams("").is_empty());
        assert!(is_short("日本") && is_short("a") && !is_short("abc") && !is_short("a\n"));
    }

    #[test]
    fn a_block_must_hold_the_pairs_and_the_characters_no_pair_holds() {
        assert_eq!(required("ab"), ["ab"]);
        assert_eq!(required("---"), ["--"]);
        assert_eq!(required("a-b"), ["-b", "a-"]);
        assert_eq!(required("a\nb"), ["a", "b"]);
    }

    #[test]
    fn terms_have_a_trigram_as_pg_trgm_pads_their_words() {
        for q in [
            "abc",
            "ab-",
            "-a",
            "a-b",
            "-a-",
            "zürich",
            "日本語",
            "h ☃ 1",
            "x y",
        ] {
            assert!(has_trigram(q), "{q:?}");
        }
        for q in ["----", "%%%", "-_-", "...", "h ☃", "1 -", "é -", "☃☃☃"] {
            assert!(!has_trigram(q), "{q:?}");
        }
    }

    #[test]
    fn the_migrations_block_tokens_as_the_code_does() {
        let shift = format!("id >> {BLOCK_SHIFT}");
        for sql in [
            include_str!("../../../../migrations/sqlite/0003_token_grams.sql"),
            include_str!("../../../../migrations/postgres/0003_token_grams.sql"),
            include_str!("../../../../migrations/sqlite/0005_scope_search.sql"),
            include_str!("../../../../migrations/postgres/0005_scope_search.sql"),
        ] {
            assert!(sql.contains(&shift), "a migration blocks ids otherwise");
        }
    }
}
