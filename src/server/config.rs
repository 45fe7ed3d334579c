//! Typed settings from flags and environment.

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::time::Duration;

/// How long a verified token is trusted without reading the database again.
pub const DEFAULT_AUTH_CACHE_TTL: Duration = Duration::from_secs(1);
/// Active tokens one user may hold (as npm).
pub const DEFAULT_MAX_ACTIVE_TOKENS_PER_USER: u32 = 1000;
/// Sign-ins that may wait for a password check before 503.
pub const DEFAULT_PASSWORD_QUEUE: usize = 32;

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Self-hosted personal access tokens with GoCD's API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How log lines (on standard error) are written: `text` for people, or
    /// `json`, one JSON object a line (timestamp, level, target, message,
    /// and the request's id and route within a request).
    #[arg(
        long,
        global = true,
        env = "TOLLGATE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

/// The format of the log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and the API (the default).
    Serve(ServeArgs),
    /// Development tools.
    Dev {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Manage users without the web UI.
    User {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Find tollgate tokens in files or standard input (`-`): prints each,
    /// masked, and exits 1 if any was found (0 if none, 2 on an error).
    Scan {
        /// Files or directories (searched recursively; `.git` and binary
        /// files are skipped), or `-` for standard input. Default: `.`.
        paths: Vec<String>,
        /// A tollgate server's base URL: the tokens found are sent to its
        /// leaked-token endpoint, which revokes them.
        #[arg(long, value_name = "URL")]
        report: Option<String>,
    },
    /// Read the audit log.
    Audit {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage access tokens without the web UI, as the operator: every
    /// user's tokens, under the rules the API applies; the audit log records
    /// `operator` by `cli`.
    #[command(after_help = TOKEN_EXIT_CODES)]
    Token {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the service scopes tokens can be granted (see `/go/auth/verify`).
    Scope {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: ScopeCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the audit events to standard output, oldest first, one JSON
    /// object a line.
    Export {
        /// Only events at or after this date (2026-12-01) or time
        /// (2026-12-01T10:00:00Z).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
}

/// How `audit export` writes events.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object a line.
    Jsonl,
}

/// The exit codes of `tollgate token ...`, for scripts.
pub const TOKEN_EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  an error: an unknown token or user, a request the rules refuse, the database
  2  a usage error (an unknown option, a missing or malformed argument)
  3  revoke: the token was revoked already";

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List tokens, newest first (`--state revoked`: newest revocation
    /// first). They are read and written one at a time, so any number can
    /// be listed; the count goes to standard error. An error part-way stops
    /// the list (a JSON array is left unclosed) with exit code 1.
    #[command(after_help = TOKEN_EXIT_CODES)]
    List {
        /// Only this user's tokens.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Which tokens, by state.
        #[arg(long, value_enum, default_value_t = TokenState::Active)]
        state: TokenState,
        /// How they are written (JSON: the REST API's fields).
        #[arg(long, value_enum, default_value_t = TokenListFormat::Table)]
        format: TokenListFormat,
    },
    /// Revoke anyone's token. Running servers stop accepting it at once on
    /// PostgreSQL, within their `--auth-cache-ttl-ms` on SQLite.
    #[command(after_help = TOKEN_EXIT_CODES)]
    Revoke {
        /// The token's id (as `token list` shows it).
        id: i64,
        /// Why: shown with the token and recorded in the audit log.
        #[arg(long)]
        cause: String,
    },
    /// Break-glass: create a token for a user. The token alone is written to
    /// standard output, once (it is never stored); what it is, to standard
    /// error.
    #[command(after_help = TOKEN_EXIT_CODES)]
    Create {
        /// Its owner: an enabled user.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// What it is for (at most 1024 characters).
        #[arg(long)]
        description: String,
        /// What it opens: `api`, `read_api`, `introspect`, or a service
        /// scope (`NAME` or `NAME:read`). Default: `api`.
        #[arg(long, value_name = "SCOPE,...", value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// Days until it expires. Default: the maximum lifetime if there is
        /// one, else never.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
        /// A network it may be used from (`10.0.0.0/8`, `2001:db8::/32`, or
        /// an address); repeat for more. Default: anywhere.
        #[arg(long = "allowed-cidr", value_name = "CIDR")]
        allowed_cidrs: Vec<String>,
        /// The longest a token may live, in days, as `serve` takes it: a
        /// later expiry is refused, and none means this many days.
        #[arg(long, value_name = "DAYS", env = "TOLLGATE_TOKEN_MAX_LIFETIME_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        token_max_lifetime_days: Option<u32>,
        /// Active tokens one user may hold, as `serve` takes it.
        #[arg(long, value_name = "N", env = "TOLLGATE_MAX_ACTIVE_TOKENS_PER_USER", default_value_t = DEFAULT_MAX_ACTIVE_TOKENS_PER_USER, value_parser = clap::value_parser!(u32).range(1..))]
        max_active_tokens_per_user: u32,
    },
}

/// Which tokens `token list` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TokenState {
    /// Neither revoked nor expired.
    Active,
    Revoked,
    /// Past their expiry, never revoked.
    Expired,
    All,
}

/// How `token list` writes tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TokenListFormat {
    /// Aligned columns for people (times in UTC); long values are cut short.
    Table,
    /// One JSON array of tokens in the REST API's shape, one a line.
    Json,
    /// One JSON object a line, in the REST API's shape.
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Define a service scope: tokens can then be granted NAME or NAME:read.
    Add {
        name: String,
        #[arg(long)]
        description: String,
    },
    /// List the service scopes.
    List,
    /// Delete a scope: it is removed from every token, and a token left with
    /// no scope is revoked. This cannot be undone.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with generated users, tokens and audit events (for benchmarks).
    Seed {
        #[arg(long, default_value_t = 1000)]
        users: usize,
        #[arg(long, default_value_t = 1_000_000)]
        tokens: usize,
        /// Audit events, spread over the past year.
        #[arg(long, default_value_t = 0)]
        events: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input with --password-stdin,
    /// otherwise a random one is generated and printed once.
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user: their sessions end and they can no longer sign in.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a user's password (read from standard input with --password-stdin,
    /// otherwise generated and printed once).
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a user (disabling them first). This cannot be undone.
    Delete { name: String },
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// sqlite://PATH (created if absent) or postgres://...
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://data/tollgate.db"
    )]
    pub database_url: String,
    /// Largest number of pooled database connections.
    #[arg(
        long,
        global = true,
        env = "TOLLGATE_DB_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub db_max_connections: u32,
    /// Seconds to wait for a database connection before answering 503.
    #[arg(
        long,
        global = true,
        env = "TOLLGATE_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5
    )]
    pub db_acquire_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_ADDR", default_value = "127.0.0.1:8153")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// Set when a TLS-terminating proxy is in front: cookies get `Secure` and links `https`.
    #[arg(long, env = "TOLLGATE_BEHIND_TLS", default_value_t = false)]
    pub behind_tls: bool,
    /// How long a web session lasts, in hours.
    #[arg(long, env = "TOLLGATE_SESSION_TTL_HOURS", default_value_t = 168)]
    pub session_ttl_hours: u64,
    /// Seconds between writes of tokens' last-used times (kept in memory between).
    #[arg(long, env = "TOLLGATE_LAST_USED_FLUSH_SECS", default_value_t = 10)]
    pub last_used_flush_secs: u64,
    /// How long a verified token is trusted without reading the database again,
    /// in milliseconds (0: read it on every request). Revokes and user changes
    /// made through this server, or on PostgreSQL through any instance, take
    /// effect at once regardless.
    #[arg(long, env = "TOLLGATE_AUTH_CACHE_TTL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub auth_cache_ttl_ms: u64,
    /// Failed authentications (sign-in, Basic, Bearer) allowed per client IP
    /// per minute before it is refused with 429; 0 turns throttling off.
    #[arg(long, env = "TOLLGATE_AUTH_FAILURES_PER_MINUTE", default_value_t = 10)]
    pub auth_failures_per_minute: u32,
    /// Failed authentications allowed at once before throttling starts.
    #[arg(long, env = "TOLLGATE_AUTH_FAILURE_BURST", default_value_t = 20)]
    pub auth_failure_burst: u32,
    /// Header naming the client IP, set by a trusted reverse proxy
    /// (e.g. X-Forwarded-For or X-Real-IP). Unset: the peer address is used.
    #[arg(long, env = "TOLLGATE_TRUSTED_PROXY_HEADER")]
    pub trusted_proxy_header: Option<String>,
    /// Login name of the admin created on first start with no users.
    #[arg(long, env = "TOLLGATE_ADMIN_USER", default_value = "admin")]
    pub admin_user: String,
    /// Seconds a client has to send a request's headers once it connects or
    /// after its previous response: an idle keep-alive connection is closed then.
    #[arg(long, env = "TOLLGATE_HEADER_READ_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, its body included, before it is answered
    /// 408; a body that stalls this long ends the request too.
    #[arg(long, env = "TOLLGATE_REQUEST_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Client connections open at once; more wait in the listen queue until
    /// one closes.
    #[arg(long, env = "TOLLGATE_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Active (unrevoked) tokens one user may hold; creating one more is
    /// refused with 422 until one is revoked. Bounds what one user can make
    /// the database store and index.
    #[arg(long, env = "TOLLGATE_MAX_ACTIVE_TOKENS_PER_USER", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_active_tokens_per_user: u32,
    /// Where to serve Prometheus metrics (`GET /metrics`), on a listener of
    /// its own so that they are never public by accident; unset: off.
    #[arg(long, env = "TOLLGATE_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Leaked-token reports (`POST /go/api/credentials/revoke`, which needs
    /// no authentication) one client may send each hour; 0: no limit.
    #[arg(long, env = "TOLLGATE_LEAK_REPORTS_PER_HOUR", default_value_t = 60)]
    pub leak_reports_per_hour: u32,
    /// The longest a token may live, in days. Tokens created without an
    /// expiry expire after this many days, and later expiries are refused.
    /// Unset: no maximum (tokens may never expire, as in GoCD).
    #[arg(long, env = "TOLLGATE_TOKEN_MAX_LIFETIME_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub token_max_lifetime_days: Option<u32>,
    /// Days the audit log keeps its events; older ones are deleted, a batch
    /// at a time, once an hour. 0: keep them for ever.
    #[arg(long, env = "TOLLGATE_AUDIT_RETENTION_DAYS", default_value_t = 365)]
    pub audit_retention_days: u32,
    /// Password checks (argon2id, 19 MiB of memory each) run at once,
    /// server-wide; 0: one per CPU core.
    #[arg(long, env = "TOLLGATE_PASSWORD_CHECKS", default_value_t = 0)]
    pub password_checks: usize,
    /// Sign-ins that may wait (up to 2 s) for a password check; more are
    /// answered 503 with `Retry-After`.
    #[arg(long, env = "TOLLGATE_PASSWORD_QUEUE", default_value_t = DEFAULT_PASSWORD_QUEUE)]
    pub password_queue: usize,
    /// PostgreSQL only: the URL the listener for other instances' revokes
    /// connects to (`LISTEN` needs a session: point it past a
    /// transaction-pooling PgBouncer). Unset: the `--database-url`.
    #[arg(long, env = "TOLLGATE_NOTIFY_DATABASE_URL")]
    pub notify_database_url: Option<String>,
}

