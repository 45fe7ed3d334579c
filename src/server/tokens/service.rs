//! The rules for tokens: who may mint, see and revoke which, what a valid
//! description is, and what a presented token proves. Nothing of HTTP here.

use super::format::PlainToken;
use super::last_used::LastUsed;
use super::lifecycle::{is_expired, merge_ips, Lifetime};
use super::{repo, AccessToken};
use crate::model::{
    control_message, refused_control, Lines, TabCounts, TokenFilter, TOKEN_TEXT_MAX,
};
use crate::server::allowlist::Allowlist;
use crate::server::audit::Who;
use crate::server::auth_cache::{AuthCache, Verified};
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::identity::{AuthError, Caller};
use crate::server::metrics;
use crate::server::scope::Grants;
use crate::server::scopes::repo as scopes_repo;
use crate::server::time::{iso, now_millis};
use futures_util::{Stream, StreamExt};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

pub use crate::server::identity::BEARER_FORBIDDEN;

/// The token service: the database plus the in-memory last-used batch.
#[derive(Clone)]
pub struct Tokens {
    pub db: Db,
    /// Verified tokens, in front of the database read (see `auth_cache`).
    pub cache: Arc<AuthCache>,
    pub last_used: Arc<LastUsed>,
    lookups: Arc<AtomicU64>,
    max_active_per_user: u32,
    /// Complete admin lists being read (see [`Tokens::admin_all`]).
    streams: Arc<Semaphore>,
    lifetime: Lifetime,
}

/// What a user asks for when creating a token (GoCD's `description`, and
/// tollgate's optional fields).
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub description: String,
    pub scopes: Option<Vec<String>>,
    /// In `created_at`'s format.
    pub expires_at: Option<String>,
    pub allowed_cidrs: Option<Vec<String>>,
}

/// The cause of every revoke a leak report makes.
pub const LEAK_CAUSE: &str = "Reported as leaked";
/// Who revokes what no user did (leak reports).
pub use crate::server::audit::SYSTEM;

/// The cause of every revoke that reuse detection makes.
pub const REUSE_CAUSE: &str = "Rotation of an already rotated token; family revoked";

/// Most scopes one token may name.
pub const SCOPES_MAX: usize = 64;

/// How many complete admin lists may be read at once: each holds a database
/// connection for as long as its reader takes.
const STREAMS: usize = 2;
/// How long a complete list waits for its turn before a 503.
const STREAM_WAIT: Duration = Duration::from_secs(10);

