//! Failed-authentication throttling per client (an IPv4 address or an IPv6
//! /64), with memory bounded; the client address behind a trusted proxy.

use axum::http::{HeaderMap, HeaderName};
use std::collections::hash_map::{HashMap, RandomState};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Most clients tracked at once, over all shards. A client whose budget is
/// whole again is forgotten; past this, the clients with the least debt are
/// forgotten first. About 25 bytes each (13 MB at most with table slack).
pub const TRACKED_MAX: usize = 1 << 18;
const SHARDS: usize = 16;
/// How often each shard drops the clients whose budget is whole again.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Whose budget a failure counts against: an IPv4 address, or the /64
/// network of an IPv6 address (a host gets a whole /64 and can rotate through
/// it). IPv4-mapped IPv6 addresses count as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4([u8; 4]),
    V6Net([u8; 8]),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut net = [0u8; 8];
                net.copy_from_slice(&v6.octets()[..8]);
                ClientKey::V6Net(net)
            }
        }
    }
}

/// A unit taken from a client's budget before its password is checked. It
/// stays taken (the attempt counts as a failure) unless given back with
/// [`Reservation::refund`] once the attempt succeeded or was never checked.
#[must_use = "a reservation is either kept (dropped) or refunded"]
pub struct Reservation<'a> {
    throttle: &'a AuthThrottle,
    key: Option<ClientKey>,
}

impl Reservation<'_> {
    /// Gives the unit back: the attempt did not fail.
    pub fn refund(self) {
        if let (Some(gcra), Some(key)) = (&self.throttle.gcra, self.key) {
            gcra.refund(key, self.throttle.now());
        }
    }
}

/// Throttles failed authentication per client (see [`ClientKey`]) with the
/// generic cell rate algorithm: `per_minute` failures replenish each minute,
/// up to `burst` at once; over that, the client is refused with 429 until a
/// failure is allowed again. A password attempt takes its unit *before* the
/// password is hashed (see [`AuthThrottle::reserve`]), so parallel guesses
/// cannot outrun the count; successful attempts give it back.
///
/// Hand-written rather than `governor`'s, which cannot give a unit back.
/// Memory is bounded: a client is forgotten once its budget is whole again,
/// and at most [`TRACKED_MAX`] clients are tracked.
pub struct AuthThrottle {
    gcra: Option<Gcra>,
    trusted_header: Option<HeaderName>,
    origin: Instant,
    /// Where a client's first refusal of an episode is reported (the audit
    /// log's `auth.throttled`), if anywhere.
    episodes: OnceLock<mpsc::Sender<Episode>>,
}

/// A client refused for the first time since it last had budget, and how
/// long it must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Episode {
    pub client: IpAddr,
    pub wait: Duration,
}

impl AuthThrottle {
    /// `per_minute == 0` turns throttling off.
    pub fn new(per_minute: u32, burst: u32, trusted_header: Option<HeaderName>) -> Self {
        Self::with_capacity(per_minute, burst, trusted_header, TRACKED_MAX)
    }

    /// `per_hour` units a client may take each hour, all of them at once if
    /// it likes (the leaked-token reports); 0 turns it off.
    pub fn per_hour(per_hour: u32, trusted_header: Option<HeaderName>) -> Self {
        Self::with_period(
            3_600_000_000_000,
            per_hour,
            per_hour,
            trusted_header,
            TRACKED_MAX,
        )
    }

    /// As [`AuthThrottle::new`], tracking at most `tracked_max` clients.
    pub fn with_capacity(
        per_minute: u32,
        burst: u32,
        trusted_header: Option<HeaderName>,
        tracked_max: usize,
    ) -> Self {
        Self::with_period(
            60_000_000_000,
            per_minute,
            burst,
            trusted_header,
            tracked_max,
        )
    }

