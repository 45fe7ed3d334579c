//! `tollgate token ...`: the operator's token commands. Each goes through
//! the tokens service, as the API does, with the operator as the actor: the
//! same rules, and the audit log records `operator` by `cli`. Output for
//! scripts goes to standard output (a new token alone on its line, the
//! list); everything said to people goes to standard error. The exit codes
//! are [`crate::server::config::TOKEN_EXIT_CODES`].

use crate::model::{TokenFilter, TokenView};
use crate::server::auth_cache::AuthCache;
use crate::server::config::{
    DbArgs, TokenCommand, TokenListFormat, TokenState, DEFAULT_MAX_ACTIVE_TOKENS_PER_USER,
};
use crate::server::db;
use crate::server::error::{invalid_sentence, ServiceError};
use crate::server::identity::Actor;
use crate::server::time::{iso, now_millis, DAY_MILLIS};
use crate::server::tokens::service::TokenRequest;
use crate::server::tokens::Tokens;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

/// Exit code: an error (an unknown token or user, a refusal, the database).
pub const EXIT_ERROR: u8 = 1;
/// Exit code of `token revoke` when the token was revoked already.
pub const EXIT_ALREADY_REVOKED: u8 = 3;

/// A command that failed: what to tell the operator, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn error(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: EXIT_ERROR,
        }
    }

    fn service(e: ServiceError) -> Failure {
        Failure::error(describe(&e))
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::error(message)
    }
}

/// A service error as a sentence for the operator: a refused field is named
/// by its option, and a database error says what the database said.
fn describe(e: &ServiceError) -> String {
    let option = |field: &str| match field {
        "description" => Some("--description"),
        "scopes" => Some("--scopes"),
        "expires_at" => Some("--expires-in-days"),
        "allowed_cidrs" => Some("--allowed-cidr"),
        "revoke_cause" => Some("--cause"),
        _ => None,
    };
    match e {
        ServiceError::Invalid { field, message } => match option(field) {
            Some(option) => format!("{option}: {message}"),
            None => invalid_sentence(field, message),
        },
        ServiceError::Database(source) | ServiceError::Unavailable(source) => {
            format!("{e} ({source})")
        }
        _ => e.to_string(),
    }
}

/// Runs one `tollgate token ...` command.
pub async fn run(db_args: DbArgs, command: TokenCommand) -> Result<(), Failure> {
    let (max_days, max_active) = match &command {
        TokenCommand::Create {
            token_max_lifetime_days,
            max_active_tokens_per_user,
            ..
        } => (*token_max_lifetime_days, *max_active_tokens_per_user),
        _ => (None, DEFAULT_MAX_ACTIVE_TOKENS_PER_USER),
    };
    let db = db::connect(&db_args)
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    // No verified token is cached here; a revoke still tells running
    // instances on PostgreSQL (`NOTIFY`), which empty theirs.
    let tokens = Tokens::new(db.clone(), Arc::new(AuthCache::default()))
        .with_max_lifetime_days(max_days)
        .with_max_active_per_user(max_active);
    let op = Actor::Operator;
    let result = match command {
        TokenCommand::List {
            user,
            state,
            format,
        } => list(&tokens, &op, user.as_deref(), state, format).await,
        TokenCommand::Revoke { id, cause } => revoke(&tokens, &op, id, &cause).await,
        TokenCommand::Create {
            user,
            description,
            scopes,
            expires_in_days,
            allowed_cidrs,
            ..
        } => {
            let ask = TokenRequest {
                description,
                scopes,
                expires_at: expires_in_days
                    .map(|days| iso(now_millis() + i64::from(days) * DAY_MILLIS)),
                allowed_cidrs: (!allowed_cidrs.is_empty()).then_some(allowed_cidrs),
            };
            create(&tokens, &op, &user, &ask).await
        }
    };
    db.pool.close().await;
    result
}

/// `token create`: the token alone on standard output; what it is on
/// standard error.
async fn create(
    tokens: &Tokens,
    op: &Actor,
    user: &str,
    ask: &TokenRequest,
) -> Result<(), Failure> {
    let (token, plain) = tokens
        .create_for(op, user, ask)
        .await
        .map_err(Failure::service)?;
    let v = token.view();
    eprintln!(
        "Created access token {} for '{}': scopes {}, expires {}, usable from {}.",
        v.id,
        v.username,
        v.scopes.join(","),
        v.expires_at.as_deref().unwrap_or("never"),
        if v.allowed_cidrs.is_empty() {
            "anywhere".to_string()
        } else {
            v.allowed_cidrs.join(", ")
        }
    );
    eprintln!("It is shown only this once, on standard output:");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", plain.expose())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::error(format!("cannot write the token: {e}")))
}

