//! The token format: `tgp_` + 30 random base62 characters + 6 base62 characters
//! of the CRC32 of the random part; 40 characters, all selectable with one
//! double-click. The checksum lets scanners spot leaked tokens and lets the
//! server refuse garbage before touching the database.

use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};

pub const PREFIX: &str = "tgp_";
const RANDOM_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A plaintext token. It cannot be printed, logged or serialized by accident:
/// `Debug` is redacted and the only way out is `expose`.
pub struct PlainToken(SecretString);

impl std::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainToken([REDACTED])")
    }
}

/// The SHA-256 of a token, hex: the only form that is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(pub String);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not a tollgate token")]
    Malformed,
    #[error("token checksum mismatch")]
    Checksum,
}

fn checksum_bytes(random: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = u64::from(crc32fast::hash(random.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

fn checksum(random: &str) -> String {
    String::from_utf8(checksum_bytes(random).to_vec()).expect("base62 is ASCII")
}

impl PlainToken {
    /// A new token from the operating system's CSPRNG (about 178 random bits).
    pub fn generate() -> Self {
        let random = Alphanumeric.sample_string(&mut rand::rng(), RANDOM_LEN);
        let sum = checksum(&random);
        PlainToken(SecretString::from(format!("{PREFIX}{random}{sum}")))
    }

    /// Checks prefix, length, alphabet and checksum; no database involved.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        if raw.len() != TOKEN_LEN || !raw.starts_with(PREFIX) {
            return Err(FormatError::Malformed);
        }
        let body = &raw[PREFIX.len()..];
        if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FormatError::Malformed);
        }
        let (random, sum) = body.split_at(RANDOM_LEN);
        if checksum_bytes(random) != sum.as_bytes() {
            return Err(FormatError::Checksum);
        }
        Ok(PlainToken(SecretString::from(raw.to_string())))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(crate::server::sha256_hex(self.0.expose_secret().as_bytes()))
    }

    /// The plaintext, for the one response that hands it to its owner.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = PlainToken::generate();
        let b = PlainToken::generate();
        assert_eq!(a.expose().len(), 40);
        assert!(a.expose().starts_with("tgp_"));
        assert!(a.expose()[4..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(PlainToken::parse(a.expose()).unwrap().hash(), a.hash());
        assert_eq!(a.hash().0.len(), 64);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = PlainToken::generate();
        let shown = format!("{t:?}");
        assert!(!shown.contains(&t.expose()[4..]), "{shown}");
    }

    #[test]
    fn bad_tokens_are_refused() {
        let t = PlainToken::generate();
        let s = t.expose();
        // One changed character in the random part breaks the checksum.
        let mut forged: Vec<u8> = s.bytes().collect();
        forged[10] = if forged[10] == b'a' { b'b' } else { b'a' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            PlainToken::parse(&forged).unwrap_err(),
            FormatError::Checksum
        );
        assert_eq!(
            PlainToken::parse(&s[..39]).unwrap_err(),
            FormatError::Malformed
        );
        assert_eq!(
            PlainToken::parse(&format!("ghp_{}", &s[4..])).unwrap_err(),
            FormatError::Malformed
        );
        assert_eq!(
            PlainToken::parse(&format!("{}!", &s[..39])).unwrap_err(),
            FormatError::Malformed
        );
        assert_eq!(PlainToken::parse("").unwrap_err(), FormatError::Malformed);
        assert_eq!(
            PlainToken::parse("tgp_ééééééééééééééééé").unwrap_err(),
            FormatError::Malformed
        );
        // GoCD's 40-hex tokens are not ours.
        assert!(PlainToken::parse("6A7B48094CC552B9A2DF0AFADAF50D28F0646070").is_err());
    }

    #[test]
    fn checksum_is_six_base62_digits() {
        assert_eq!(checksum("").len(), 6);
        assert_eq!(checksum("a"), checksum("a"));
        assert_ne!(checksum("a"), checksum("b"));
    }
}
