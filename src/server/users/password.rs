//! Passwords: argon2id, hashed and verified off the async runtime.

use crate::server::error::ServiceError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;

pub const PASSWORD_MIN: usize = 8;
/// Stored for accounts created without a password: it is not a PHC string,
/// so no password ever verifies against it.
pub const UNUSABLE: &str = "!";
/// Hashing cost grows with input; anything longer is refused before hashing.
pub const PASSWORD_MAX: usize = 1024;

pub fn check_policy(password: &SecretString) -> Result<(), ServiceError> {
    let len = password.expose_secret().chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(ServiceError::invalid(
            "password",
            format!("Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."),
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub async fn hash(password: SecretString) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose_secret()))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
}

/// Verifies `password` against `hash`. With no hash (unknown user) it verifies
/// against a dummy so that the answer takes as long either way.
pub async fn verify(password: SecretString, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_blocking(password.expose_secret(), &h),
        None => {
            static DUMMY: OnceLock<String> = OnceLock::new();
            let dummy =
                DUMMY.get_or_init(|| hash_blocking("tollgate-dummy-password").unwrap_or_default());
            let _ = verify_blocking(password.expose_secret(), dummy);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A random password for generated accounts: 20 characters of base62.
pub fn generate() -> SecretString {
    use rand::distr::{Alphanumeric, SampleString};
    SecretString::from(Alphanumeric.sample_string(&mut rand::rng(), 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash(SecretString::from("correct horse")).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(SecretString::from("correct horse"), Some(h.clone())).await);
        assert!(!verify(SecretString::from("wrong horse"), Some(h)).await);
        assert!(!verify(SecretString::from("anything"), None).await);
        assert!(!verify(SecretString::from("x"), Some("not a hash".into())).await);
    }

    #[test]
    fn policy() {
        assert!(check_policy(&SecretString::from("short")).is_err());
        assert!(check_policy(&SecretString::from("long enough")).is_ok());
        assert!(check_policy(&SecretString::from("x".repeat(1025))).is_err());
        assert_eq!(generate().expose_secret().len(), 20);
    }
}
