//! `tollgate dev seed`: fills a database with realistic users, tokens and
//! audit events, fast, for benchmarks and demos. Never for production data.

use crate::server::audit::{self, Action, Event, Who};
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::identity::Origin;
use crate::server::scope;
use crate::server::time::now_millis;
use crate::server::tokens::search::grams::{self, GramChange};
use crate::server::users::password;
use crate::server::users::repo::{self as users_repo, NewUserRow};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::json;
use sqlx::{Any, AssertSqlSafe, Transaction};
use std::net::{IpAddr, Ipv4Addr};

const WORDS: &[&str] = &[
    "deploy",
    "ci",
    "nightly",
    "backup",
    "release",
    "laptop",
    "grafana",
    "terraform",
    "jenkins",
    "monitoring",
    "build agent",
    "docs bot",
    "sync",
    "migration",
    "staging",
    "prod",
    "metrics",
    "café",
    "Straße",
    "Überwachung",
    "日本",
    "script",
    "cron",
    "pipeline",
    "webhook",
    "reporting",
];

/// Rows per INSERT statement and rows per transaction.
const CHUNK: usize = 500;
const PER_TX: usize = 20_000;

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what:>7} [{{bar:40}}] {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb
}

pub async fn seed(db: &Db, users: usize, tokens: usize, events: usize) -> Result<(), ServiceError> {
    let hash = password::hash("seed-password".to_string().into()).await?;
    let pb = bar(users as u64, "users");
    let now = now_millis();
    for i in 0..users {
        let name = format!("user{i:05}");
        let mut tx = db.begin_write().await?;
        users_repo::insert(
            &mut tx,
            NewUserRow {
                login_name: &name,
                display_name: &format!("Seed User {i}"),
                email: None,
                email_me: false,
                checkin_aliases: "",
                password_hash: &hash,
                is_admin: false,
                enabled: true,
                created_at: now,
            },
        )
        .await?;
        tx.commit().await?;
        pb.inc(1);
    }
    pb.finish();
    let owners: Vec<(i64, String)> = users_repo::list(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.login_name))
        .collect();
    if owners.is_empty() {
        return Err(ServiceError::BadRequest(
            "no users to own the tokens".into(),
        ));
    }

    let pb = bar(tokens as u64, "tokens");
    let start = now - 365 * 24 * 3600 * 1000;
    let mut done = 0;
    while done < tokens {
        let mut tx = db.begin_write().await?;
        let in_tx = PER_TX.min(tokens - done);
        let mut written = 0;
        while written < in_tx {
            let n = CHUNK.min(in_tx - written);
            let rows: Vec<SeedToken> = {
                let mut rng = rand::rng();
                (0..n)
                    .map(|k| {
                        let (user_id, username) = owners.choose(&mut rng).expect("owners").clone();
                        let a = WORDS.choose(&mut rng).expect("words");
                        let b = WORDS.choose(&mut rng).expect("words");
                        let seq = done + written + k;
                        // Spread over the past year, oldest first.
                        let created_at = start + (seq as i64) * (now - start) / tokens as i64;
                        let revoked = rng.random_ratio(1, 10);
                        let mut secret = [0u8; 32];
                        rng.fill(&mut secret);
                        SeedToken {
                            hash: crate::server::sha256_hex(&secret),
                            // A rare word now and then, for searches that find a handful.
                            description: if rng.random_ratio(1, 100_000) {
                                format!("{a} Zürich ☃ {}", rng.random_range(0..100_000))
                            } else {
                                format!("{a} {b} {}", rng.random_range(0..100_000))
                            },
                            user_id,
                            username,
                            created_at,
                            revoked_at: revoked.then_some(created_at + 1000),
                            revoked_by: revoked.then(|| "admin".to_string()),
                        }
                    })
                    .collect()
            };
            bulk_insert(&mut tx, &rows).await?;
            written += n;
            pb.inc(n as u64);
        }
        tx.commit().await?;
        done += in_tx;
    }
    pb.finish();
    seed_events(db, &owners, events, start, now).await
}

const USER_AGENTS: &[&str] = &[
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
    "python-requests/2.32.3",
    "GoCD-Agent/24.5.0",
];

const CAUSES: &[&str] = &[
    "No longer needed",
    "Rotated to a new token",
    "Reported as leaked",
    "Left the team",
    "Laptop stolen",
];

/// A generated audit event: when, who, what, about whom and which token.
struct SeedEvent {
    at: i64,
    who: Who,
    action: Action,
    user: (i64, String),
    token_id: i64,
    details: serde_json::Value,
}

