//! SQL for the audit log. The only place that knows its tables: events are
//! written into `audit_inbox` (its key alone indexed) and moved in batches
//! into `audit_events` (indexed, searchable); `audit_log` is both.
//!
//! A page is found newest first by the cheapest index that serves it:
//! - a time range becomes an id range through the time index;
//! - a search term of three characters or more: the trigram index (SQLite's
//!   FTS5, in id order; on PostgreSQL pg_trgm, after a look at the newest
//!   events, where a common term fills the page);
//! - a token, a user's own events, a user, an action or a family: their
//!   indexes (a user's two, merged);
//! - when other conditions sift an index's candidates, or a term is too short
//!   for any index, a page looks through a window of ids ([`Windows`]) and
//!   then says where to go on, so no request reads the whole log.

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

/// Writes events in the caller's transaction, into the inbox ([`move_batch`]
/// moves them on), each with its time (milliseconds): a change stamps all its
/// events `now`; the development seeder spreads them over the past.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    events: &[(i64, &Event<'_>)],
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut binds = Binds::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|&(at, e)| {
                let ip = e.who.origin.ip.map(|ip| ip.to_string());
                let values = [
                    binds.int(at),
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
            "INSERT INTO audit_inbox (at, actor, actor_method, client_ip, user_agent, action, \
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

/// The stored columns, in the order both tables declare them.
const STORED: &str = "id, at, actor, actor_method, client_ip, user_agent, action, family, \
     target_user, target_user_id, target_token_id, details, search_text";

/// Moves up to `batch` of the oldest events of the inbox into the indexed
/// log, ids and all, in one transaction; how many.
pub async fn move_batch(db: &Db, batch: i64) -> Result<u64, sqlx::Error> {
    // Read first: an empty inbox, the usual case each second, takes no lock.
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(id) FROM (SELECT id FROM audit_inbox ORDER BY id LIMIT $1) AS b",
    )
    .bind(batch)
    .fetch_one(&db.pool)
    .await?;
    let Some(last) = last else {
        return Ok(0);
    };
    let mut tx = db.begin_write().await?;
    let moved = match db.dialect {
        // One statement, one snapshot: an event with an id below `last` whose
        // transaction commits meanwhile is moved or left for the next batch,
        // never deleted unmoved.
        Dialect::Postgres => sqlx::query(AssertSqlSafe(format!(
            "WITH moved AS (DELETE FROM audit_inbox WHERE id <= $1 RETURNING {STORED}) \
             INSERT INTO audit_events ({STORED}) SELECT {STORED} FROM moved"
        )))
        .bind(last)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        // SQLite's write lock keeps every other writer out of the inbox
        // between the two statements.
        Dialect::Sqlite => {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO audit_events ({STORED}) SELECT {STORED} FROM audit_inbox \
                 WHERE id <= $1 ORDER BY id"
            )))
            .bind(last)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM audit_inbox WHERE id <= $1")
                .bind(last)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }
    };
    tx.commit().await?;
    Ok(moved)
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

/// How many ids a page looks through where it must look row by row.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// A term looked for in each event, with no index or a broad one (an
    /// action, a family) to drive: one too short for the trigram index, or
    /// on PostgreSQL one beside other filters.
    pub scan: i64,
    /// One index finds candidates and other conditions sift them (a term
    /// and a family, a user and an action, ...).
    pub sift: i64,
    /// The newest events PostgreSQL looks through before its trigram index.
    pub newest: i64,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            scan: 25_000,
            sift: 100_000,
            newest: 5_000,
        }
    }
}

/// How far an event's time may trail the time of an event with a smaller id
/// (clocks, commit order): a time range is turned into an id range this much
/// wider, and the exact times are then checked row by row.
pub const CLOCK_SLACK: i64 = 3_600_000;

/// A page of events, and the id the next page starts below.
pub struct Found {
    pub events: Vec<Row>,
    pub next: Option<i64>,
}

/// Where a page's candidates come from: the index that yields them newest
/// first. The filter's other conditions sift them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Token,
    Own,
    User,
    Action,
    Family,
    Ids,
}

impl Driver {
    /// The most selective index the filter allows (a token has a handful of
    /// events, a user thousands, a family a quarter of the log).
    fn of(f: &Filter) -> Driver {
        if f.token_id.is_some() {
            Driver::Token
        } else if f.own.is_some() {
            Driver::Own
        } else if f.user.is_some() {
            Driver::User
        } else {
            match f.action {
                Some(ActionFilter::Action(_)) => Driver::Action,
                Some(ActionFilter::Family(_)) => Driver::Family,
                None => Driver::Ids,
            }
        }
    }