    /// `count` units replenish each `period_ns`, up to `burst` at once.
    fn with_period(
        period_ns: u64,
        count: u32,
        burst: u32,
        trusted_header: Option<HeaderName>,
        tracked_max: usize,
    ) -> Self {
        let gcra = (count > 0).then(|| {
            let burst = if burst == 0 { count } else { burst };
            let interval = period_ns / u64::from(count);
            Gcra {
                interval,
                tolerance: interval * u64::from(burst),
                shard_max: tracked_max.div_ceil(SHARDS).max(1),
                hasher: RandomState::new(),
                shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            }
        });
        AuthThrottle {
            gcra,
            trusted_header,
            origin: Instant::now(),
            episodes: OnceLock::new(),
        }
    }

    /// Reports each throttling episode once, on `to`; a full channel drops
    /// the report rather than wait.
    pub fn report_episodes(&self, to: mpsc::Sender<Episode>) {
        let _ = self.episodes.set(to);
    }

    /// Nanoseconds since this throttle was made.
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The client's address: the trusted proxy header's last (nearest) entry
    /// when one is configured and present, else the peer address. IPv4-mapped
    /// IPv6 addresses are given as IPv4.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        if self.trusted_header.is_none() {
            warn_untrusted_forwarding(headers);
        }
        self.forwarded_client(headers)
            .or(peer.map(|p| p.ip()))
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .to_canonical()
    }

    /// The original client's address from the trusted proxy header, when one
    /// is configured and the request carries it; `None` otherwise (the peer
    /// may then be a proxy that many clients share).
    pub fn forwarded_client(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let name = self.trusted_header.as_ref()?;
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse::<IpAddr>().ok())
            .next_back()
            .map(|ip| ip.to_canonical())
    }

    /// Takes one unit from the client's budget before a password is checked;
    /// `Err(wait)` while the client is over its budget.
    pub fn reserve(&self, ip: IpAddr) -> Result<Reservation<'_>, Duration> {
        let key = ClientKey::from(ip);
        let Some(gcra) = &self.gcra else {
            return Ok(Reservation {
                throttle: self,
                key: None,
            });
        };
        match gcra.take(key, self.now()) {
            Ok(()) => Ok(Reservation {
                throttle: self,
                key: Some(key),
            }),
            Err((wait, first)) => {
                if first {
                    tracing::warn!(client = %ip, wait_secs = wait.as_secs(), "too many failed authentications");
                    if let Some(to) = self.episodes.get() {
                        let _ = to.try_send(Episode {
                            client: ip.to_canonical(),
                            wait,
                        });
                    }
                }
                Err(wait)
            }
        }
    }

    /// Records a failure that cost no password check (an unknown token, a
    /// malformed header); `Err(wait)` when the client is over its budget.
    pub fn failed(&self, ip: IpAddr) -> Result<(), Duration> {
        self.reserve(ip).map(drop)
    }

    /// `Err(wait)` while the client is over its budget; takes nothing.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        match &self.gcra {
            Some(gcra) => gcra.check(ClientKey::from(ip), self.now()),
            None => Ok(()),
        }
    }

    /// Clients tracked now (those whose budget is not whole).
    pub fn tracked(&self) -> usize {
        self.gcra.as_ref().map_or(0, |g| {
            g.shards
                .iter()
                .map(|s| s.lock().map_or(0, |s| s.map.len()))
                .sum()
        })
    }
}

/// Warns once per process that requests come through a proxy whose client
/// addresses are ignored: every client behind it shares one budget.
fn warn_untrusted_forwarding(headers: &HeaderMap) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if headers.contains_key("x-forwarded-for") && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "requests carry X-Forwarded-For but --trusted-proxy-header is not set: every client \
             behind the proxy shares its address, and so one budget of failed sign-ins. If the \
             proxy is trusted and sets it, pass --trusted-proxy-header X-Forwarded-For"
        );
    }
}

