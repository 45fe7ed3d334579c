//! Passwords: argon2id, hashed and verified off the async runtime by a
//! bounded [`Hasher`], so that a flood of sign-ins cannot run more argon2
//! computations (19 MiB each) at once than there are cores.

use crate::server::error::ServiceError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

pub const PASSWORD_MIN: usize = 8;
/// Stored for accounts created without a password: it is not a PHC string,
/// so no password ever verifies against it.
pub const UNUSABLE: &str = "!";
/// Hashing cost grows with input; anything longer is refused before hashing.
pub const PASSWORD_MAX: usize = 1024;

/// What a sign-in verifies against when there is no usable hash (unknown
/// user, user without a password, invalid login name): a hash of a random
/// password with the default parameters, so that every sign-in costs one
/// argon2 verification of the same cost. A unit test keeps its parameters
/// equal to `Argon2::default()`'s.
const DUMMY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1zYWx0$1Vbg7kBBr08lwOc2l0tGvO8vLSutD8Tdo0yoVd5S2+E";

/// How long a sign-in waits for a free hasher before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
pub use crate::server::config::DEFAULT_PASSWORD_QUEUE as DEFAULT_QUEUE;

pub fn check_policy(password: &SecretString) -> Result<(), ServiceError> {
    let len = password.expose_secret().chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(ServiceError::invalid("password", policy_message()));
    }
    Ok(())
}

/// What the password policy asks for.
pub fn policy_message() -> String {
    format!("Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters.")
}

/// The hasher is busy: its slots are taken and its queue is full, or a
/// place did not free up within the queue's wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Runs argon2 with at most `concurrency` computations at once, server-wide.
/// Verifications beyond that wait in a queue of bounded length for a bounded
/// time, then are refused with [`Busy`]. A slot stays taken until its
/// computation ends, even when the request that asked for it is gone.
pub struct Hasher {
    slots: Arc<Semaphore>,
    /// Slots plus queue places: held from arrival until the answer.
    admission: Arc<Semaphore>,
    wait: Duration,
    concurrency: usize,
}

impl Hasher {
    /// `concurrency == 0` means one slot per CPU core.
    pub fn new(concurrency: usize, queue: usize, wait: Duration) -> Hasher {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            concurrency
        };
        Hasher {
            slots: Arc::new(Semaphore::new(concurrency)),
            admission: Arc::new(Semaphore::new(concurrency + queue)),
            wait,
            concurrency,
        }
    }

    /// The process's hasher, made on first use with these sizes (later sizes
    /// are ignored): every hash and verification of the server goes through it.
    pub fn shared(concurrency: usize, queue: usize) -> Arc<Hasher> {
        static SHARED: OnceLock<Arc<Hasher>> = OnceLock::new();
        SHARED
            .get_or_init(|| Arc::new(Hasher::new(concurrency, queue, QUEUE_WAIT)))
            .clone()
    }

    /// The process's hasher with default sizes unless already made.
    pub fn default_shared() -> Arc<Hasher> {
        Hasher::shared(0, DEFAULT_QUEUE)
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Argon2 computations running now.
    pub fn running(&self) -> usize {
        self.concurrency - self.slots.available_permits()
    }

    /// Takes all slots as if computations were running, for tests that
    /// need the hasher saturated; they are given back when the result drops.
    pub async fn hold_all(&self) -> HeldSlots {
        let n = self.concurrency as u32;
        let closed = "the semaphores are never closed";
        let slots = self
            .slots
            .clone()
            .acquire_many_owned(n)
            .await
            .expect(closed);
        let admitted = self
            .admission
            .clone()
            .acquire_many_owned(n)
            .await
            .expect(closed);
        HeldSlots(slots, admitted)
    }

    /// Runs `work` in a slot: waits in the queue (bounded) for one when
    /// `bounded`, else waits as long as it takes.
    async fn run<T: Send + 'static>(
        &self,
        bounded: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let _admitted = if bounded {
            Some(self.admission.try_acquire().map_err(|_| Busy)?)
        } else {
            None
        };
        let slot = self.slots.clone().acquire_owned();
        let slot = if bounded {
            tokio::time::timeout(self.wait, slot)
                .await
                .map_err(|_| Busy)?
        } else {
            slot.await
        }
        .map_err(|_| Busy)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|_| Busy)
    }

    /// Hashes a new password. Waits for a slot as long as it takes: only
    /// signed-in admins and users (and the operator's CLI) set passwords.
    pub async fn hash(&self, password: SecretString) -> Result<String, ServiceError> {
        self.run(false, move || hash_blocking(password.expose_secret()))
            .await
            .map_err(|_| ServiceError::Internal("password hasher stopped".into()))?
    }

    /// Verifies `password` against `hash`. Without a usable hash (unknown
    /// user, account without a password, anything that is not an argon2 PHC
    /// string) it verifies against [`DUMMY`] and answers false: every call
    /// runs exactly one argon2 verification, so the answer takes as long
    /// whichever the case.
    pub async fn verify(&self, password: SecretString, hash: Option<String>) -> Result<bool, Busy> {
        let ok = self
            .run(true, move || {
                verify_blocking(password.expose_secret(), hash.as_deref())
            })
            .await?;
        let _ = ARGON2_VERIFICATIONS.try_with(|n| n.set(n.get() + 1));
        Ok(ok)
    }
}

