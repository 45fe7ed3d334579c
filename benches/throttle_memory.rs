//! Memory of the failed-authentication throttle under a flood of distinct
//! client addresses (issue 11, item 4): one failure each from 1,000,000
//! IPv4 addresses, then from 1,000,000 IPv6 /64 networks, with the default
//! budget (10 a minute, burst 20). Counts the bytes the throttle allocates
//! (a counting global allocator) and reads the process's RSS.
//!
//!   cargo bench --features ssr --bench throttle_memory
//!
//! Fails (exit 1) if the throttle ever holds 50 MB or more.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use tollgate::server::throttle::{AuthThrottle, TRACKED_MAX};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    const LIMIT: usize = 50 * 1000 * 1000;
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let rss_before = rss_kib();
    let throttle = AuthThrottle::new(10, 20, None);
    let started = std::time::Instant::now();
    for i in 0..1_000_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i));
        let _ = throttle.failed(ip);
    }
    let v4_live = LIVE.load(Ordering::Relaxed) - before;
    for i in 0..1_000_000u64 {
        let net = (0x2001_0db8_u64 << 32) | i;
        let ip = IpAddr::V6(Ipv6Addr::from((u128::from(net) << 64) | 1));
        let _ = throttle.failed(ip);
    }
    let elapsed = started.elapsed();
    let live = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    println!(
        "2,000,000 distinct clients (1M IPv4, 1M IPv6 /64), one failure each, in {elapsed:.2?}"
    );
    println!(
        "clients tracked: {} (bound {TRACKED_MAX})",
        throttle.tracked()
    );
    println!(
        "throttle heap after 1M IPv4: {:.1} MB",
        v4_live as f64 / 1e6
    );
    println!(
        "throttle heap at the end: {:.1} MB, peak {:.1} MB",
        live as f64 / 1e6,
        peak as f64 / 1e6
    );
    println!(
        "process RSS: {} KiB before, {} KiB after",
        rss_before,
        rss_kib()
    );
    if peak >= LIMIT {
        eprintln!("FAIL: the throttle held {peak} bytes, limit {LIMIT}");
        std::process::exit(1);
    }
}