/// What the running app needs to know, independent of how it was told.
#[derive(Debug, Clone)]
pub struct Settings {
    pub behind_tls: bool,
    pub session_ttl: Duration,
    pub last_used_flush: Duration,
    pub auth_cache_ttl: Duration,
    pub auth_failures_per_minute: u32,
    pub auth_failure_burst: u32,
    pub trusted_proxy_header: Option<String>,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub max_active_tokens_per_user: u32,
    /// The longest a token may live, in days; `None`: no maximum.
    pub token_max_lifetime_days: Option<u32>,
    /// Leaked-token reports per client and hour; 0: no limit.
    pub leak_reports_per_hour: u32,
    /// Days audit events are kept; 0: for ever.
    pub audit_retention_days: u32,
    /// Whether requests are measured for Prometheus (`--metrics-addr`).
    pub metrics: bool,
    /// Argon2 computations at once; 0: one per core.
    pub password_checks: usize,
    /// Sign-ins waiting for a password check before 503.
    pub password_queue: usize,
    /// Where the PostgreSQL listener connects; `None`: the database URL.
    pub notify_database_url: Option<SecretString>,
}

impl Settings {
    /// `http://host` as the client addressed us, for HAL links.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost");
        let scheme = if self.behind_tls { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            behind_tls: false,
            session_ttl: Duration::from_secs(168 * 3600),
            last_used_flush: Duration::from_secs(10),
            auth_cache_ttl: DEFAULT_AUTH_CACHE_TTL,
            auth_failures_per_minute: 10,
            auth_failure_burst: 20,
            trusted_proxy_header: None,
            header_read_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_active_tokens_per_user: DEFAULT_MAX_ACTIVE_TOKENS_PER_USER,
            token_max_lifetime_days: None,
            leak_reports_per_hour: 60,
            audit_retention_days: 365,
            metrics: false,
            password_checks: 0,
            password_queue: DEFAULT_PASSWORD_QUEUE,
            notify_database_url: None,
        }
    }
}

