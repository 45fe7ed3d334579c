//! Thin: tracing, then the command line.

/// mimalloc returns freed memory to the system: after a flood of sign-ins
/// (argon2 takes 19 MiB per check, allocated and freed on worker threads)
/// glibc's per-thread arenas kept it all.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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
