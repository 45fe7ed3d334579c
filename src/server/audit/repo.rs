//! SQL for the audit log. The only place that knows the `audit_events` table.
//!
//! A page is found newest first by the cheapest index that serves it:
//! - a search term of three characters or more: the trigram index (SQLite's
//!   FTS5, in id order; on PostgreSQL pg_trgm, after a look at the newest
//!   [`WINDOW`] events, where a common term fills the page);
//! - a token, a user's own events, an action or a family: their indexes;
//! - a shorter term: the newest events, at most [`SHORT_SCAN`] of them per
//!   page (the page then says where to go on), so no request reads the whole
//!   log.

use super::{ActionFilter, Event, Filter};
use crate::server::db::{Binds, Db, Dialect};
use crate::server::tokens::search::term::{fts_phrase, like_pattern};
use sqlx::{Any, AssertSqlSafe, Transaction};

/// One stored event.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub actor_method: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub target_user: Option<String>,
    pub target_token_id: Option<i64>,
    pub details: String,
}

const COLUMNS: &str = "e.id, e.at, e.actor, e.actor_method, e.client_ip, e.user_agent, \
     e.action, e.target_user, e.target_token_id, e.details";

/// Rows per INSERT statement (13 parameters each).
const INSERT_CHUNK: usize = 50;

/// Writes events in the caller's transaction, all stamped `now`.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    events: &[Event<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut binds = Binds::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|e| {
                let ip = e.who.origin.ip.map(|ip| ip.to_string());
                let values = [
                    binds.int(now),
                    binds.text(e.who.actor.as_str()),
                    binds.text(e.who.method),
                    opt_text(&mut binds, ip),
                    opt_text(&mut binds, e.who.origin.user_agent.clone()),
                    binds.text(e.action.as_str()),
                    binds.text(e.action.family()),
                    opt_text(&mut binds, e.target_user.clone()),
                    opt_int(&mut binds, e.target_user_id),
                    opt_int(&mut binds, e.target_token_id),
                    binds.text(e.details.to_string()),
                    binds.text(e.search_text()),
                ];
                format!("({})", values.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_events (at, actor, actor_method, client_ip, user_agent, action, \
             family, target_user, target_user_id, target_token_id, details, search_text) VALUES {}",
            rows.join(", ")
        );
        binds
            .bind_plain(sqlx::query(AssertSqlSafe(sql)))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn opt_text(binds: &mut Binds, v: Option<String>) -> String {
    match v {
        Some(v) => binds.text(v),
        None => "NULL".into(),
    }
}

fn opt_int(binds: &mut Binds, v: Option<i64>) -> String {
    match v {
        Some(v) => binds.int(v),
        None => "NULL".into(),
    }
}

/// Events a term too short for the trigram index looks through per page.
pub const SHORT_SCAN: i64 = 100_000;
/// Newest events PostgreSQL looks through before asking its trigram index.
pub const WINDOW: i64 = 5_000;

/// A page of events, and the id the next page starts below.
pub struct Found {
    pub events: Vec<Row>,
    pub next: Option<i64>,
}

/// The conditions every strategy shares (all but the search term).
fn conditions(f: &Filter, b: &mut Binds) -> Vec<String> {
    let mut c = Vec::new();
    match f.action {
        Some(ActionFilter::Action(a)) => c.push(format!("e.action = {}", b.text(a))),
        Some(ActionFilter::Family(fam)) => c.push(format!("e.family = {}", b.text(fam))),
        None => {}
    }
    if let Some(user) = &f.user {
        let p = b.text(user.as_str());
        c.push(format!("(e.actor = {p} OR e.target_user = {p})"));
    }
    if let Some(id) = f.token_id {
        c.push(format!("e.target_token_id = {}", b.int(id)));
    }
    if let Some(id) = f.own {
        c.push(format!("e.target_user_id = {}", b.int(id)));
    }
    if let Some(at) = f.since {
        c.push(format!("e.at >= {}", b.int(at)));
    }
    if let Some(at) = f.until {
        c.push(format!("e.at < {}", b.int(at)));
    }
    if let Some(id) = f.before_id {
        c.push(format!("e.id < {}", b.int(id)));
    }
    c
}

fn and(conds: &[String]) -> String {
    if conds.is_empty() {
        "1 = 1".into()
    } else {
        conds.join(" AND ")
    }
}

async fn fetch(db: &Db, sql: String, binds: Binds) -> Result<Vec<Row>, sqlx::Error> {
    binds
        .bind(sqlx::query_as::<_, Row>(AssertSqlSafe(sql)))
        .fetch_all(&db.pool)
        .await
}

