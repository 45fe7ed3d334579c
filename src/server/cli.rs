//! The command line: `serve` (the default), and `user ...`, `token ...`
//! (in `cli_tokens`), `scope ...` and `audit ...` for operators.

use crate::server::auth_cache::AuthCache;
use crate::server::cli_tokens::{self, Failure};
use crate::server::config::{
    AuditCommand, Cli, Command, DevCommand, ExportFormat, LogFormat, ScopeCommand, ServeArgs,
    Settings, UserCommand,
};
use crate::server::db;
use crate::server::scopes;
use crate::server::startup::Application;
use crate::server::users::service::{self, NewUser, UserPatch};
use crate::server::users::{password, Actor};
use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use std::io::BufRead;
use std::process::ExitCode;

/// The binary: parses the command line, sets up logging, runs the command.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::server::logging::init(cli.log_format);
    let command = match cli.command {
        Some(c) => c,
        None => match Cli::parse_from(["tollgate", "serve"]).command {
            Some(c) => c,
            None => unreachable!("serve parses"),
        },
    };
    if let Command::Scan { paths, report } = &command {
        return crate::server::scan::run(paths, report.as_deref());
    }
    let result = match command {
        Command::Serve(args) => serve(args).await.map_err(Failure::from),
        Command::User { db, command } => user(db, command).await.map_err(Failure::from),
        Command::Dev { db, command } => dev(db, command).await.map_err(Failure::from),
        Command::Scope { db, command } => scope(db, command).await.map_err(Failure::from),
        Command::Audit { db, command } => audit_command(db, command).await.map_err(Failure::from),
        Command::Token { db, command } => cli_tokens::run(db, command).await,
        Command::Scan { .. } => unreachable!("scanned above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => {
            match cli.log_format {
                LogFormat::Text => eprintln!("tollgate: {message}"),
                // Standard error holds JSON lines only.
                LogFormat::Json => tracing::error!(error = %message, "tollgate failed"),
            }
            ExitCode::from(code)
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let db = db::connect(&args.db).await.map_err(|e| e.to_string())?;
    let admin_password = std::env::var("TOLLGATE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    match service::bootstrap_admin(&db, &args.admin_user, admin_password).await {
        Ok(Some((user, generated))) => {
            println!("Created the admin user '{}'.", user.login_name);
            if let Some(p) = generated {
                println!(
                    "Its password, shown only this once: {}\n(set TOLLGATE_ADMIN_PASSWORD before the first start to choose it)",
                    p.expose_secret()
                );
            }
        }
        Ok(None) => {}
        Err(e) => return Err(format!("cannot create the admin user: {e}")),
    }
    if !crate::server::assets::has_bundle() {
        tracing::warn!("this binary has no embedded WASM bundle: pages render but will not be interactive (build with `make build`)");
    }
    let app = Application::build(db.clone(), Settings::from(&args));
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("tollgate listening on http://{local}");
    println!("tollgate is serving on http://{local}");
    if let Some(addr) = args.metrics_addr {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
        let router = crate::server::metrics_http::router(app.state.clone());
        tracing::info!("metrics on http://{addr}/metrics");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    db.pool.close().await;
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, let requests in flight finish.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn dev(db_args: crate::server::config::DbArgs, command: DevCommand) -> Result<(), String> {
    let db = db::connect(&db_args).await.map_err(|e| e.to_string())?;
    let result = match command {
        DevCommand::Seed {
            users,
            tokens,
            events,
        } => {
            let started = std::time::Instant::now();
            let r = crate::server::dev::seed(&db, users, tokens, events).await;
            if r.is_ok() {
                println!(
                    "Seeded {users} users, {tokens} tokens and {events} audit events in {:.1} s.",
                    started.elapsed().as_secs_f64()
                );
            }
            r
        }
    };
    db.pool.close().await;
    result.map_err(|e| e.to_string())
}

/// `tollgate audit export`: every event since `--since`, oldest first, read
/// a batch at a time, one JSON object a line on standard output; the count
/// on standard error.
async fn audit_command(
    db_args: crate::server::config::DbArgs,
    command: AuditCommand,
) -> Result<(), String> {
    use std::io::Write;
    let AuditCommand::Export { since, format } = command;
    let since = since
        .map(|s| crate::server::audit::parse_time("since", &s, false))
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or(i64::MIN);
    let db = db::connect(&db_args).await.map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut after, mut written) = (0, 0u64);
    loop {
        let rows = crate::server::audit::repo::export(&db, after, since, 1000)
            .await
            .map_err(|e| format!("cannot read the audit log: {e}"))?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            match format {
                ExportFormat::Jsonl => serde_json::to_writer(&mut out, &row.view())
                    .map_err(|e| format!("cannot write: {e}"))?,
            }
            out.write_all(b"\n")
                .map_err(|e| format!("cannot write: {e}"))?;
            written += 1;
        }
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    db.pool.close().await;
    eprintln!("Exported {written} audit events.");
    Ok(())
}

fn read_password_stdin() -> Result<SecretString, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(SecretString::from(p))
}

fn password_or_generated(from_stdin: bool) -> Result<(SecretString, bool), String> {
    if from_stdin {
        Ok((read_password_stdin()?, false))
    } else {
        Ok((password::generate(), true))
    }
}

async fn user(db_args: crate::server::config::DbArgs, command: UserCommand) -> Result<(), String> {
    let db = db::connect(&db_args).await.map_err(|e| e.to_string())?;
    let op = Actor::Operator;
    // No verified token is cached here; a change still tells running
    // instances on PostgreSQL (`NOTIFY`), which empty theirs.
    let cache = AuthCache::default();
    let result = match command {
        UserCommand::Add {
            name,
            admin,
            display_name,
            email,
            password_stdin,
        } => {
            let (password, generated) = password_or_generated(password_stdin)?;
            let new = NewUser {
                login_name: name,
                display_name,
                email,
                email_me: false,
                checkin_aliases: vec![],
                password: Some(password.clone()),
                admin,
                enabled: true,
            };
            service::create(&db, &op, new).await.map(|u| {
                println!(
                    "Added user '{}'{}.",
                    u.login_name,
                    if u.is_admin { " (admin)" } else { "" }
                );
                if generated {
                    println!(
                        "Password, shown only this once: {}",
                        password.expose_secret()
                    );
                }
            })
        }
        UserCommand::List => service::list(&db, &op).await.map(|users| {
            println!(
                "{:<24} {:<32} {:<6} {:<8}",
                "LOGIN", "DISPLAY NAME", "ADMIN", "ENABLED"
            );
            for u in users {
                println!(
                    "{:<24} {:<32} {:<6} {:<8}",
                    u.login_name,
                    u.display_name,
                    if u.is_admin { "yes" } else { "no" },
                    if u.enabled { "yes" } else { "no" }
                );
            }
        }),
        UserCommand::Disable { name } => set_enabled(&db, &cache, &op, &name, false).await,
        UserCommand::Enable { name } => set_enabled(&db, &cache, &op, &name, true).await,
        UserCommand::Password {
            name,
            password_stdin,
        } => {
            let (password, generated) = password_or_generated(password_stdin)?;
            let patch = UserPatch {
                password: Some(password.clone()),
                ..UserPatch::default()
            };
            service::update(&db, &cache, &op, &name, patch)
                .await
                .map(|u| {
                    println!("Set the password of '{}'.", u.login_name);
                    if generated {
                        println!(
                            "New password, shown only this once: {}",
                            password.expose_secret()
                        );
                    }
                })
        }
        UserCommand::Delete { name } => {
            let disabled = set_enabled(&db, &cache, &op, &name, false).await;
            match disabled {
                Ok(()) => service::delete(&db, &cache, &op, &name)
                    .await
                    .map(|(u, n)| {
                        println!(
                            "Deleted user '{}' and revoked {n} active token(s).",
                            u.login_name
                        )
                    }),
                Err(e) => Err(e),
            }
        }
    };
    db.pool.close().await;
    result.map_err(|e| e.to_string())
}

async fn scope(
    db_args: crate::server::config::DbArgs,
    command: ScopeCommand,
) -> Result<(), String> {
    let db = db::connect(&db_args).await.map_err(|e| e.to_string())?;
    let op = Actor::Operator;
    let result = match command {
        ScopeCommand::Add { name, description } => scopes::add(&db, &op, &name, &description)
            .await
            .map(|s| println!("Added scope '{}'.", s.name)),
        ScopeCommand::List => scopes::list(&db, &op).await.map(|list| {
            println!("{:<32} DESCRIPTION", "NAME");
            for s in list {
                println!("{:<32} {}", s.name, s.description);
            }
        }),
        ScopeCommand::Delete { name } => {
            // No verified token is cached here; running instances on
            // PostgreSQL are told (`NOTIFY`).
            let cache = AuthCache::default();
            scopes::delete(&db, &cache, &op, &name).await.map(|d| {
                println!(
                    "Deleted scope '{}': removed from {} token(s), {} revoked (no scope left).",
                    d.scope.name, d.tokens, d.revoked
                )
            })
        }
    };
    db.pool.close().await;
    result.map_err(|e| e.to_string())
}

async fn set_enabled(
    db: &db::Db,
    cache: &AuthCache,
    op: &Actor,
    name: &str,
    enabled: bool,
) -> Result<(), crate::server::error::ServiceError> {
    let patch = UserPatch {
        enabled: Some(enabled),
        ..UserPatch::default()
    };
    let u = service::update(db, cache, op, name, patch).await?;
    println!(
        "User '{}' is now {}.",
        u.login_name,
        if u.enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}
