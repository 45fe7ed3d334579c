//! Words for the pages, computed the same on the server and in the browser:
//! times ("3 minutes ago", "2027-01-31 09:30 UTC") and where a search term
//! occurs in a text (for `<mark>`).

use std::ops::Range;

/// How long ago something happened, `delta_ms` being now minus then:
/// "just now", "3 minutes ago", "1 hour ago", "5 days ago", "2 months ago",
/// "1 year ago". A time slightly ahead (clock skew) reads "in 2 minutes".
pub fn ago_in_words(delta_ms: f64) -> String {
    let abs = delta_ms.abs();
    let (minute, hour, day) = (60_000.0, 3_600_000.0, 86_400_000.0);
    if abs < minute || !abs.is_finite() {
        return "just now".to_string();
    }
    let (n, unit) = if abs < hour {
        (abs / minute, "minute")
    } else if abs < day {
        (abs / hour, "hour")
    } else if abs < 30.0 * day {
        (abs / day, "day")
    } else if abs < 365.0 * day {
        (abs / (30.0 * day), "month")
    } else {
        (abs / (365.0 * day), "year")
    };
    let n = n.floor().max(1.0) as i64;
    let span = format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if delta_ms > 0.0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// An ISO-8601 UTC time (`2027-01-31T09:30:00Z`) as the server renders it
/// before the browser knows the viewer's zone: `2027-01-31 09:30 UTC`.
/// Anything else is shown as it came.
pub fn utc_text(iso: &str) -> String {
    let b = iso.as_bytes();
    let shaped = b.len() >= 17
        && b[10] == b'T'
        && b[13] == b':'
        && iso.ends_with('Z')
        && iso.is_char_boundary(16);
    if shaped {
        format!("{} {} UTC", &iso[..10], &iso[11..16])
    } else {
        iso.to_string()
    }
}

/// One character, case-folded the simple way (its first lower-case form).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Where `query` (trimmed, case-insensitive) occurs in `text`: byte ranges,
/// in order, never overlapping. Nothing for a blank query. The server's
/// search lower-cases the whole term and looks for it as one substring; so
/// does this.
pub fn match_ranges(text: &str, query: &str) -> Vec<Range<usize>> {
    let needle: Vec<char> = query.trim().chars().map(fold).collect();
    let Some(&first) = needle.first() else {
        return Vec::new();
    };
    let hay: Vec<(usize, char)> = text.char_indices().map(|(i, c)| (i, fold(c))).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let hit = hay[i].1 == first
            && hay[i..i + needle.len()]
                .iter()
                .zip(&needle)
                .all(|((_, a), b)| a == b);
        if hit {
            let end = hay.get(i + needle.len()).map_or(text.len(), |&(j, _)| j);
            out.push(hay[i].0..end);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// `text` cut at the matches of `query`: `(piece, matched)` in order, the
/// pieces joined giving `text` back.
pub fn highlight_pieces<'a>(text: &'a str, query: &str) -> Vec<(&'a str, bool)> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in match_ranges(text, query) {
        if r.start > at {
            out.push((&text[at..r.start], false));
        }
        out.push((&text[r.clone()], true));
        at = r.end;
    }
    if at < text.len() {
        out.push((&text[at..], false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_reads_like_speech() {
        let (minute, hour, day) = (60_000.0, 3_600_000.0, 86_400_000.0);
        assert_eq!(ago_in_words(5_000.0), "just now");
        assert_eq!(ago_in_words(-5_000.0), "just now");
        assert_eq!(ago_in_words(minute), "1 minute ago");
        assert_eq!(ago_in_words(3.0 * minute + 40_000.0), "3 minutes ago");
        assert_eq!(ago_in_words(hour + 59.0 * minute), "1 hour ago");
        assert_eq!(ago_in_words(5.0 * hour), "5 hours ago");
        assert_eq!(ago_in_words(day), "1 day ago");
        assert_eq!(ago_in_words(29.0 * day), "29 days ago");
        assert_eq!(ago_in_words(65.0 * day), "2 months ago");
        assert_eq!(ago_in_words(800.0 * day), "2 years ago");
        assert_eq!(ago_in_words(-2.0 * minute), "in 2 minutes");
        assert_eq!(ago_in_words(f64::NAN), "just now");
    }

    #[test]
    fn utc_text_is_short_and_says_utc() {
        assert_eq!(utc_text("2027-01-31T09:30:59Z"), "2027-01-31 09:30 UTC");
        assert_eq!(utc_text("2027-01-31T09:30:59.123Z"), "2027-01-31 09:30 UTC");
        assert_eq!(
            utc_text("2027-01-31T09:30:59+02:00"),
            "2027-01-31T09:30:59+02:00"
        );
        assert_eq!(utc_text("yesterday"), "yesterday");
        assert_eq!(utc_text("2027-01-31Tä9:30:59Z"), "2027-01-31Tä9:30:59Z");
    }

    #[test]
    fn matches_ignore_case_and_keep_text_whole() {
        assert_eq!(
            match_ranges("Deploy KEY for deploy", "deploy"),
            [0..6, 15..21]
        );
        assert_eq!(match_ranges("aaaa", "aa"), [0..2, 2..4]);
        assert_eq!(match_ranges("anything", "  "), Vec::<Range<usize>>::new());
        assert_eq!(
            match_ranges("short", "longer than it"),
            Vec::<Range<usize>>::new()
        );
        // Multi-byte characters, folded: the ranges stay on char boundaries.
        assert_eq!(match_ranges("Ünïcode ÜNÏ", " ünï "), [0..5, 10..15]);
        assert_eq!(
            highlight_pieces("<b>Key</b> key", "KEY"),
            [
                ("<b>", false),
                ("Key", true),
                ("</b> ", false),
                ("key", true)
            ]
        );
        assert_eq!(highlight_pieces("plain", ""), [("plain", false)]);
        assert_eq!(highlight_pieces("", "x"), Vec::<(&str, bool)>::new());
        for (text, q) in [("İstanbul ist", "ist"), ("ß straße", "SS"), ("x\ny", "\ny")] {
            let joined: String = highlight_pieces(text, q).iter().map(|p| p.0).collect();
            assert_eq!(joined, text);
        }
    }
}