impl From<&ServeArgs> for Settings {
    fn from(args: &ServeArgs) -> Self {
        Settings {
            behind_tls: args.behind_tls,
            session_ttl: Duration::from_secs(args.session_ttl_hours.max(1) * 3600),
            last_used_flush: Duration::from_secs(args.last_used_flush_secs.max(1)),
            auth_cache_ttl: Duration::from_millis(args.auth_cache_ttl_ms),
            auth_failures_per_minute: args.auth_failures_per_minute,
            auth_failure_burst: args.auth_failure_burst,
            trusted_proxy_header: args.trusted_proxy_header.clone(),
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
            max_connections: args.max_connections.max(1) as usize,
            max_active_tokens_per_user: args.max_active_tokens_per_user,
            token_max_lifetime_days: args.token_max_lifetime_days,
            leak_reports_per_hour: args.leak_reports_per_hour,
            audit_retention_days: args.audit_retention_days,
            metrics: args.metrics_addr.is_some(),
            password_checks: args.password_checks,
            password_queue: args.password_queue,
            notify_database_url: args
                .notify_database_url
                .clone()
                .filter(|u| !u.is_empty())
                .map(SecretString::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_is_accepted_before_or_after_any_command() {
        let format = |args: &[&str]| Cli::try_parse_from(args).map(|c| c.log_format);
        assert_eq!(
            format(&["tollgate", "--log-format", "json"]).unwrap(),
            LogFormat::Json
        );
        assert_eq!(
            format(&["tollgate", "serve", "--log-format", "json"]).unwrap(),
            LogFormat::Json
        );
        assert_eq!(
            format(&["tollgate", "user", "list", "--log-format", "text"]).unwrap(),
            LogFormat::Text
        );
        assert!(format(&["tollgate", "--log-format", "yaml"]).is_err());
    }
}