/// A description: required, at most 1024 characters, trimmed. Line breaks
/// and tabs are allowed (it is typed in a textarea); any other control
/// character is refused, before trimming, so none is silently dropped.
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        check_text("description", raw)?;
        let d = raw.trim();
        if d.is_empty() {
            return Err(ServiceError::invalid("description", "must not be blank"));
        }
        Ok(Description(d.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A revoke cause: optional (blank means none), otherwise as a [`Description`].
pub struct RevokeCause(String);

impl RevokeCause {
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, ServiceError> {
        let Some(raw) = raw else { return Ok(None) };
        check_text("revoke_cause", raw)?;
        match raw.trim() {
            "" => Ok(None),
            c => Ok(Some(RevokeCause(c.to_string()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rules both textareas share: bounded, and no control characters but
/// line breaks and tabs. The length counts the text as it will be stored.
fn check_text(field: &'static str, raw: &str) -> Result<(), ServiceError> {
    if refused_control(raw, Lines::Multi).is_some() {
        return Err(ServiceError::invalid(field, control_message(Lines::Multi)));
    }
    if raw.trim().chars().count() > TOKEN_TEXT_MAX {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {TOKEN_TEXT_MAX} characters"),
        ));
    }
    Ok(())
}

pub use crate::server::config::DEFAULT_MAX_ACTIVE_TOKENS_PER_USER as DEFAULT_MAX_ACTIVE_PER_USER;

/// Why one more token was refused: the owner holds `max` active ones.
pub fn too_many_active(max: u32) -> ServiceError {
    ServiceError::invalid(
        "access_tokens",
        format!(
            "You already have {max} active access tokens, the most allowed. \
             Revoke tokens you no longer use before creating more."
        ),
    )
}

pub fn not_found(id: impl std::fmt::Display) -> ServiceError {
    ServiceError::NotFound(format!("Access token with id '{id}' was not found!"))
}

use super::search::{self, Cursor, Search};
pub use super::search::{SearchTerm, SEARCH_MAX};
/// Largest page of the admin list (and its size when none is asked for).
pub const PAGE_MAX: i64 = 1000;
pub use crate::model::COUNT_CAP;

/// One page of the admin list, and where the next one starts.
pub struct Page {
    pub tokens: Vec<AccessToken>,
    pub next: Option<String>,
}

/// What an admin asks of the list: GoCD's `filter`, plus tollgate's `q`,
/// `page_size` and `after`.
#[derive(Default)]
pub struct AdminListQuery {
    pub filter: TokenFilter,
    pub q: Option<String>,
    pub page_size: Option<i64>,
    pub after: Option<String>,
    /// Only active tokens that expire within this many days (tollgate's).
    pub expiring_within_days: Option<i64>,
}

/// Most days `expiring_within_days` may look ahead.
pub const EXPIRING_WITHIN_MAX: i64 = 36_500;

/// Reads `expiring_within_days`: a whole number of days, 1 to
/// [`EXPIRING_WITHIN_MAX`].
pub fn expiring_within(raw: Option<&str>) -> Result<Option<i64>, ServiceError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<i64>() {
        Ok(d) if (1..=EXPIRING_WITHIN_MAX).contains(&d) => Ok(Some(d)),
        _ => Err(ServiceError::BadRequest(format!(
            "Value of query parameter `expiring_within_days` must be a number of days from 1 to {EXPIRING_WITHIN_MAX}."
        ))),
    }
}

fn encode_cursor(filter: TokenFilter, last: &AccessToken) -> String {
    match filter {
        TokenFilter::Revoked => format!("r{}_{}", last.revoked_at.unwrap_or(0), last.id),
        _ => format!("i{}", last.id),
    }
}

fn decode_cursor(filter: TokenFilter, raw: &str) -> Result<Cursor, ServiceError> {
    let bad = || {
        ServiceError::BadRequest(
            "Invalid value for query parameter `after`: use the `next` link of the previous page."
                .into(),
        )
    };
    let cursor = if let Some(id) = raw.strip_prefix('i') {
        Cursor::Id(id.parse().map_err(|_| bad())?)
    } else if let Some(rest) = raw.strip_prefix('r') {
        let (at, id) = rest.split_once('_').ok_or_else(bad)?;
        Cursor::Revoked {
            at: at.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        }
    } else {
        return Err(bad());
    };
    match (filter, cursor) {
        (TokenFilter::Revoked, Cursor::Revoked { .. }) => Ok(cursor),
        (TokenFilter::Active | TokenFilter::Expired | TokenFilter::All, Cursor::Id(_)) => {
            Ok(cursor)
        }
        _ => Err(bad()),
    }
}

async fn counts(search: &Search<'_>) -> Result<TabCounts, sqlx::Error> {
    Ok(TabCounts {
        active: search.count(TokenFilter::Active, COUNT_CAP).await?,
        expired: search.count(TokenFilter::Expired, COUNT_CAP).await?,
        revoked: search.count(TokenFilter::Revoked, COUNT_CAP).await?,
    })
}

impl Tokens {
    pub fn new(db: Db, cache: Arc<AuthCache>) -> Self {
        Tokens {
            db,
            cache,
            last_used: Arc::new(LastUsed::default()),
            lookups: Arc::new(AtomicU64::default()),
            max_active_per_user: DEFAULT_MAX_ACTIVE_PER_USER,
            streams: Arc::new(Semaphore::new(STREAMS)),
            lifetime: Lifetime::default(),
        }
    }

    /// The longest a token may live, in days (`None`: no maximum).
    pub fn with_max_lifetime_days(mut self, days: Option<u32>) -> Self {
        self.lifetime = Lifetime {
            max_days: days.filter(|&d| d > 0),
        };
        self
    }

    /// The lifetime policy in force.
    pub fn lifetime(&self) -> Lifetime {
        self.lifetime
    }

    /// How many active tokens one user may hold (at least 1).
    pub fn with_max_active_per_user(mut self, max: u32) -> Self {
        self.max_active_per_user = max.max(1);
        self
    }

    /// How many tokens are active, expired and revoked now (the metrics'
    /// `tollgate_tokens`, read at most once a minute).
    pub async fn state_counts(&self) -> Result<[i64; 3], ServiceError> {
        Ok(repo::state_counts(&self.db, now_millis()).await?)
    }

    /// Database lookups made to authenticate tokens since start.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Shows the newest use, even one not yet flushed.
    fn fresh(&self, mut t: AccessToken) -> AccessToken {
        if let Some(use_) = self.last_used.pending(t.id) {
            if t.last_used_at.is_none_or(|db| db < use_.at) {
                t.last_used_at = Some(use_.at);
            }
            t.last_used_ips = merge_ips(&t.last_used_ips, &use_.ips);
            if use_.user_agent.is_some() {
                t.last_used_user_agent = use_.user_agent;
            }
        }
        t
    }

    /// A GoCD token: `api` scope, the policy's expiry, usable anywhere.
    pub async fn create(
        &self,
        caller: &Caller,
        description: &str,
    ) -> Result<(AccessToken, PlainToken), ServiceError> {
        let ask = TokenRequest {
            description: description.to_string(),
            ..TokenRequest::default()
        };
        self.create_with(caller, &ask).await
    }

    /// A token as asked for: scopes (`None`: `api`, as GoCD's), each a
    /// built-in scope or a service scope an admin defined; an expiry within
    /// the policy (`None`: the policy's maximum, or never); the networks it
    /// may be used from (`None`: anywhere).
    pub async fn create_with(
        &self,
        caller: &Caller,
        ask: &TokenRequest,
    ) -> Result<(AccessToken, PlainToken), ServiceError> {
        caller.refuse_bearer()?;
        let description = Description::parse(&ask.description)?;
        let grants = match &ask.scopes {
            None => Grants::default_api(),
            Some(raw) => {
                if raw.len() > SCOPES_MAX {
                    return Err(ServiceError::invalid(
                        "scopes",
                        format!("must name at most {SCOPES_MAX} scopes"),
                    ));
                }
                let defined = scopes_repo::names(&self.db).await?;
                Grants::parse(raw.iter().map(String::as_str), |n| defined.contains(n))?
            }
        };
        let now = now_millis();
        let expires_at = self.lifetime.expiry(ask.expires_at.as_deref(), now)?;
        let allowed = Allowlist::parse(ask.allowed_cidrs.as_deref().unwrap_or_default())?;
        let plain = PlainToken::generate();
        let new = repo::NewToken {
            description: description.as_str(),
            grants: &grants,
            expires_at,
            allowed_cidrs: &allowed,
            rotated_from: None,
        };
        let token = match repo::insert(
            &self.db,
            &plain.hash(),
            &new,
            &caller.user,
            i64::from(self.max_active_per_user),
            now,
            &Who::caller(caller),
        )
        .await?
        {
            repo::Inserted::Token(t) => *t,
            repo::Inserted::AtCap => return Err(too_many_active(self.max_active_per_user)),
            // Disabled or deleted since the caller was authenticated.
            repo::Inserted::UserGone => return Err(ServiceError::forbidden()),
            repo::Inserted::ScopeGone => {
                return Err(ServiceError::invalid(
                    "scopes",
                    "a scope it names was deleted meanwhile",
                ))
            }
        };
        tracing::info!(token_id = token.id, user = %caller.user.login_name, scopes = %grants.to_stored(), "access token created");
        Ok((token, plain))
    }

    /// Replaces one of the caller's own tokens with a new one (shown once)
    /// that keeps its description, scopes and networks, with a lifetime as
    /// long as the old one's within the policy; the old one is revoked in
    /// the same transaction. Rotating a token that was rotated away already
    /// means a copy of it is loose: every active token of its rotation chain
    /// is revoked, and the answer is 409.
    pub async fn rotate_own(
        &self,
        caller: &Caller,
        id: i64,
    ) -> Result<(AccessToken, PlainToken), ServiceError> {
        caller.refuse_bearer()?;
        let plain = PlainToken::generate();
        let now = now_millis();
        let lifetime = self.lifetime;
        let rotated = repo::rotate(
            &self.db,
            id,
            &caller.user,
            &plain.hash(),
            |old| lifetime.rotated(old, now),
            REUSE_CAUSE,
            now,
            &Who::caller(caller),
        )
        .await?;
        match rotated {
            repo::Rotated::Token { new, old } => {
                self.cache.changed(&self.db).await;
                tracing::info!(token_id = new.id, rotated_from = old.id, user = %caller.user.login_name, "access token rotated");
                Ok((*new, plain))
            }
            repo::Rotated::Reused(revoked) => {
                self.cache.changed(&self.db).await;
                tracing::warn!(token_id = id, revoked, user = %caller.user.login_name, "rotation of an already rotated token; family revoked");
                Err(ServiceError::Conflict(format!(
                    "Access token {id} was rotated already, so a copy of it may be loose: \
                     every active token rotated from it ({revoked}) has been revoked. \
                     Generate a new token."
                )))
            }
            repo::Rotated::AlreadyRevoked => Err(ServiceError::Conflict(
                "Access token has already been revoked!".into(),
            )),
            repo::Rotated::NotFound => Err(not_found(id)),
        }
    }

    pub async fn list_own(
        &self,
        caller: &Caller,
        filter: TokenFilter,
    ) -> Result<Vec<AccessToken>, ServiceError> {
        caller.refuse_bearer()?;
        let tokens = repo::list_for_user(&self.db, caller.user.id, filter, now_millis()).await?;
        Ok(tokens.into_iter().map(|t| self.fresh(t)).collect())
    }

    pub async fn get_own(&self, caller: &Caller, id: i64) -> Result<AccessToken, ServiceError> {
        caller.refuse_bearer()?;
        repo::find_for_user(&self.db, caller.user.id, id)
            .await?
            .map(|t| self.fresh(t))
            .ok_or_else(|| not_found(id))
    }

    /// Revokes one of the caller's own tokens. Another user's token is 404,
    /// a revoked one 409; of concurrent revokes exactly one succeeds.
    pub async fn revoke_own(
        &self,
        caller: &Caller,
        id: i64,
        cause: Option<&str>,
    ) -> Result<AccessToken, ServiceError> {
        caller.refuse_bearer()?;
        self.revoke(id, Some(caller.user.id), &Who::caller(caller), cause)
            .await
    }

    /// Revokes `id` for `who`; `owner` limits it to that user's tokens
    /// (`None`: anyone's, for admins). Unknown (or not the owner's) is 404,
    /// already revoked is 409.
    async fn revoke(
        &self,
        id: i64,
        owner: Option<i64>,
        who: &Who,
        cause: Option<&str>,
    ) -> Result<AccessToken, ServiceError> {
        let cause = RevokeCause::parse(cause)?;
        let cause = cause.as_ref().map(RevokeCause::as_str);
        if let Some(t) = repo::revoke(&self.db, id, owner, cause, now_millis(), who).await? {
            self.cache.changed(&self.db).await;
            tracing::info!(token_id = t.id, by = %who.actor, by_admin = owner.is_none(), "access token revoked");
            return Ok(self.fresh(t));
        }
        let exists = match owner {
            Some(user_id) => repo::find_for_user(&self.db, user_id, id).await?.is_some(),
            None => repo::find(&self.db, id).await?.is_some(),
        };
        if exists {
            Err(ServiceError::Conflict(
                "Access token has already been revoked!".into(),
            ))
        } else {
            Err(not_found(id))
        }
    }

    /// A leak report: revokes each well-formed, active token among `raw`
    /// (cause [`LEAK_CAUSE`], by `system`). Anything else is ignored, and the
    /// caller is never told what matched. Returns how many were revoked.
    pub async fn revoke_reported(
        &self,
        raw: &[String],
        reporter: IpAddr,
    ) -> Result<usize, ServiceError> {
        let mut hashes: Vec<String> = raw
            .iter()
            .filter_map(|r| PlainToken::parse(r.trim()).ok())
            .map(|t| t.hash().0)
            .collect();
        hashes.sort();
        hashes.dedup();
        if hashes.is_empty() {
            return Ok(0);
        }
        let who = Who::system(Some(reporter));
        let revoked =
            repo::revoke_by_hashes(&self.db, &hashes, LEAK_CAUSE, now_millis(), &who).await?;
        if !revoked.is_empty() {
            self.cache.changed(&self.db).await;
        }
        for t in &revoked {
            tracing::warn!(token_id = t.id, user = %t.username, reporter = %reporter, "access token revoked: reported as leaked");
        }
        tracing::info!(reported = raw.len(), revoked = revoked.len(), reporter = %reporter, "leaked-token report");
        Ok(revoked.len())
    }

    /// Everyone's tokens, a page at a time, optionally searched by a
    /// case-insensitive substring of description or username.
    pub async fn admin_list(
        &self,
        caller: &Caller,
        query: AdminListQuery,
    ) -> Result<Page, ServiceError> {
        caller.require_admin()?;
        let term = SearchTerm::parse(query.q.as_deref())?;
        let search =
            Search::new(&self.db, term.as_ref()).expiring_within(query.expiring_within_days);
        self.page(&search, query.filter, query.page_size, query.after)
            .await
    }

    /// Everyone's tokens of the filter's state (those matching `q`, if any),
    /// all of them, in the list's order, as GoCD's unpaged list answers:
    /// read row by row, in constant memory, however many there are.
    pub async fn admin_all(
        &self,
        caller: &Caller,
        filter: TokenFilter,
        q: Option<&str>,
        expiring_within_days: Option<i64>,
    ) -> Result<impl Stream<Item = Result<AccessToken, ServiceError>> + Send + 'static, ServiceError>
    {
        caller.require_admin()?;
        let term = SearchTerm::parse(q)?;
        let busy = || {
            ServiceError::Busy(format!(
                "{STREAMS} complete lists of access tokens are being read already. \
                 Try again shortly, or page through the list with `page_size`."
            ))
        };
        let permit = tokio::time::timeout(STREAM_WAIT, self.streams.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let this = self.clone();
        let now = now_millis();
        let when = search::When {
            now,
            horizon: expiring_within_days.map(|d| now + d * crate::server::time::DAY_MILLIS),
        };
        Ok(
            search::everything(&self.db, when, filter, term.as_ref(), permit)
                .map(move |row| row.map(|t| this.fresh(t)).map_err(ServiceError::from)),
        )
    }

    async fn page(
        &self,
        search: &Search<'_>,
        filter: TokenFilter,
        page_size: Option<i64>,
        after: Option<String>,
    ) -> Result<Page, ServiceError> {
        let limit = match page_size {
            None => PAGE_MAX,
            Some(n) if (1..=PAGE_MAX).contains(&n) => n,
            Some(_) => {
                return Err(ServiceError::BadRequest(format!(
                    "Value of query parameter `page_size` must be between 1 and {PAGE_MAX}."
                )))
            }
        };
        let after = match after.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(decode_cursor(filter, raw)?),
        };
        // One more than asked tells whether there is a next page.
        let mut tokens = search.page(filter, after, limit + 1).await?;
        let next = if tokens.len() as i64 > limit {
            tokens.truncate(limit as usize);
            tokens.last().map(|t| encode_cursor(filter, t))
        } else {
            None
        };
        Ok(Page {
            tokens: tokens.into_iter().map(|t| self.fresh(t)).collect(),
            next,
        })
    }

    /// What the admin page shows: a page of the list (the page's size) and,
    /// on the first page, both tabs' counts, from one look at the search.
    pub async fn admin_page(
        &self,
        caller: &Caller,
        filter: TokenFilter,
        q: &str,
        after: Option<String>,
    ) -> Result<(Page, Option<TabCounts>), ServiceError> {
        caller.require_admin()?;
        let term = SearchTerm::parse(Some(q))?;
        let search = Search::new(&self.db, term.as_ref());
        let first = after.is_none();
        let page = self
            .page(&search, filter, Some(crate::model::ADMIN_PAGE_SIZE), after)
            .await?;
        let counts = if first {
            Some(counts(&search).await?)
        } else {
            None
        };
        Ok((page, counts))
    }

    /// How many active, expired and revoked tokens match a search, each
    /// capped at [`COUNT_CAP`].
    pub async fn admin_counts(
        &self,
        caller: &Caller,
        q: Option<&str>,
    ) -> Result<TabCounts, ServiceError> {
        caller.require_admin()?;
        let term = SearchTerm::parse(q)?;
        Ok(counts(&Search::new(&self.db, term.as_ref())).await?)
    }

    pub async fn admin_get(&self, caller: &Caller, id: i64) -> Result<AccessToken, ServiceError> {
        caller.require_admin()?;
        repo::find(&self.db, id)
            .await?
            .map(|t| self.fresh(t))
            .ok_or_else(|| not_found(id))
    }

    /// Revokes anyone's token.
    pub async fn admin_revoke(
        &self,
        caller: &Caller,
        id: i64,
        cause: Option<&str>,
    ) -> Result<AccessToken, ServiceError> {
        caller.require_admin()?;
        self.revoke(id, None, &Who::caller(caller), cause).await
    }

    /// What a presented Bearer token proves to a request from `client`,
    /// recorded as a use of it (the API, forward-auth): [`Tokens::verify`],
    /// and the token's networks must hold the client.
    pub async fn authenticate(
        &self,
        token: &PlainToken,
        client: IpAddr,
        user_agent: Option<&str>,
    ) -> Result<Verified, AuthError> {
        let verified = self.verify(token).await?;
        if !verified.allowed.allows(client) {
            return Err(AuthError::NotAllowedFrom(client.to_canonical()));
        }
        self.last_used
            .record(verified.token_id, now_millis(), client, user_agent);
        Ok(verified)
    }

    /// What a presented token proves, without recording a use (introspection).
    /// Malformed tokens (wrong prefix, length or checksum) never get here:
    /// `PlainToken::parse` refuses them where the header is read. A valid one
    /// is looked up by its hash, unless it was verified moments ago and
    /// nothing that could refuse it has changed since (see `auth_cache`).
    /// Expiry is judged on every call, cached or not.
    pub async fn verify(&self, token: &PlainToken) -> Result<Verified, AuthError> {
        let verified = self.lookup(token).await?;
        if let Some(at) = verified
            .expires_at
            .filter(|&e| is_expired(Some(e), now_millis()))
        {
            return Err(AuthError::ExpiredToken(iso(at)));
        }
        Ok(verified)
    }

    async fn lookup(&self, token: &PlainToken) -> Result<Verified, AuthError> {
        let hash = token.hash();
        let cache = &self.cache;
        if let Some(hit) = cache.get(&hash.0) {
            metrics::auth_cache(true);
            return Ok(hit);
        }
        metrics::auth_cache(false);
        let epoch = cache.epoch();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let row = repo::find_for_auth(&self.db, &hash)
            .await
            .map_err(ServiceError::from)?
            .ok_or(AuthError::InvalidToken)?;
        // The index found it by equality already; compare again in constant time.
        if !bool::from(row.token_hash.as_bytes().ct_eq(hash.0.as_bytes())) {
            return Err(AuthError::InvalidToken);
        }
        if row.user_deleted || row.revoked_because_user_deleted {
            return Err(AuthError::InvalidToken);
        }
        if row.revoked {
            return Err(AuthError::RevokedToken(iso(row.revoked_at.unwrap_or(0))));
        }
        if !row.user.enabled {
            return Err(AuthError::Disabled);
        }
        let verified = Verified {
            token_id: row.token_id,
            user: row.user,
            grants: Grants::from_stored(&row.scopes),
            created_at: row.created_at,
            expires_at: row.expires_at,
            allowed: Allowlist::from_stored(&row.allowed_cidrs),
        };
        cache.insert(epoch, hash.0, verified.clone());
        Ok(verified)
    }
}