/// `events` audit events spread evenly from `start` to `now`, oldest first,
/// in the mix a busy server writes: mostly tokens made and used up, sign-ins,
/// now and then a failure, an account change or a scope.
async fn seed_events(
    db: &Db,
    owners: &[(i64, String)],
    events: usize,
    start: i64,
    now: i64,
) -> Result<(), ServiceError> {
    if events == 0 {
        return Ok(());
    }
    let pb = bar(events as u64, "events");
    let mut done = 0;
    while done < events {
        let mut tx = db.begin_write().await?;
        let in_tx = PER_TX.min(events - done);
        let mut written = 0;
        while written < in_tx {
            let n = CHUNK.min(in_tx - written);
            let mut rng = rand::rng();
            let rows: Vec<SeedEvent> = (0..n)
                .map(|k| {
                    let seq = done + written + k;
                    let at = start + (seq as i64) * (now - start) / events as i64;
                    let (id, name) = owners.choose(&mut rng).expect("owners").clone();
                    let roll = rng.random_range(0..100);
                    let action = match roll {
                        0..=29 => Action::TokenCreated,
                        30..=44 => Action::TokenRevoked,
                        45..=49 => Action::TokenRotated,
                        50..=74 => Action::SignedIn,
                        75..=81 => Action::SignInFailed,
                        82..=91 => Action::SignedOut,
                        92..=93 => Action::PasswordChanged,
                        94..=96 => Action::UserUpdated,
                        97 => Action::UserCreated,
                        98 => Action::Throttled,
                        _ => Action::ScopeCreated,
                    };
                    let ip = IpAddr::V4(Ipv4Addr::new(
                        10,
                        rng.random_range(0..4),
                        rng.random_range(0..=255),
                        rng.random_range(1..=254),
                    ));
                    let by_admin = rng.random_ratio(1, 10);
                    let who = Who {
                        actor: if by_admin {
                            "admin".into()
                        } else {
                            name.clone()
                        },
                        method: ["session", "basic", "bearer"][rng.random_range(0..3)],
                        origin: Origin {
                            ip: Some(ip),
                            user_agent: USER_AGENTS.choose(&mut rng).map(|u| u.to_string()),
                        },
                    };
                    let token_id = seq as i64 + 1;
                    let a = WORDS.choose(&mut rng).expect("words");
                    let b = WORDS.choose(&mut rng).expect("words");
                    let details = match action {
                        Action::TokenCreated | Action::TokenRotated => json!({
                            "description": format!("{a} {b} {}", rng.random_range(0..100_000)),
                            "scopes": ["api"],
                        }),
                        Action::TokenRevoked => {
                            json!({ "cause": CAUSES.choose(&mut rng).expect("causes") })
                        }
                        Action::UserUpdated => json!({ "fields": ["display_name", "email"] }),
                        Action::ScopeCreated => json!({ "scope": format!("{a}:{b}") }),
                        _ => json!({}),
                    };
                    SeedEvent {
                        at,
                        who,
                        action,
                        user: (id, name),
                        token_id,
                        details,
                    }
                })
                .collect();
            let events: Vec<Event> = rows
                .iter()
                .map(|r| {
                    let e = Event::new(&r.who, r.action)
                        .user(&r.user.1, Some(r.user.0))
                        .details(r.details.clone());
                    if r.action.family() == "token" {
                        e.token(r.token_id)
                    } else {
                        e
                    }
                })
                .collect();
            let stamped: Vec<_> = rows.iter().map(|r| r.at).zip(events.iter()).collect();
            audit::repo::insert(&mut tx, &stamped).await?;
            written += n;
            pb.inc(n as u64);
        }
        tx.commit().await?;
        // Into the indexed log, as the server would.
        audit::move_all(db, PER_TX as i64).await?;
        done += in_tx;
    }
    pb.finish();
    Ok(())
}

/// A generated token row, for the development seeder.
pub struct SeedToken {
    pub hash: String,
    pub description: String,
    pub user_id: i64,
    pub username: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

/// Inserts many tokens with one statement (the seeder's bulk path).
pub async fn bulk_insert(
    tx: &mut Transaction<'_, Any>,
    rows: &[SeedToken],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    const COLS: usize = 9;
    let mut sql = String::from(
        "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, \
         created_at, revoked, revoked_at, revoked_by) VALUES ",
    );
    for i in 0..rows.len() {
        if i > 0 {
            sql.push(',');
        }
        let b = i * COLS;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9
        ));
    }
    sql.push_str(" RETURNING id, revoked, search_text");
    let mut q = sqlx::query_as::<_, (i64, i64, String)>(AssertSqlSafe(sql));
    for r in rows {
        q = q
            .bind(&r.hash)
            .bind(&r.description)
            .bind(r.user_id)
            .bind(&r.username)
            .bind(grams::search_text(
                &r.description,
                &r.username,
                scope::API,
                "",
            ))
            .bind(r.created_at)
            .bind(i64::from(r.revoked_at.is_some()))
            .bind(r.revoked_at)
            .bind(&r.revoked_by);
    }
    let inserted = q.fetch_all(&mut **tx).await?;
    let changes: Vec<_> = inserted
        .iter()
        .map(|(id, revoked, text)| GramChange::inserted(*id, text, *revoked != 0))
        .collect();
    grams::apply(tx, &changes).await
}