    /// SQLite's `INDEXED BY` for it (SQLite has no statistics to choose by).
    fn index(self, dialect: Dialect) -> &'static str {
        if dialect != Dialect::Sqlite {
            return "";
        }
        match self {
            Driver::Token => " INDEXED BY audit_events_token",
            Driver::Own => " INDEXED BY audit_events_target_user_id",
            Driver::Action => " INDEXED BY audit_events_action",
            Driver::Family => " INDEXED BY audit_events_family",
            // The user's two halves name their own; ids are the table's order.
            Driver::User | Driver::Ids => "",
        }
    }
}

/// The conditions other than the search term and the id range. Times are
/// checked row by row (`+ 0`: never through the time index; [`id_bounds`]
/// has turned them into an id range).
fn conditions(f: &Filter, b: &mut Binds) -> Vec<String> {
    let mut c = Vec::new();
    match f.action {
        Some(ActionFilter::Action(a)) => c.push(format!("e.action = {}", b.text(a))),
        Some(ActionFilter::Family(fam)) => c.push(format!("e.family = {}", b.text(fam))),
        None => {}
    }
    if let Some(id) = f.token_id {
        c.push(format!("e.target_token_id = {}", b.int(id)));
    }
    if let Some(id) = f.own {
        c.push(format!("e.target_user_id = {}", b.int(id)));
    }
    if let Some(at) = f.since {
        c.push(format!("e.at + 0 >= {}", b.int(at)));
    }
    if let Some(at) = f.until {
        c.push(format!("e.at + 0 < {}", b.int(at)));
    }
    c
}

/// Whether the filter has conditions besides its driver's and the times,
/// which sift the driver's candidates (and so need a bounded look).
fn sifts(f: &Filter, driver: Option<Driver>) -> bool {
    let n = usize::from(f.action.is_some())
        + usize::from(f.user.is_some())
        + usize::from(f.token_id.is_some())
        + usize::from(f.own.is_some());
    match driver {
        None => n > 0,
        Some(Driver::Ids) => false,
        Some(_) => n > 1,
    }
}

/// Events by or about a user.
fn by_user(b: &mut Binds, user: &str) -> String {
    let p = b.text(user);
    format!("(e.actor = {p} OR e.target_user = {p})")
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

/// The ids `[lo, hi)` a page may hold: below its cursor, and within its
/// times, found through the time index (an empty range when nothing can).
async fn id_bounds(db: &Db, f: &Filter) -> Result<(i64, i64), sqlx::Error> {
    let lo = match f.since {
        None => 0,
        Some(since) => first_at_or_after(db, since.saturating_sub(CLOCK_SLACK))
            .await?
            .unwrap_or(i64::MAX),
    };
    let hi = match f.until {
        None => i64::MAX,
        Some(until) => first_at_or_after(db, until.saturating_add(CLOCK_SLACK))
            .await?
            .unwrap_or(i64::MAX),
    };
    Ok((lo, hi.min(f.before_id.unwrap_or(i64::MAX))))
}

/// The id of the first event at or after `at` (the log through its time
/// index, the inbox looked through), if there is one.
async fn first_at_or_after(db: &Db, at: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(id) FROM ( \
           SELECT id FROM (SELECT id FROM audit_events WHERE at >= $1 ORDER BY at LIMIT 1) AS l \
           UNION ALL SELECT MIN(id) FROM audit_inbox WHERE at >= $1) AS f",
    )
    .bind(at)
    .fetch_one(&db.pool)
    .await
}

/// The newest `limit` events that match, below the filter's cursor.
///
/// Every page does bounded work: an index that yields exactly the matches
/// serves any page; when other conditions must sift an index's candidates
/// (or no index can serve a short term), the page looks at a window of ids
/// below its cursor and, when that window did not fill it, says to go on
/// below the window.
pub async fn page(db: &Db, f: &Filter, limit: i64) -> Result<Found, sqlx::Error> {
    page_in(db, f, limit, Windows::default()).await
}

