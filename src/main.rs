//! Thin: the command line (which sets up logging) does the rest.

/// mimalloc returns freed memory to the system: after a flood of sign-ins
/// (argon2 takes 19 MiB per check, allocated and freed on worker threads)
/// glibc's per-thread arenas kept it all.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    tollgate::server::cli::main().await
}

/// The client-only dev loop (`trunk serve`, feature `csr`) mounts the app itself.
#[cfg(all(feature = "csr", not(feature = "ssr")))]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(tollgate::app::App);
}

#[cfg(not(any(feature = "ssr", feature = "csr")))]
fn main() {}