/// GCRA state: per client, the theoretical arrival time (TAT) of its next
/// failure, in nanoseconds since the throttle's origin. A client whose TAT
/// has passed has its whole budget and needs no entry.
struct Gcra {
    /// Nanoseconds for one failure to replenish.
    interval: u64,
    /// `interval * burst`: how far the TAT may run ahead of now.
    tolerance: u64,
    shard_max: usize,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    map: HashMap<ClientKey, u64>,
    /// Clients being refused, and until when: a refusal of a client not
    /// here starts an episode.
    refusing: HashMap<ClientKey, u64>,
    next_sweep: u64,
}

impl Gcra {
    fn shard(&self, key: &ClientKey) -> std::sync::MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        // A panic while holding the lock leaves consistent data: go on.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait(&self, tat: u64, now: u64) -> Result<u64, Duration> {
        let next = tat.max(now) + self.interval;
        if next > now + self.tolerance {
            Err(Duration::from_nanos(next - self.tolerance - now))
        } else {
            Ok(next)
        }
    }

    fn check(&self, key: ClientKey, now: u64) -> Result<(), Duration> {
        let shard = self.shard(&key);
        let tat = shard.map.get(&key).copied().unwrap_or(0);
        self.wait(tat, now).map(drop)
    }

    /// Takes a unit, or says how long to wait and whether this refusal
    /// starts an episode.
    fn take(&self, key: ClientKey, now: u64) -> Result<(), (Duration, bool)> {
        let mut shard = self.shard(&key);
        if now >= shard.next_sweep {
            shard.map.retain(|_, tat| *tat > now);
            shard.map.shrink_to(self.shard_max / 4);
            shard.refusing.retain(|_, until| *until > now);
            shard.refusing.shrink_to(self.shard_max / 4);
            shard.next_sweep = now + SWEEP_EVERY.as_nanos() as u64;
        }
        if let Some(tat) = shard.map.get_mut(&key) {
            match self.wait(*tat, now) {
                Ok(next) => *tat = next,
                Err(wait) => {
                    let until = now + wait.as_nanos() as u64;
                    let first = shard.refusing.get(&key).is_none_or(|&u| u <= now);
                    // Bounded as the budgets are; a client not kept may be
                    // reported again.
                    if shard.refusing.len() < self.shard_max || !first {
                        shard.refusing.insert(key, until);
                    }
                    return Err((wait, first));
                }
            }
            return Ok(());
        }
        let tat = self.wait(0, now).map_err(|wait| (wait, true))?;
        if shard.map.len() >= self.shard_max {
            self.make_room(&mut shard, now);
        }
        shard.map.insert(key, tat);
        Ok(())
    }

    /// A full shard forgets the clients whose budget is whole again, then,
    /// if still over three quarters full, those with the least debt, down to
    /// three quarters (so this runs at most once per quarter of inserts).
    fn make_room(&self, shard: &mut Shard, now: u64) {
        shard.map.retain(|_, tat| *tat > now);
        let keep = self.shard_max * 3 / 4;
        let excess = shard.map.len().saturating_sub(keep);
        if excess == 0 {
            return;
        }
        let mut tats: Vec<u64> = shard.map.values().copied().collect();
        let (below, &mut threshold, _) = tats.select_nth_unstable(excess - 1);
        let mut ties = excess - below.iter().filter(|t| **t < threshold).count();
        shard.map.retain(|_, tat| {
            if *tat < threshold {
                false
            } else if *tat == threshold && ties > 0 {
                ties -= 1;
                false
            } else {
                true
            }
        });
        tracing::warn!(
            forgotten = excess,
            "too many clients with failed authentications to track: forgot those with the fewest"
        );
    }

    fn refund(&self, key: ClientKey, now: u64) {
        let mut shard = self.shard(&key);
        if let Some(tat) = shard.map.get_mut(&key) {
            *tat = tat.saturating_sub(self.interval);
            if *tat <= now {
                shard.map.remove(&key);
            }
        }
    }
}