/// Slots taken by [`Hasher::hold_all`]; dropping it gives them back.
pub struct HeldSlots(
    #[allow(dead_code)] tokio::sync::OwnedSemaphorePermit,
    #[allow(dead_code)] tokio::sync::OwnedSemaphorePermit,
);

tokio::task_local! {
    static ARGON2_VERIFICATIONS: Cell<u32>;
}

/// Runs `f` and counts the argon2 verifications it made (in this task):
/// lets tests check that every sign-in path costs the same, without timing.
pub async fn count_verifications<F: Future>(f: F) -> (F::Output, u32) {
    ARGON2_VERIFICATIONS
        .scope(Cell::new(0), async {
            let out = f.await;
            (out, ARGON2_VERIFICATIONS.with(|n| n.get()))
        })
        .await
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

/// An argon2 PHC string, parsed; `None` for anything else.
fn argon2_hash(hash: &str) -> Option<PasswordHash<'_>> {
    PasswordHash::new(hash)
        .ok()
        .filter(|h| argon2::Algorithm::try_from(h.algorithm).is_ok())
}

fn verify_blocking(password: &str, hash: Option<&str>) -> bool {
    match hash.and_then(argon2_hash) {
        Some(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        None => {
            let dummy = argon2_hash(DUMMY).expect("DUMMY is an argon2 hash");
            let _ = Argon2::default().verify_password(password.as_bytes(), &dummy);
            false
        }
    }
}

/// Hashes a new password with the process's [`Hasher`].
pub async fn hash(password: SecretString) -> Result<String, ServiceError> {
    Hasher::default_shared().hash(password).await
}

/// A random password for generated accounts: 20 characters of base62.
pub fn generate() -> SecretString {
    use rand::distr::{Alphanumeric, SampleString};
    SecretString::from(Alphanumeric.sample_string(&mut rand::rng(), 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Hasher {
        Hasher::new(1, 1, Duration::from_millis(50))
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash(SecretString::from("correct horse")).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        let v = hasher();
        assert!(v
            .verify("correct horse".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!v.verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!v.verify("anything".into(), None).await.unwrap());
        assert!(!v
            .verify("x".into(), Some("not a hash".into()))
            .await
            .unwrap());
        assert!(!v.verify("x".into(), Some(UNUSABLE.into())).await.unwrap());
    }

    #[tokio::test]
    async fn every_verification_runs_argon2_once() {
        let v = hasher();
        let real = hash(SecretString::from("correct horse")).await.unwrap();
        let pbkdf2 =
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$M2xpWnqHhV0sAQCc5MvTIeR9I8gYTKx2oWBHl+4eUY4";
        for stored in [
            Some(real.as_str()),
            None,
            Some(UNUSABLE),
            Some(""),
            Some("not a hash"),
            Some(pbkdf2),
        ] {
            let (ok, runs) =
                count_verifications(v.verify("guess".into(), stored.map(String::from))).await;
            assert!(!ok.unwrap());
            assert_eq!(runs, 1, "{stored:?}");
        }
    }

    #[test]
    fn the_dummy_costs_what_a_real_hash_costs() {
        let dummy = argon2_hash(DUMMY).unwrap();
        let params = argon2::Params::try_from(&dummy).unwrap();
        let default = Argon2::default();
        let cost = |p: &argon2::Params| (p.m_cost(), p.t_cost(), p.p_cost());
        assert_eq!(cost(&params), cost(default.params()));
        assert_eq!(dummy.algorithm, argon2::Algorithm::default().ident());
        assert_eq!(
            dummy.version,
            Some(argon2::Version::default().into()),
            "{}",
            hash_blocking("regenerate DUMMY").unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_hasher_refuses_after_a_bounded_wait() {
        let v = hasher();
        let held = v.hold_all().await;
        assert_eq!(v.running(), 1);
        // One queue place: it waits 50 ms, then is refused.
        assert_eq!(v.verify("x".into(), None).await, Err(Busy));
        // With the place taken, the next is refused at once.
        let waiting = v.verify("x".into(), None);
        let (first, second) = tokio::join!(waiting, v.verify("y".into(), None));
        assert_eq!((first, second), (Err(Busy), Err(Busy)));
        drop(held);
        assert_eq!(v.verify("x".into(), None).await, Ok(false));
    }

    #[test]
    fn policy() {
        assert!(check_policy(&SecretString::from("short")).is_err());
        assert!(check_policy(&SecretString::from("long enough")).is_ok());
        assert!(check_policy(&SecretString::from("x".repeat(1025))).is_err());
        assert_eq!(generate().expose_secret().len(), 20);
    }
}