/// The newest `limit` events that match, below the filter's cursor.
pub async fn page(db: &Db, f: &Filter, limit: i64) -> Result<Found, sqlx::Error> {
    let want = limit + 1;
    let term = f.term.as_ref().map(|t| t.as_str());
    let indexed = term.is_some_and(|t| t.chars().count() >= 3);
    let rows = match (term, db.dialect) {
        (None, _) => {
            let mut b = Binds::default();
            let c = conditions(f, &mut b);
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_events e WHERE {} ORDER BY e.id DESC LIMIT {want}",
                and(&c)
            );
            fetch(db, sql, b).await?
        }
        (Some(t), Dialect::Sqlite) if indexed => {
            let mut b = Binds::default();
            let phrase = b.text(fts_phrase(t));
            let mut c = conditions(f, &mut b);
            c.push(format!("audit_events_fts MATCH {phrase}"));
            // The index as the outer loop, in its (id) order.
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_events_fts CROSS JOIN audit_events e \
                 ON e.id = audit_events_fts.rowid WHERE {} \
                 ORDER BY audit_events_fts.rowid DESC LIMIT {want}",
                and(&c)
            );
            fetch(db, sql, b).await?
        }
        (Some(t), Dialect::Postgres) if indexed => postgres_indexed(db, f, t, want).await?,
        (Some(t), dialect) => return short_term(db, f, t, dialect, limit).await,
    };
    Ok(paged(rows, limit))
}

/// Cuts the one extra row that says a next page exists.
fn paged(mut rows: Vec<Row>, limit: i64) -> Found {
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Found { events: rows, next }
}

/// PostgreSQL: the newest [`WINDOW`] events first, where a common term fills
/// the page; else the trigram index gives the older matches, which are sorted.
async fn postgres_indexed(
    db: &Db,
    f: &Filter,
    t: &str,
    want: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let top: Option<i64> = {
        let mut b = Binds::default();
        let c = conditions(f, &mut b);
        b.bind(sqlx::query_as::<_, (i64,)>(AssertSqlSafe(format!(
            "SELECT e.id FROM audit_events e WHERE {} ORDER BY e.id DESC LIMIT 1",
            and(&c)
        ))))
        .fetch_optional(&db.pool)
        .await?
        .map(|(id,)| id)
    };
    let Some(top) = top else {
        return Ok(Vec::new());
    };
    let floor = top - WINDOW;
    let mut b = Binds::default();
    let pattern = b.text(like_pattern(t));
    let mut c = conditions(f, &mut b);
    c.push(format!("e.search_text LIKE {pattern}"));
    c.push(format!("e.id > {}", b.int(floor)));
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events e WHERE {} ORDER BY e.id DESC LIMIT {want}",
        and(&c)
    );
    let mut rows = fetch(db, sql, b).await?;
    if rows.len() as i64 >= want {
        return Ok(rows);
    }
    let mut b = Binds::default();
    let pattern = b.text(like_pattern(t));
    let mut c = conditions(f, &mut b);
    c.push(format!("e.search_text LIKE {pattern}"));
    c.push(format!("e.id <= {}", b.int(floor)));
    // MATERIALIZED: the matches from the index, then sorted, rather than a
    // walk of the whole table in id order hoping to meet them.
    let sql = format!(
        "WITH m AS MATERIALIZED (SELECT e.id FROM audit_events e WHERE {}) \
         SELECT {COLUMNS} FROM audit_events e JOIN (SELECT id FROM m ORDER BY id DESC LIMIT {}) \
         AS top ON top.id = e.id ORDER BY e.id DESC",
        and(&c),
        want - rows.len() as i64
    );
    rows.extend(fetch(db, sql, b).await?);
    Ok(rows)
}

/// A term of one or two characters: no index can serve it, so a page looks
/// through at most [`SHORT_SCAN`] events below its cursor. When that many
/// were looked through, the page says where the next look starts, full or not.
async fn short_term(
    db: &Db,
    f: &Filter,
    t: &str,
    dialect: Dialect,
    limit: i64,
) -> Result<Found, sqlx::Error> {
    let start = match f.before_id {
        Some(id) => id,
        None => {
            let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
                .fetch_one(&db.pool)
                .await?;
            max.unwrap_or(0) + 1
        }
    };
    let floor = start - SHORT_SCAN;
    let mut b = Binds::default();
    let needle = b.text(t);
    let mut c = conditions(f, &mut b);
    c.push(match dialect {
        Dialect::Sqlite => format!("instr(e.search_text, {needle}) > 0"),
        Dialect::Postgres => format!("strpos(e.search_text, {needle}) > 0"),
    });
    c.push(format!("e.id >= {}", b.int(floor)));
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events e WHERE {} ORDER BY e.id DESC LIMIT {}",
        and(&c),
        limit + 1
    );
    let mut found = paged(fetch(db, sql, b).await?, limit);
    if found.next.is_none() && floor > 1 {
        // The look stopped at the floor: older events may match too.
        let older: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM audit_events WHERE id < $1 LIMIT 1")
                .bind(floor)
                .fetch_optional(&db.pool)
                .await?;
        if older.is_some() {
            found.next = Some(floor);
        }
    }
    Ok(found)
}

/// Deletes up to `batch` of the oldest events before `before`; how many.
pub async fn prune_batch(db: &Db, before: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "DELETE FROM audit_events WHERE id IN \
         (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)",
    )
    .bind(before)
    .bind(batch)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(done)
}

/// Events after id `after` (0: from the first) at or after `since`, oldest
/// first, at most `limit`: `tollgate audit export` reads the log this way,
/// a batch at a time, holding no statement open between batches.
pub async fn export(db: &Db, after: i64, since: i64, limit: i64) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as::<_, Row>(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_events e WHERE e.id > $1 AND e.at >= $2 \
         ORDER BY e.id LIMIT $3"
    )))
    .bind(after)
    .bind(since)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}