/// Whole seconds for `Retry-After`, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn failures_beyond_the_burst_are_blocked_per_client() {
        let t = AuthThrottle::new(60, 3, None);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(t.failed(a).is_ok());
        }
        let wait = t.failed(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(t.check(a).is_err());
        assert!(t.check(b).is_ok(), "other clients are not affected");
        assert!(t.failed(b).is_ok());
    }

    #[test]
    fn zero_disables_throttling() {
        let t = AuthThrottle::new(0, 0, None);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..1000 {
            assert!(t.failed(a).is_ok());
        }
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let t = AuthThrottle::new(60, 3, None);
        for i in 1..=3 {
            let ip: IpAddr = format!("2001:db8:1:2::{i}").parse().unwrap();
            assert!(t.failed(ip).is_ok());
        }
        let rotated: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        assert!(t.failed(rotated).is_err(), "same /64, same budget");
        let neighbour: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(t.check(neighbour).is_ok(), "another /64 is another client");

        let v4: IpAddr = "203.0.113.9".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        for _ in 0..3 {
            assert!(t.failed(mapped).is_ok());
        }
        assert!(t.check(v4).is_err());
        assert_eq!(ClientKey::from(mapped), ClientKey::from(v4));
    }

    #[test]
    fn a_reservation_counts_until_refunded() {
        let t = AuthThrottle::new(60, 3, None);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        // Successes give their unit back: any number of them pass.
        for _ in 0..100 {
            t.reserve(a).unwrap().refund();
        }
        assert_eq!(t.tracked(), 0, "a whole budget needs no entry");
        // Reservations not given back are failures, counted before any check ends.
        let held: Vec<_> = (0..3).map(|_| t.reserve(a).unwrap()).collect();
        assert!(t.reserve(a).is_err());
        drop(held);
        assert!(t.check(a).is_err());
    }

    fn gcra(throttle: &AuthThrottle) -> &Gcra {
        throttle.gcra.as_ref().unwrap()
    }

    #[test]
    fn entries_expire_once_the_budget_is_whole() {
        let t = AuthThrottle::new(60, 3, None);
        let g = gcra(&t);
        let sec = 1_000_000_000;
        for i in 0..1000u32 {
            g.take(ClientKey::V4(i.to_be_bytes()), 0).unwrap();
        }
        assert_eq!(t.tracked(), 1000);
        // A minute later (one failure replenishes in a second) every shard
        // sweeps on its next use; the shards left unused keep their entries
        // until then, and are bounded anyway.
        for i in 0..1000u32 {
            g.take(ClientKey::V4((i + 5000).to_be_bytes()), 61 * sec)
                .unwrap();
        }
        assert_eq!(t.tracked(), 1000, "only the new clients are left");
    }

    #[test]
    fn a_flood_of_distinct_clients_is_bounded_and_spares_the_worst() {
        let t = AuthThrottle::with_capacity(60, 3, None, 1600);
        let g = gcra(&t);
        let guesser = ClientKey::V6Net([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]);
        for _ in 0..3 {
            g.take(guesser, 0).unwrap();
        }
        for i in 0..100_000u32 {
            g.take(ClientKey::V4(i.to_be_bytes()), 0).unwrap();
            assert!(t.tracked() <= 1600);
        }
        assert!(g.take(guesser, 0).is_err(), "the most indebted are kept");
    }

    #[test]
    fn client_ip_comes_from_the_trusted_header_only() {
        let peer: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4"),
        );
        let untrusting = AuthThrottle::new(10, 10, None);
        assert_eq!(untrusting.client_ip(&h, Some(peer)), peer.ip());
        let trusting = AuthThrottle::new(10, 10, Some(HeaderName::from_static("x-forwarded-for")));
        assert_eq!(
            trusting.client_ip(&h, Some(peer)),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(trusting.client_ip(&HeaderMap::new(), Some(peer)), peer.ip());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
    }
}