/// [`page`] with other windows (the tests make them tiny).
pub async fn page_in(db: &Db, f: &Filter, limit: i64, w: Windows) -> Result<Found, sqlx::Error> {
    let (lo, hi) = id_bounds(db, f).await?;
    if lo >= hi {
        return Ok(Found {
            events: Vec::new(),
            next: None,
        });
    }
    let term = f.term.as_ref().map(|t| t.as_str());
    let driver = Driver::of(f);
    // A token's or one user's events are fewer than most terms' matches.
    let one_owner = matches!(driver, Driver::Token | Driver::Own | Driver::User);
    // The trigram index drives a term of three characters or more, except
    // where one owner's index can, and on PostgreSQL where other conditions
    // sift its matches (pg_trgm yields them all, unordered: the page looks
    // row by row instead).
    let trigram = term.is_some_and(|t| t.chars().count() >= 3)
        && !one_owner
        && (db.dialect == Dialect::Sqlite || !sifts(f, None));
    let window = match term {
        Some(_) if trigram => sifts(f, None).then_some(w.sift),
        // The term looked for in each event of one owner's index.
        Some(_) if one_owner => Some(w.sift),
        Some(_) => Some(w.scan),
        None => sifts(f, Some(driver)).then_some(w.sift),
    };
    let floor = match window {
        Some(n) if hi != i64::MAX => lo.max(hi - n),
        Some(n) => lo.max(newest(db).await? + 1 - n),
        None => lo,
    };
    let want = limit + 1;
    // The inbox first: an event moved on meanwhile is then read twice, never
    // missed.
    let newest_events = inbox(db, f, term, floor, hi, want).await?;
    let mut rows = match (term, db.dialect) {
        (Some(t), Dialect::Sqlite) if trigram => sqlite_indexed(db, f, t, floor, hi, want).await?,
        (Some(t), Dialect::Postgres) if trigram => {
            postgres_indexed(db, f, t, (floor, hi), w.newest, want).await?
        }
        _ => by_index(db, f, driver, term, floor, hi, want).await?,
    };
    if !newest_events.is_empty() {
        rows.extend(newest_events);
        rows.sort_by_key(|r| std::cmp::Reverse(r.id));
        rows.dedup_by_key(|r| r.id);
        rows.truncate(want as usize);
    }
    let mut found = paged(rows, limit);
    if found.next.is_none() && floor > lo && floor > oldest(db).await? {
        // The window ended the look: older events may match too.
        found.next = Some(floor);
    }
    Ok(found)
}

async fn newest(db: &Db) -> Result<i64, sqlx::Error> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
        .fetch_one(&db.pool)
        .await?;
    Ok(max.unwrap_or(0))
}

async fn oldest(db: &Db) -> Result<i64, sqlx::Error> {
    let min: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM audit_events")
        .fetch_one(&db.pool)
        .await?;
    Ok(min.unwrap_or(0))
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

/// The id range as conditions, which the primary key serves, or with
/// `sifted` which it must not (PostgreSQL would otherwise AND a bitmap of the
/// whole range to its trigram index's).
fn range(b: &mut Binds, lo: i64, hi: i64, sifted: bool) -> Vec<String> {
    let id = if sifted { "e.id + 0" } else { "e.id" };
    let mut c = Vec::new();
    if lo > 0 {
        c.push(format!("{id} >= {}", b.int(lo)));
    }
    if hi != i64::MAX {
        c.push(format!("{id} < {}", b.int(hi)));
    }
    c
}

/// No term, or a term the trigram index does not serve (looked for in each
/// candidate): the driver's index, newest first. A user's events are those
/// they did and those done to them, two indexes read newest first and merged.
async fn by_index(
    db: &Db,
    f: &Filter,
    driver: Driver,
    term: Option<&str>,
    lo: i64,
    hi: i64,
    want: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let half = |column: &str, b: &mut Binds| {
        let mut c = conditions(f, b);
        c.extend(range(b, lo, hi, false));
        if let Some(t) = term {
            c.push(contains(db.dialect, &b.text(t)));
        }
        let (index, user) = match (column, &f.user) {
            (_, None) => (driver.index(db.dialect).to_string(), None),
            ("", Some(u)) => (driver.index(db.dialect).to_string(), Some(by_user(b, u))),
            (col, Some(u)) => (
                if db.dialect == Dialect::Sqlite {
                    format!(" INDEXED BY audit_events_{col}")
                } else {
                    String::new()
                },
                Some(format!("e.{col} = {}", b.text(u.as_str()))),
            ),
        };
        c.extend(user);
        format!(
            "SELECT * FROM (SELECT {COLUMNS} FROM audit_events e{index} WHERE {} \
             ORDER BY e.id DESC LIMIT {want}) AS h",
            and(&c)
        )
    };
    let mut b = Binds::default();
    let sql = if driver == Driver::User {
        // UNION, not UNION ALL: an event a user did to themselves is in both.
        let done = half("actor", &mut b);
        let to = half("target_user", &mut b);
        format!("SELECT * FROM ({done} UNION {to}) AS u ORDER BY id DESC LIMIT {want}")
    } else {
        half("", &mut b)
    };
    fetch(db, sql, b).await
}

/// The events not yet moved out of the inbox (a second's worth, usually)
/// that match, each looked at.
async fn inbox(
    db: &Db,
    f: &Filter,
    term: Option<&str>,
    lo: i64,
    hi: i64,
    want: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let mut b = Binds::default();
    let mut c = conditions(f, &mut b);
    c.extend(f.user.as_ref().map(|u| by_user(&mut b, u)));
    c.extend(range(&mut b, lo, hi, false));
    if let Some(t) = term {
        c.push(contains(db.dialect, &b.text(t)));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_inbox e WHERE {} ORDER BY e.id DESC LIMIT {want}",
        and(&c)
    );
    fetch(db, sql, b).await
}

/// The search text holds `needle` (a bind), looked for row by row.
fn contains(dialect: Dialect, needle: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("instr(e.search_text, {needle}) > 0"),
        Dialect::Postgres => format!("strpos(e.search_text, {needle}) > 0"),
    }
}

