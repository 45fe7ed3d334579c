//! `tollgate token ...`: the real binary, as an operator runs it, on the
//! test app's database. What it does is checked through the REST API and
//! the audit log, as a user or an auditor would see it.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tollgate::server::time::{now_millis, parse_iso, DAY_MILLIS};

/// What a run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The JSON of `--format json`.
    fn json(&self) -> Vec<Value> {
        match serde_json::from_str(&self.stdout) {
            Ok(Value::Array(items)) => items,
            other => panic!("not a JSON array: {other:?}\n{}", self.stdout),
        }
    }

    /// The JSON lines of `--format jsonl`.
    fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `tollgate ARGS` on the app's database (`DATABASE_URL`), with nothing of
/// the test's environment that would change the rules.
async fn tollgate(app: &TestApp, args: &[&str]) -> Run {
    tollgate_with(app, args, &[]).await
}

async fn tollgate_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .env("DATABASE_URL", &app.db_args.database_url)
        .env_remove("TOLLGATE_TOKEN_MAX_LIFETIME_DAYS")
        .env_remove("TOLLGATE_MAX_ACTIVE_TOKENS_PER_USER")
        .env_remove("TOLLGATE_LOG_FORMAT")
        .env("TOLLGATE_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// An app that reads every presented token from the database, so that a
/// revoke made by another process is seen at once on SQLite too.
async fn app() -> TestApp {
    TestApp::with_settings(Settings {
        auth_cache_ttl: Duration::ZERO,
        ..Settings::default()
    })
    .await
}

/// The audit log's token events: (actor, actor_method, action, token id).
async fn token_events(app: &TestApp) -> Vec<(String, String, String, Option<i64>)> {
    sqlx::query_as(
        "SELECT actor, actor_method, action, target_token_id FROM audit_log \
         WHERE action LIKE 'token.%' ORDER BY id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

fn event(
    actor: &str,
    method: &str,
    action: &str,
    id: i64,
) -> (String, String, String, Option<i64>) {
    (actor.into(), method.into(), action.into(), Some(id))
}

async fn token_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// A token as the admin REST API shows it, without its links.
async fn rest_view(app: &TestApp, id: i64) -> Value {
    let res = app.admin_show_token(&Auth::admin(), id).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let mut v = res.json();
    v.as_object_mut().unwrap().remove("_links");
    v
}

#[tokio::test]
async fn create_prints_a_working_token_alone_and_the_audit_log_names_the_operator() {
    let app = app().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let run = tollgate(
        &app,
        &[
            "token",
            "create",
            "--user",
            "alice",
            "--description",
            "deploy bot",
            "--scopes",
            "api,read_api",
            "--expires-in-days",
            "30",
            "--allowed-cidr",
            "127.0.0.0/8",
            "--allowed-cidr",
            "::1",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    // The token, alone on its line: a script takes standard output whole.
    assert_eq!(run.lines().len(), 1, "{run:?}");
    let token = run.stdout.trim_end().to_string();
    assert!(!token.contains(' '), "{run:?}");
    let me = app.me(&token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["login_name"], "alice");

    let id = app
        .list_tokens(&Auth::basic("alice", USER_PASSWORD), None)
        .await
        .ids()[0];
    assert!(
        run.stderr
            .contains(&format!("Created access token {id} for 'alice'")),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains(&token),
        "the secret only on standard output"
    );
    let t = rest_view(&app, id).await;
    assert_eq!(t["username"], "alice");
    assert_eq!(t["description"], "deploy bot");
    assert_eq!(t["scopes"], json!(["api", "read_api"]));
    assert_eq!(t["allowed_cidrs"], json!(["127.0.0.0/8", "::1/128"]));
    let expires = parse_iso(t["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires - now_millis()) as f64 / DAY_MILLIS as f64;
    assert!((29.9..=30.0).contains(&days), "{days}");

    // The operator's doing, by the command line.
    assert_eq!(
        token_events(&app).await,
        [event("operator", "cli", "token.created", id)]
    );

    // Its networks hold: the same token from elsewhere is refused.
    let run = tollgate(
        &app,
        &[
            "token",
            "create",
            "--user",
            "alice",
            "--description",
            "office only",
            "--allowed-cidr",
            "10.0.0.0/8",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let res = app.me(run.stdout.trim_end()).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert!(res.message().contains("not allowed from"), "{}", res.text());
}

#[tokio::test]
async fn create_follows_the_lifetime_policy_and_the_cap() {
    let app = app().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let create = |extra: &'static [&'static str]| {
        let mut args = vec!["token", "create", "--user", "alice", "--description", "d"];
        args.extend_from_slice(extra);
        args
    };

    // No expiry asked: the maximum, given as a flag or as `serve` takes it.
    let run = tollgate(&app, &create(&["--token-max-lifetime-days", "7"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = tollgate_with(
        &app,
        &create(&[]),
        &[("TOLLGATE_TOKEN_MAX_LIFETIME_DAYS", "7")],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let list = tollgate(&app, &["token", "list", "--format", "json"]).await;
    let tokens = list.json();
    assert_eq!(tokens.len(), 2, "{list:?}");
    for t in &tokens {
        let expires = parse_iso(t["expires_at"].as_str().unwrap()).unwrap();
        let days = (expires - now_millis()) as f64 / DAY_MILLIS as f64;
        assert!((6.9..=7.0).contains(&days), "{days}");
    }
    // Longer than the maximum: refused, naming the option.
    let run = tollgate(
        &app,
        &create(&["--expires-in-days", "30", "--token-max-lifetime-days", "7"]),
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("--expires-in-days: must be at most 7 days from now"),
        "{run:?}"
    );
    // No maximum, no expiry asked: never.
    let run = tollgate(&app, &create(&[])).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("expires never"), "{run:?}");

    // The per-user cap holds for the operator too.
    let run = tollgate(&app, &create(&["--max-active-tokens-per-user", "3"])).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("already have 3 active"), "{run:?}");
    assert!(run.stdout.is_empty());
    assert_eq!(token_count(&app).await, 3);
}

#[tokio::test]
async fn create_refuses_unknown_and_disabled_users_and_bad_input_clearly() {
    let app = app().await;
    let admin = Auth::admin();
    app.add_user("bob", USER_PASSWORD, false).await;
    assert_eq!(
        app.set_enabled(&admin, "bob", false).await.status,
        StatusCode::OK
    );
    app.add_user("alice", USER_PASSWORD, false).await;
    app.add_scope(&admin, "wiki", "Wiki").await;

    let cases: &[(&[&str], &str)] = &[
        (
            &["--user", "nobody", "--description", "d"],
            "User 'nobody' was not found!",
        ),
        (
            &["--user", "bob", "--description", "d"],
            "User 'bob' is disabled",
        ),
        (
            &["--user", "alice", "--description", "  "],
            "--description: must not be blank",
        ),
        (
            &[
                "--user",
                "alice",
                "--description",
                "d",
                "--scopes",
                "api,nope",
            ],
            "--scopes: unknown scope `nope`",
        ),
        (
            &[
                "--user",
                "alice",
                "--description",
                "d",
                "--allowed-cidr",
                "10.0.0.0/40",
            ],
            "--allowed-cidr: `10.0.0.0/40` is not an IPv4 or IPv6 network",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        let run = tollgate(&app, &all).await;
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(&format!("tollgate: {message}")),
            "{args:?}: {run:?}"
        );
    }
    // A service scope an admin defined is granted as through the API.
    let run = tollgate(
        &app,
        &[
            "token",
            "create",
            "--user",
            "alice",
            "--description",
            "d",
            "--scopes",
            "wiki:read",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");

    // Usage errors are clap's: exit 2.
    for args in [
        &["token", "create", "--user", "alice"][..],
        &["token", "create", "--description", "d"],
        &[
            "token",
            "create",
            "--user",
            "alice",
            "--description",
            "d",
            "--expires-in-days",
            "0",
        ],
        &["token", "list", "--state", "gone"],
        &["token", "list", "--format", "yaml"],
        &["token", "revoke", "1"],
        &["token", "revoke", "one", "--cause", "c"],
    ] {
        let run = tollgate(&app, args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    assert_eq!(token_count(&app).await, 1);
    assert_eq!(token_events(&app).await.len(), 1);
}

#[tokio::test]
async fn list_shows_the_apis_tokens_by_state_and_user_as_a_table_json_or_json_lines() {
    let app = app().await;
    let admin = Auth::admin();
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (a1, _) = app.create_token(&alice, "alice's laptop").await;
    let (a2, _) = app.create_token(&alice, "alice's\nCI runner").await;
    let (a3, _) = app.create_token(&alice, "alice's old one").await;
    let (b1, _) = app.create_token(&admin, "admin's").await;
    let (b2, _) = app.create_token(&admin, "admin's expired").await;
    let res = app.revoke_token(&alice, a3, Some("replaced")).await;
    assert_eq!(res.status, StatusCode::OK);
    sqlx::query("UPDATE access_tokens SET expires_at = $1 WHERE id = $2")
        .bind(now_millis() - DAY_MILLIS)
        .bind(b2)
        .execute(&app.state.db.pool)
        .await
        .unwrap();

    // Active by default, newest first, in the REST API's shape exactly.
    let run = tollgate(&app, &["token", "list", "--format", "json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let listed = run.json();
    let ids: Vec<i64> = listed.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [b1, a2, a1]);
    for t in &listed {
        assert_eq!(*t, rest_view(&app, t["id"].as_i64().unwrap()).await);
    }
    assert!(run.stderr.contains("3 access tokens listed."), "{run:?}");

    let ids = |run: &Run, json: Vec<Value>| -> Vec<i64> {
        assert_eq!(run.code, 0, "{run:?}");
        json.iter().map(|t| t["id"].as_i64().unwrap()).collect()
    };
    let run = tollgate(
        &app,
        &["token", "list", "--state", "all", "--format", "jsonl"],
    )
    .await;
    assert_eq!(ids(&run, run.jsonl()), [b2, b1, a3, a2, a1]);
    let run = tollgate(
        &app,
        &[
            "token", "list", "--user", "alice", "--state", "all", "--format", "jsonl",
        ],
    )
    .await;
    assert_eq!(ids(&run, run.jsonl()), [a3, a2, a1]);
    let run = tollgate(
        &app,
        &["token", "list", "--user", "ALICE", "--format", "json"],
    )
    .await;
    assert_eq!(ids(&run, run.json()), [a2, a1]);
    let run = tollgate(
        &app,
        &["token", "list", "--state", "revoked", "--format", "json"],
    )
    .await;
    let revoked = run.json();
    assert_eq!(ids(&run, revoked.clone()), [a3]);
    assert_eq!(revoked[0]["revoke_cause"], "replaced");
    assert_eq!(revoked[0]["revoked_by"], "alice");
    let run = tollgate(
        &app,
        &["token", "list", "--state", "expired", "--format", "json"],
    )
    .await;
    let expired = run.json();
    assert_eq!(ids(&run, expired.clone()), [b2]);
    assert_eq!(expired[0]["expired"], true);
    // Nothing: an empty array, still valid JSON.
    let run = tollgate(
        &app,
        &[
            "token", "list", "--user", "admin", "--state", "revoked", "--format", "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "[]\n");

    // The table: a header, then a line a token, each on one line.
    let run = tollgate(&app, &["token", "list", "--state", "all"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.lines();
    assert_eq!(lines.len(), 6, "{run:?}");
    for column in [
        "ID",
        "USER",
        "DESCRIPTION",
        "SCOPES",
        "CREATED",
        "LAST USED",
        "EXPIRES",
        "STATE",
    ] {
        assert!(lines[0].contains(column), "{run:?}");
    }
    let row = |id: i64| {
        *lines
            .iter()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}: {run:?}"))
    };
    assert!(row(a2).contains("alice's CI runner"), "{run:?}");
    assert!(row(a2).ends_with(" active"), "{run:?}");
    assert!(row(a3).ends_with(" revoked"), "{run:?}");
    assert!(row(b2).ends_with(" expired"), "{run:?}");
    assert!(row(b1).contains(" admin "), "{run:?}");
    assert!(row(b1).contains(" api "), "{run:?}");
    assert!(row(b1).contains(" never "), "{run:?}");

    // An unknown user is an error, not an empty list.
    let run = tollgate(&app, &["token", "list", "--user", "nobody"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr
            .contains("tollgate: User 'nobody' was not found!"),
        "{run:?}"
    );
}

#[tokio::test]
async fn a_long_list_streams_and_stops_quietly_when_its_reader_goes_away() {
    let app = app().await;
    let run = tollgate(&app, &["dev", "seed", "--users", "2", "--tokens", "3000"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    // More rows than the reading task keeps ahead of a slow reader.
    let run = tollgate(
        &app,
        &["token", "list", "--state", "all", "--format", "jsonl"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed = run.jsonl();
    assert_eq!(listed.len(), 3000);
    let ids: Vec<i64> = listed.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(
        run.stderr.contains("3000 access tokens listed."),
        "{}",
        run.stderr
    );
    let run = tollgate(
        &app,
        &[
            "token",
            "list",
            "--state",
            "all",
            "--format",
            "json",
            "--user",
            "user00001",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let some = run.json();
    assert!(!some.is_empty() && some.len() < 3000);
    assert!(some.iter().all(|t| t["username"] == "user00001"));

    // `| head -1`: the pipe closes early; the list stops, without an error.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["token", "list"])
        .env("DATABASE_URL", &app.db_args.database_url)
        .env("TOLLGATE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncBufReadExt;
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        assert!(lines.next_line().await.unwrap().unwrap().starts_with("ID "));
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the list ends when its reader goes away")
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn revoke_takes_anyones_token_with_its_cause_and_says_which_failed_how() {
    let app = app().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (id, token) = app.create_token(&alice, "laptop").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);

    // `--database-url` works as well as the environment.
    let url = app.db_args.database_url.clone();
    let run = tollgate_with(
        &app,
        &[
            "token",
            "revoke",
            &id.to_string(),
            "--cause",
            "laptop stolen",
            "--database-url",
            &url,
        ],
        &[("DATABASE_URL", "sqlite:///nonexistent/dir/x.db")],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("Revoked access token {id} of 'alice' (laptop).")),
        "{run:?}"
    );
    // Refused at once, and the owner sees who revoked it and why.
    assert_eq!(app.me(&token).await.status, StatusCode::UNAUTHORIZED);
    let res = app.show_token(&alice, id).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let t = res.json();
    assert_eq!(t["revoked"], true);
    assert_eq!(t["revoked_by"], "operator");
    assert_eq!(t["revoke_cause"], "laptop stolen");
    let t = rest_view(&app, id).await;
    assert_eq!(
        (&t["revoked_by"], &t["revoke_cause"]),
        (&json!("operator"), &json!("laptop stolen"))
    );

    // Again: its own exit code, for scripts.
    let run = tollgate(
        &app,
        &["token", "revoke", &id.to_string(), "--cause", "again"],
    )
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "tollgate: access token {id}: Access token has already been revoked!"
        )),
        "{run:?}"
    );
    assert_eq!(
        rest_view(&app, id).await["revoke_cause"],
        "laptop stolen",
        "unchanged"
    );
    // Unknown: an error.
    let run = tollgate(&app, &["token", "revoke", "999999", "--cause", "c"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("Access token with id '999999' was not found!"),
        "{run:?}"
    );
    // The cause follows the API's rules.
    let (other, _) = app.create_token(&alice, "other").await;
    let run = tollgate(
        &app,
        &["token", "revoke", &other.to_string(), "--cause", "a\u{1b}b"],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--cause: "), "{run:?}");
    assert_eq!(rest_view(&app, other).await["revoked"], false);

    assert_eq!(
        token_events(&app).await,
        [
            event("alice", "basic", "token.created", id),
            event("operator", "cli", "token.revoked", id),
            event("alice", "basic", "token.created", other),
        ]
    );
    let cause: String =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'token.revoked'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(cause.contains("laptop stolen"), "{cause}");
}

#[tokio::test]
async fn the_help_documents_the_exit_codes() {
    let app = app().await;
    for args in [
        &["token", "--help"][..],
        &["token", "revoke", "--help"],
        &["token", "list", "--help"],
    ] {
        let run = tollgate(&app, args).await;
        assert_eq!(run.code, 0, "{run:?}");
        for line in [
            "0  done",
            "1  an error",
            "2  a usage error",
            "3  revoke: the token was revoked already",
        ] {
            assert!(run.stdout.contains(line), "{args:?}: {run:?}");
        }
    }
}

#[tokio::test]
async fn the_operators_entry_points_hold_callers_to_their_own_rules() {
    use tollgate::server::error::ServiceError;
    use tollgate::server::identity::{Actor, AuthMethod, Caller, Origin};
    use tollgate::server::tokens::service::TokenRequest;
    let app = app().await;
    let alice = app.add_user("alice", USER_PASSWORD, false).await;
    let admin = tollgate::server::users::service::get(&app.state.db, &Actor::Operator, "admin")
        .await
        .unwrap();
    let (id, _) = app.create_token(&Auth::admin(), "admin's").await;
    let as_caller = |user: &tollgate::server::identity::User, method| {
        Actor::Caller(Caller {
            user: user.clone(),
            method,
            origin: Origin::default(),
            grants: None,
            token_expires_at: None,
        })
    };
    let tokens = &app.state.tokens;
    let ask = TokenRequest {
        description: "d".into(),
        ..TokenRequest::default()
    };
    // Minting for another user is the operator's alone, even for an admin.
    for actor in [
        as_caller(&admin, AuthMethod::Session),
        as_caller(&alice, AuthMethod::Basic),
    ] {
        let e = tokens.create_for(&actor, "alice", &ask).await.unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    }
    // Everyone's tokens: admins without a token only.
    for actor in [
        as_caller(&alice, AuthMethod::Session),
        as_caller(&admin, AuthMethod::Bearer),
    ] {
        let e = tokens.revoke_any(&actor, id, Some("c")).await.unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
        let e = tokens
            .all_for(&actor, tollgate::model::TokenFilter::All, None)
            .await
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    }
    assert_eq!(rest_view(&app, id).await["revoked"], false);
    // An admin by password may, as on the admin API, and is recorded as such.
    let t = tokens
        .revoke_any(&as_caller(&admin, AuthMethod::Session), id, Some("c"))
        .await
        .unwrap();
    assert_eq!(t.revoked_by.as_deref(), Some("admin"));
    assert_eq!(
        token_events(&app).await.last().unwrap(),
        &event("admin", "session", "token.revoked", id)
    );
    assert_eq!(token_count(&app).await, 1);
}