/// `token revoke`: anyone's token; revoked already is [`EXIT_ALREADY_REVOKED`].
async fn revoke(tokens: &Tokens, op: &Actor, id: i64, cause: &str) -> Result<(), Failure> {
    match tokens.revoke_any(op, id, Some(cause)).await {
        Ok(t) => {
            println!(
                "Revoked access token {} of '{}' ({}).",
                t.id,
                t.username,
                one_line(&t.description)
            );
            Ok(())
        }
        Err(ServiceError::Conflict(message)) => Err(Failure {
            message: format!("access token {id}: {message}"),
            code: EXIT_ALREADY_REVOKED,
        }),
        Err(e) => Err(Failure::service(e)),
    }
}

/// Why writing the list stopped early.
enum ListError {
    Service(ServiceError),
    Write(std::io::Error),
}

impl From<std::io::Error> for ListError {
    fn from(e: std::io::Error) -> Self {
        ListError::Write(e)
    }
}

/// `token list`: read and written a token at a time, in constant memory.
async fn list(
    tokens: &Tokens,
    op: &Actor,
    user: Option<&str>,
    state: TokenState,
    format: TokenListFormat,
) -> Result<(), Failure> {
    let filter = match state {
        TokenState::Active => TokenFilter::Active,
        TokenState::Revoked => TokenFilter::Revoked,
        TokenState::Expired => TokenFilter::Expired,
        TokenState::All => TokenFilter::All,
    };
    let rows = tokens
        .all_for(op, filter, user)
        .await
        .map_err(Failure::service)?;
    let progress = Progress::new();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let mut written = 0u64;
    let result = write_list(rows, format, &mut out, &mut written, &progress).await;
    progress.finish();
    match result {
        Ok(()) => {
            eprintln!(
                "{written} access token{} listed.",
                if written == 1 { "" } else { "s" }
            );
            Ok(())
        }
        // The reader went away (`| head`): nothing more to say to anyone.
        Err(ListError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(ListError::Write(e)) => Err(Failure::error(format!("cannot write: {e}"))),
        // The output stops where the error came: a JSON array is left
        // unclosed, so that no reader takes it for the whole list.
        Err(ListError::Service(e)) => Err(Failure::error(format!(
            "the list stopped after {written} tokens: {}",
            describe(&e)
        ))),
    }
}

async fn write_list(
    rows: impl futures_util::Stream<Item = Result<crate::server::tokens::AccessToken, ServiceError>>,
    format: TokenListFormat,
    out: &mut impl Write,
    written: &mut u64,
    progress: &Progress,
) -> Result<(), ListError> {
    let mut rows = std::pin::pin!(rows);
    match format {
        TokenListFormat::Table => writeln!(out, "{}", table_header())?,
        TokenListFormat::Json => write!(out, "[")?,
        TokenListFormat::Jsonl => {}
    }
    while let Some(row) = rows.next().await {
        let view = row.map_err(ListError::Service)?.view();
        match format {
            TokenListFormat::Table => writeln!(out, "{}", table_row(&view))?,
            TokenListFormat::Json => {
                out.write_all(if *written == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, &json(&view)).map_err(std::io::Error::from)?;
            }
            TokenListFormat::Jsonl => {
                serde_json::to_writer(&mut *out, &json(&view)).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
            }
        }
        *written += 1;
        progress.set(*written);
    }
    if format == TokenListFormat::Json {
        out.write_all(if *written == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()?;
    Ok(())
}

/// A token as the REST API writes it (`TokenView`), without the HAL links
/// and the pages' `expires_soon`.
fn json(view: &TokenView) -> serde_json::Value {
    let mut v = serde_json::to_value(view).unwrap_or_default();
    if let Some(fields) = v.as_object_mut() {
        fields.remove("expires_soon");
    }
    v
}

/// The table's columns and their widths (the last one is not padded).
const TABLE: [(&str, usize); 8] = [
    ("ID", 8),
    ("USER", 16),
    ("DESCRIPTION", 32),
    ("SCOPES", 20),
    ("CREATED", 16),
    ("LAST USED", 16),
    ("EXPIRES", 16),
    ("STATE", 7),
];

fn table_header() -> String {
    table_line(TABLE.map(|(name, _)| name.to_string()))
}

fn table_row(t: &TokenView) -> String {
    let state = if t.revoked {
        "revoked"
    } else if t.expired {
        "expired"
    } else {
        "active"
    };
    table_line([
        t.id.to_string(),
        t.username.clone(),
        one_line(&t.description),
        t.scopes.join(","),
        minute(Some(&t.created_at), "-"),
        minute(t.last_used_at.as_deref(), "never"),
        minute(t.expires_at.as_deref(), "never"),
        state.to_string(),
    ])
}

/// The cells, each cut to its column's width (`…` marks a cut), padded, and
/// two spaces apart; ids are never cut.
fn table_line(cells: [String; 8]) -> String {
    let mut line = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(TABLE).enumerate() {
        let last = i + 1 == TABLE.len();
        let text = if i == 0 {
            cell.clone()
        } else {
            cut(cell, width)
        };
        if last {
            line.push_str(&text);
        } else {
            let pad = width.saturating_sub(text.chars().count());
            line.push_str(&text);
            line.extend(std::iter::repeat_n(' ', pad + 2));
        }
    }
    line
}

/// At most `width` characters: longer text keeps `width - 1` and `…`.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Text on one line: line breaks, tabs and other controls become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `2026-01-31T10:45:10Z` as `2026-01-31 10:45` (UTC), or `none`.
fn minute(iso: Option<&str>, none: &str) -> String {
    match iso {
        Some(t) if t.len() >= 16 => t[..16].replacen('T', " ", 1),
        Some(t) => t.to_string(),
        None => none.to_string(),
    }
}

/// A count of the tokens listed, on standard error while the list goes
/// elsewhere: shown only when standard error is a terminal and standard
/// output is not (on a terminal, the rows themselves show the progress).
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new() -> Progress {
        let shown = std::io::stderr().is_terminal() && !std::io::stdout().is_terminal();
        Progress(shown.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {human_pos} access tokens listed ({elapsed})",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }))
    }

    fn set(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::TOKEN_EXIT_CODES;

    #[test]
    fn the_table_cuts_long_cells_keeps_rows_on_one_line_and_columns_aligned() {
        let mut t = crate::server::tokens::AccessToken::sample().view();
        t.id = 7;
        t.description = format!("first line\nsecond\t{}", "x".repeat(40));
        t.username = "a-very-long-user-name-indeed".into();
        t.created_at = "2026-01-31T10:45:10Z".into();
        t.expires_at = None;
        let row = table_row(&t);
        assert!(!row.contains('\n') && !row.contains('\t'), "{row}");
        // Each column starts under its header.
        let header = table_header();
        let column = |line: &str, at: usize| -> String {
            let rest: String = line.chars().skip(at).collect();
            rest.split("  ").next().unwrap().trim().to_string()
        };
        let starts: Vec<usize> = TABLE
            .iter()
            .map(|(name, _)| header[..header.find(name).unwrap()].chars().count())
            .collect();
        let cells: Vec<String> = starts.iter().map(|&at| column(&row, at)).collect();
        assert_eq!(
            cells,
            [
                "7",
                "a-very-long-use…",
                &format!("first line second {}…", "x".repeat(13)),
                "api",
                "2026-01-31 10:45",
                "never",
                "never",
                "active",
            ],
            "{header}\n{row}"
        );
        // A longer id is never cut (the rest of its line shifts).
        t.id = 123_456_789_012;
        assert!(table_row(&t).starts_with("123456789012 "));
    }

    #[test]
    fn exit_codes_are_documented() {
        for code in [0, EXIT_ERROR, 2, EXIT_ALREADY_REVOKED] {
            assert!(TOKEN_EXIT_CODES.contains(&format!("  {code}  ")));
        }
    }

    #[test]
    fn json_is_the_rest_apis_shape() {
        let v = json(&crate::server::tokens::AccessToken::sample().view());
        assert!(v.get("expires_soon").is_none());
        for field in [
            "id",
            "description",
            "username",
            "revoked",
            "revoke_cause",
            "scopes",
        ] {
            assert!(v.get(field).is_some(), "{field}");
        }
    }
}