/// SQLite, a term of three characters or more: the FTS5 trigram index as
/// the outer loop, in its (id) order, within the id range.
async fn sqlite_indexed(
    db: &Db,
    f: &Filter,
    t: &str,
    lo: i64,
    hi: i64,
    want: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let mut b = Binds::default();
    let phrase = b.text(fts_phrase(t));
    let mut c = conditions(f, &mut b);
    c.extend(f.user.as_ref().map(|u| by_user(&mut b, u)));
    c.push(format!("audit_events_fts MATCH {phrase}"));
    c.push(format!("audit_events_fts.rowid >= {}", b.int(lo)));
    if hi != i64::MAX {
        c.push(format!("audit_events_fts.rowid < {}", b.int(hi)));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events_fts CROSS JOIN audit_events e \
         ON e.id = audit_events_fts.rowid WHERE {} \
         ORDER BY audit_events_fts.rowid DESC LIMIT {want}",
        and(&c)
    );
    fetch(db, sql, b).await
}

/// PostgreSQL, a term of three characters or more: the `newest` events of
/// the range first, where a common term fills the page; else the trigram
/// index gives the older matches, which are sorted.
async fn postgres_indexed(
    db: &Db,
    f: &Filter,
    t: &str,
    (lo, hi): (i64, i64),
    newest_first: i64,
    want: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let top = if hi == i64::MAX {
        newest(db).await? + 1
    } else {
        hi
    };
    let split = lo.max(top - newest_first);
    // `strpos` in the window (row by row, newest first: the trigram index
    // would read its whole posting lists for a handful of rows); LIKE, which
    // the trigram index serves, below it.
    let matching = |b: &mut Binds, lo: i64, hi: i64, window: bool| {
        let term = b.text(if window {
            t.to_string()
        } else {
            like_pattern(t)
        });
        let mut c = conditions(f, b);
        c.extend(f.user.as_ref().map(|u| by_user(b, u)));
        c.push(if window {
            contains(Dialect::Postgres, &term)
        } else {
            format!("e.search_text LIKE {term}")
        });
        c.extend(range(b, lo, hi, !window));
        and(&c)
    };
    let mut b = Binds::default();
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events e WHERE {} ORDER BY e.id DESC LIMIT {want}",
        matching(&mut b, split, top, true)
    );
    let mut rows = fetch(db, sql, b).await?;
    if rows.len() as i64 >= want || split <= lo {
        return Ok(rows);
    }
    let mut b = Binds::default();
    // MATERIALIZED: the matches from the index, then sorted, rather than a
    // walk of the whole table in id order hoping to meet them.
    let sql = format!(
        "WITH m AS MATERIALIZED (SELECT e.id FROM audit_events e WHERE {}) \
         SELECT {COLUMNS} FROM audit_events e JOIN (SELECT id FROM m ORDER BY id DESC LIMIT {}) \
         AS top ON top.id = e.id ORDER BY e.id DESC",
        matching(&mut b, lo, split, false),
        want - rows.len() as i64
    );
    rows.extend(fetch(db, sql, b).await?);
    Ok(rows)
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
        "SELECT {COLUMNS} FROM audit_log e WHERE e.id > $1 AND e.at >= $2 \
         ORDER BY e.id LIMIT $3"
    )))
    .bind(after)
    .bind(since)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}
