//! The OpenAPI 3.1 document of the REST API, served at `GET /go/api/openapi.json`
//! without authentication and whatever the `Accept` header says.
//!
//! It is generated from the code: utoipa derives the schemas (the request
//! bodies are the handlers' own types; the answers, built with `json!` in
//! the handlers, are described by the types below), each operation is an
//! attribute on a stub in [`ops`], and [`document`] then adds what every
//! route of a kind shares: the errors of the authentication extractor, of
//! `GoJson` bodies, and GoCD's `Accept` versioning, read from the router's
//! own route table ([`super::routes`]), so the versions documented are the
//! versions served. `tests/integration/openapi.rs` checks that every route
//! served is documented.

use super::{base_url, routes, WRONG_URL};
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Where the document is served.
pub const PATH: &str = "/go/api/openapi.json";

/// `GET /go/api/openapi.json`: the document, with this server as its server.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut doc = document().clone();
    doc["servers"] = json!([{ "url": base_url(&state, &headers) }]);
    ([(header::CACHE_CONTROL, "no-cache")], Json(doc)).into_response()
}

/// The document, built once per process.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
        let versions: HashMap<&str, u8> = routes()
            .paths()
            .iter()
            .filter_map(|p| p.version.map(|v| (p.path, v)))
            .collect();
        if let Some(paths) = doc["paths"].as_object_mut() {
            for (path, item) in paths.iter_mut() {
                let version = versions.get(path.as_str()).copied();
                let Some(item) = item.as_object_mut() else {
                    continue;
                };
                let methods = item.len();
                for (method, op) in item.iter_mut() {
                    complete(op, method, methods, version);
                    link(op);
                }
            }
        }
        doc
    })
}

/// Where an answer leads (OpenAPI links, which client generators and
/// Schemathesis's stateful tests follow): from the 200 of one operation, a
/// parameter of another, taken from the answer's body.
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("create_token", "show_token", "id", "$response.body#/id"),
    ("create_token", "revoke_token", "id", "$response.body#/id"),
    ("create_token", "rotate_token", "id", "$response.body#/id"),
    (
        "create_token",
        "admin_show_token",
        "id",
        "$response.body#/id",
    ),
    (
        "create_token",
        "admin_revoke_token",
        "id",
        "$response.body#/id",
    ),
    ("rotate_token", "show_token", "id", "$response.body#/id"),
    ("rotate_token", "rotate_token", "id", "$response.body#/id"),
    ("rotate_token", "revoke_token", "id", "$response.body#/id"),
    (
        "create_user",
        "show_user",
        "login_name",
        "$response.body#/login_name",
    ),
    (
        "create_user",
        "update_user",
        "login_name",
        "$response.body#/login_name",
    ),
    (
        "create_user",
        "delete_user",
        "login_name",
        "$response.body#/login_name",
    ),
    (
        "update_user",
        "delete_user",
        "login_name",
        "$response.body#/login_name",
    ),
    (
        "create_scope",
        "delete_scope",
        "name",
        "$response.body#/name",
    ),
];

fn link(op: &mut Value) {
    let Some(from) = op["operationId"].as_str().map(str::to_string) else {
        return;
    };
    for (_, to, param, expr) in LINKS.iter().filter(|l| l.0 == from) {
        op["responses"]["200"]["links"][*to] = json!({
            "operationId": to,
            "parameters": { *param: expr },
        });
    }
}

/// The media type of GoCD's API version `v`.
fn media_type(v: u8) -> String {
    format!("application/vnd.go.cd.v{v}+json")
}

/// What every operation of a versioned route shares: its answers are of
/// the version's media type (which a client also sends as its `Accept`), and
/// a missing or other version is GoCD's 404 in plain text.
fn complete(op: &mut Value, method: &str, methods: usize, version: Option<u8>) {
    // One stub documents every method of `any` routes: one id each.
    if methods > 1 {
        if let Some(id) = op["operationId"].as_str().filter(|id| id.ends_with("_any")) {
            op["operationId"] = json!(format!("{}_{method}", id.trim_end_matches("_any")));
        }
    }
    let Some(v) = version else {
        return;
    };
    let accept = media_type(v);
    let note = format!(
        "\n\nNeeds `Accept: {accept}` (or `application/vnd.go.cd+json`, the latest version); \
         without it the answer is 404 `{WRONG_URL}`"
    );
    let description = match op["description"].as_str() {
        Some(d) => format!("{d}{note}"),
        None => note.trim_start().to_string(),
    };
    op["description"] = json!(description);
    op["x-gocd-accept"] = json!(accept);
    let Some(responses) = op["responses"].as_object_mut() else {
        return;
    };
    for response in responses.values_mut() {
        if let Some(content) = response["content"].as_object_mut() {
            if let Some(json) = content.remove("application/json") {
                content.insert(accept.clone(), json);
            }
        }
    }
    const WRONG_VERSION: &str = "A missing or unsupported `Accept` version (text/plain).";
    let not_found = responses
        .entry("404")
        .or_insert_with(|| json!({ "description": "" }));
    let described = not_found["description"].as_str().unwrap_or_default();
    not_found["description"] = json!(match described {
        "" => WRONG_VERSION.to_string(),
        d => format!("{d} Or: {WRONG_VERSION}"),
    });
    let content = not_found
        .as_object_mut()
        .map(|r| r.entry("content").or_insert_with(|| json!({})));
    if let Some(Value::Object(content)) = content {
        content.insert(
            "text/plain".into(),
            json!({ "schema": { "type": "string", "const": WRONG_URL } }),
        );
    }
}

/// Every operation's id, for the tests: each must be unique.
pub fn operation_ids() -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(paths) = document()["paths"].as_object() {
        for item in paths.values().filter_map(Value::as_object) {
            ids.extend(
                item.values()
                    .filter_map(|op| op["operationId"].as_str().map(str::to_string)),
            );
        }
    }
    ids
}

/// Every documented (path, method), methods in upper case.
pub fn operations() -> HashSet<(String, String)> {
    let mut ops = HashSet::new();
    if let Some(paths) = document()["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().map(Map::keys).into_iter().flatten() {
                ops.insert((path.clone(), method.to_ascii_uppercase()));
            }
        }
    }
    ops
}

const DESCRIPTION: &str = "\
tollgate's personal access tokens, with GoCD's access-token, users and current-user APIs \
(scripts written for GoCD work unchanged) and tollgate's additions: scopes, expiry, rotation, \
network allowlists, leaked-token reports, forward-auth for reverse proxies and RFC 7662 \
introspection.

**Versions.** Each route under `/go/api` but this document and `credentials/revoke` answers only the GoCD version it speaks, named in the `Accept` \
header: `application/vnd.go.cd.v1+json` (tokens, current user, scopes) or \
`application/vnd.go.cd.v3+json` (users); `application/vnd.go.cd+json` means the latest. A \
missing or other version answers 404, `text/plain`, `The url you are trying to reach appears \
to be incorrect.` Each operation says which in `x-gocd-accept`, and its answers are of that \
media type.

**Authentication.** HTTP Basic (a user's password), `Authorization: Bearer <token>` (a \
personal access token, `tgp_...`), or the web session cookie. A token never manages tokens \
(403). Anonymous calls to protected routes answer 401; too many failed attempts from one \
client answer 429 with `Retry-After`.

**Errors** are `{\"message\": \"...\"}`; validation errors are 422 with an `errors` object \
(`{\"description\": [\"must not be blank\"]}`). Dates are ISO-8601 UTC without fractions \
(`2019-02-20T10:45:10Z`); unset dates are `null`. A blank request body counts as `{}`; a \
body must be JSON (`Content-Type: application/json`), at most 64 KiB.";

#[derive(OpenApi)]
#[openapi(
    info(title = "tollgate", description = DESCRIPTION, license(name = "MIT", identifier = "MIT")),
    paths(
        ops::version,
        ops::current_user,
        ops::list_users,
        ops::create_user,
        ops::show_user,
        ops::update_user,
        ops::delete_user,
        ops::list_tokens,
        ops::create_token,
        ops::show_token,
        ops::revoke_token,
        ops::rotate_token,
        ops::admin_list_tokens,
        ops::admin_show_token,
        ops::admin_revoke_token,
        ops::list_scopes,
        ops::create_scope,
        ops::delete_scope,
        ops::admin_audit_events,
        ops::own_audit_events,
        ops::report_leaked,
        ops::cctray,
        ops::openapi,
        ops::healthz,
        ops::readyz,
        ops::verify_any,
        ops::introspect,
    ),
    components(schemas(crate::model::TokenFilter)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "access tokens", description = "The caller's own tokens (GoCD v1). Basic or a session: a token never manages tokens."),
        (name = "admin", description = "Everyone's tokens and the service scopes (v1), admins only."),
        (name = "users", description = "GoCD's users API (v3), admins only."),
        (name = "current user", description = "Who is calling (v1)."),
        (name = "audit", description = "The audit log (v1): everyone's events for admins, one's own for everyone. Never with a token."),
        (name = "leaked tokens", description = "Reporting a leaked token kills it, without an account."),
        (name = "gateway", description = "Forward-auth for reverse proxies and RFC 7662 introspection."),
        (name = "server", description = "Version, health, the CCTray feed and this document."),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("A user's login name and password."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tgp_ + 36 letters and digits")
                    .description(Some(
                        "A personal access token; it opens the API with the `api` scope \
                         (`read_api`: GET and HEAD only).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::server::users::session::COOKIE_NAME,
                "The web app's session, after signing in at /go/auth/login.",
            ))),
        );
    }
}

/// The shapes of the answers, as the handlers write them.
#[allow(dead_code)]
mod schemas {
    use std::collections::BTreeMap;
    use utoipa::ToSchema;

    /// A HAL link.
    #[derive(ToSchema)]
    pub struct Link {
        pub href: String,
    }

    /// GoCD's error: a message.
    #[derive(ToSchema)]
    #[schema(example = json!({"message": "Access token with id '42' was not found!"}))]
    pub struct Message {
        pub message: String,
    }

    /// A refused field: a message, each field's errors, and, on some
    /// routes, the entity as sent (GoCD's shape).
    #[derive(ToSchema)]
    #[schema(example = json!({"message": "Validation failed. Description must not be blank", "errors": {"description": ["must not be blank"]}}))]
    pub struct ValidationError {
        pub message: String,
        /// Each refused field's messages.
        pub errors: Option<BTreeMap<String, Vec<String>>>,
    }

    /// `self` and `doc`.
    #[derive(ToSchema)]
    pub struct Links {
        #[schema(rename = "self")]
        pub self_: Link,
        pub doc: Link,
    }

    /// `self`, `doc` and `find` (the URI template of any one).
    #[derive(ToSchema)]
    pub struct ItemLinks {
        #[schema(rename = "self")]
        pub self_: Link,
        pub doc: Link,
        pub find: Link,
    }

    /// The admin list's links: `next` while more tokens remain (paged lists only).
    #[derive(ToSchema)]
    pub struct PageLinks {
        #[schema(rename = "self")]
        pub self_: Link,
        pub doc: Link,
        pub next: Option<Link>,
    }

    /// Writes a token schema: GoCD's fields, tollgate's, and `extra`.
    macro_rules! token_schema {
        ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }) => {
            $(#[$doc])*
            #[derive(ToSchema)]
            pub struct $name {
                #[schema(rename = "_links")]
                pub links: ItemLinks,
                pub id: i64,
                pub description: String,
                /// The owner's login name.
                pub username: String,
                pub revoked: bool,
                #[schema(required = true)]
                pub revoke_cause: Option<String>,
                #[schema(required = true)]
                pub revoked_by: Option<String>,
                #[schema(required = true, format = DateTime)]
                pub revoked_at: Option<String>,
                #[schema(format = DateTime)]
                pub created_at: String,
                #[schema(required = true, format = DateTime)]
                pub last_used_at: Option<String>,
                /// What it opens: `api`, `read_api`, `introspect`, `NAME` or `NAME:read`.
                pub scopes: Vec<String>,
                /// When it stops working; `null`: never.
                #[schema(required = true, format = DateTime)]
                pub expires_at: Option<String>,
                /// Past its expiry, and not revoked.
                pub expired: bool,
                /// The token it replaced by rotation.
                #[schema(required = true)]
                pub rotated_from: Option<i64>,
                /// The last distinct client addresses it was used from, newest first.
                pub last_used_ips: Vec<String>,
                #[schema(required = true)]
                pub last_used_user_agent: Option<String>,
                /// Networks it may be used from; empty: anywhere.
                pub allowed_cidrs: Vec<String>,
                $($(#[$fdoc])* pub $field: $ty,)*
            }
        };
    }

    token_schema!(
        /// An access token, as its owner sees it. Never carries the secret.
        AccessToken {}
    );
    token_schema!(
        /// An access token, as an admin sees it.
        AdminAccessToken {
            /// Revoked because its owner was deleted.
            revoked_because_user_deleted: bool,
        }
    );
    token_schema!(
        /// A token just made: the only answer that carries its secret.
        CreatedAccessToken {
            /// The secret, shown this once.
            token: String,
        }
    );

    #[derive(ToSchema)]
    pub struct AccessTokens {
        pub access_tokens: Vec<AccessToken>,
    }

    /// The caller's tokens.
    #[derive(ToSchema)]
    pub struct AccessTokenList {
        #[schema(rename = "_links")]
        pub links: Links,
        #[schema(rename = "_embedded")]
        pub embedded: AccessTokens,
    }

    #[derive(ToSchema)]
    pub struct AdminAccessTokens {
        pub access_tokens: Vec<AdminAccessToken>,
    }

    /// Everyone's tokens: all of them, or a page with `page_size` and `after`.
    #[derive(ToSchema)]
    pub struct AdminAccessTokenList {
        #[schema(rename = "_links")]
        pub links: PageLinks,
        #[schema(rename = "_embedded")]
        pub embedded: AdminAccessTokens,
    }

    /// A user (GoCD v3).
    #[derive(ToSchema)]
    pub struct User {
        #[schema(rename = "_links")]
        pub links: ItemLinks,
        pub login_name: String,
        pub display_name: String,
        pub enabled: bool,
        #[schema(required = true)]
        pub email: Option<String>,
        pub email_me: bool,
        pub checkin_aliases: Vec<String>,
        pub is_admin: bool,
    }

    #[derive(ToSchema)]
    pub struct Users {
        pub users: Vec<User>,
    }

    #[derive(ToSchema)]
    pub struct UserList {
        #[schema(rename = "_links")]
        pub links: Links,
        #[schema(rename = "_embedded")]
        pub embedded: Users,
    }

    /// Who is calling.
    #[derive(ToSchema)]
    pub struct CurrentUser {
        #[schema(rename = "_links")]
        pub links: Links,
        pub login_name: String,
        pub display_name: String,
        pub enabled: bool,
        #[schema(required = true)]
        pub email: Option<String>,
        pub email_me: bool,
        pub checkin_aliases: Vec<String>,
    }

    /// The server's version, in GoCD's shape.
    #[derive(ToSchema)]
    pub struct Version {
        #[schema(rename = "_links")]
        pub links: Links,
        pub version: String,
        pub build_number: String,
        pub git_sha: String,
        pub full_version: String,
        pub commit_url: String,
    }

    /// A service scope: tokens may be granted `NAME` or `NAME:read`.
    #[derive(ToSchema)]
    pub struct Scope {
        pub name: String,
        pub description: String,
    }

    #[derive(ToSchema)]
    pub struct SelfLink {
        #[schema(rename = "self")]
        pub self_: Link,
    }

    #[derive(ToSchema)]
    pub struct Scopes {
        pub scopes: Vec<Scope>,
    }

    #[derive(ToSchema)]
    pub struct ScopeList {
        #[schema(rename = "_links")]
        pub links: SelfLink,
        #[schema(rename = "_embedded")]
        pub embedded: Scopes,
    }

    /// A deleted scope: how many tokens had it, and how many of those had no
    /// other scope and were revoked.
    #[derive(ToSchema)]
    pub struct ScopeDeleted {
        pub message: String,
        pub tokens: u64,
        pub revoked: u64,
    }

    /// One event of the audit log. Never carries a secret.
    #[derive(ToSchema)]
    pub struct AuditEvent {
        pub id: i64,
        /// When, in `created_at`'s format.
        #[schema(format = DateTime)]
        pub at: String,
        /// Login name, `system`, or `operator` (the command line).
        pub actor: String,
        /// `session`, `basic`, `bearer`, `cli` or `system`.
        pub actor_method: String,
        #[schema(required = true)]
        pub client_ip: Option<String>,
        #[schema(required = true)]
        pub user_agent: Option<String>,
        /// `token.created`, `token.rotated`, `token.revoked`, `auth.signed_in`,
        /// `auth.sign_in_failed`, `auth.signed_out`, `auth.throttled`,
        /// `user.created`, `user.updated`, `user.enabled`, `user.disabled`,
        /// `user.password_changed`, `user.deleted`, `scope.created` or
        /// `scope.deleted`.
        pub action: String,
        #[schema(required = true)]
        pub target_user: Option<String>,
        #[schema(required = true)]
        pub target_token_id: Option<i64>,
        /// Description, cause, scopes, changed fields.
        pub details: BTreeMap<String, serde_json::Value>,
    }

    #[derive(ToSchema)]
    pub struct AuditEvents {
        pub audit_events: Vec<AuditEvent>,
    }

    /// `self`, and `next` while older events remain.
    #[derive(ToSchema)]
    pub struct AuditLinks {
        #[schema(rename = "self")]
        pub self_: Link,
        pub next: Option<Link>,
    }

    /// A page of events, newest first.
    #[derive(ToSchema)]
    pub struct AuditEventList {
        #[schema(rename = "_links")]
        pub links: AuditLinks,
        #[schema(rename = "_embedded")]
        pub embedded: AuditEvents,
    }

    /// Always empty: the answer never says whether anything matched.
    #[derive(ToSchema)]
    pub struct Accepted {}

    #[derive(ToSchema)]
    pub struct Health {
        /// `up`.
        pub status: String,
    }

    #[derive(ToSchema)]
    pub struct Readiness {
        /// `ready` or `unavailable`.
        pub status: String,
        /// Why not ready.
        pub reason: Option<String>,
    }

    /// RFC 7662's request.
    #[derive(ToSchema)]
    pub struct IntrospectionRequest {
        /// The token to look at.
        pub token: String,
        /// Ignored.
        pub token_type_hint: Option<String>,
    }

    /// RFC 7662's answer: `{"active": false}` and nothing else for any token
    /// that is not active.
    #[derive(ToSchema)]
    pub struct Introspection {
        pub active: bool,
        /// The token's scopes, space-separated.
        pub scope: Option<String>,
        /// The owner's login name.
        pub username: Option<String>,
        /// The owner's id.
        pub sub: Option<String>,
        /// `Bearer`.
        pub token_type: Option<String>,
        /// Created, in seconds since the epoch.
        pub iat: Option<i64>,
        /// Expires, in seconds since the epoch (when it does).
        pub exp: Option<i64>,
        /// The token's id.
        pub jti: Option<String>,
    }

    /// An OAuth error (RFC 6749 section 5.2).
    #[derive(ToSchema)]
    pub struct OAuthError {
        pub error: String,
        pub error_description: String,
    }
}

/// The errors every operation shares, as `responses(...)` entries.
#[allow(dead_code)]
mod errors {
    use super::schemas::{Message, ValidationError};
    use utoipa::IntoResponses;

    /// What the authentication extractor answers on a protected route.
    #[derive(IntoResponses)]
    pub enum CallerErrors {
        /// No credentials, or wrong ones: a wrong password, an unknown,
        /// malformed, revoked or expired token, a token used from a network
        /// its allowlist does not name, or a disabled user.
        #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Basic realm=\"GoCD\"`")))]
        Unauthorized(Message),
        /// Not allowed: a token on a route tokens may not use, a token
        /// without the scope the method needs (`api`; `read_api` for GET
        /// and HEAD), or a non-admin on an admin route.
        #[response(status = 403)]
        Forbidden(Message),
        /// Too many failed authentications from this client.
        #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait.")))]
        TooManyRequests(Message),
        /// The database is unavailable, or too many passwords are being
        /// checked at once.
        #[response(status = 503, headers(("Retry-After" = u64, description = "Seconds to wait, when busy.")))]
        Unavailable(Message),
    }

    /// What a JSON request body may be refused with (`GoJson`).
    #[derive(IntoResponses)]
    pub enum BodyErrors {
        /// Not JSON, or not an object.
        #[response(status = 400)]
        BadRequest(Message),
        /// Larger than 64 KiB.
        #[response(status = 413)]
        TooLarge(Message),
        /// Not sent as JSON (`Content-Type: application/json`).
        #[response(status = 415)]
        UnsupportedMediaType(Message),
        /// A field of the wrong type, or a value the rules refuse.
        #[response(status = 422)]
        Invalid(ValidationError),
    }
}

/// The operations: one stub each, documented where it is listed.
#[allow(dead_code)]
mod ops {
    use super::errors::{BodyErrors, CallerErrors};
    use super::schemas::*;
    use crate::model::TokenFilter;
    use crate::server::rest::{credentials, scopes, tokens, users};

    /// The server's version
    ///
    /// Answers without authentication.
    #[utoipa::path(get, path = "/go/api/version", tag = "server",
        responses((status = 200, description = "The version.", body = Version)))]
    pub fn version() {}

    /// Who is calling
    #[utoipa::path(get, path = "/go/api/current_user", tag = "current user",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        responses((status = 200, description = "The caller.", body = CurrentUser), CallerErrors))]
    pub fn current_user() {}

    /// Every user
    #[utoipa::path(get, path = "/go/api/users", tag = "users",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        responses((status = 200, description = "Every user.", body = UserList), CallerErrors))]
    pub fn list_users() {}

    /// Create a user
    ///
    /// `password` and `admin` are tollgate's additions; a user created
    /// without a password cannot sign in until an admin sets one. A token
    /// cannot set a password or make an admin (403).
    #[utoipa::path(post, path = "/go/api/users", tag = "users",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        request_body = users::CreateUser,
        responses((status = 200, description = "The user made.", body = User), CallerErrors, BodyErrors))]
    pub fn create_user() {}

    /// One user
    #[utoipa::path(get, path = "/go/api/users/{login_name}", tag = "users",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        params(("login_name" = String, Path, description = "The user's login name.", example = "alice")),
        responses(
            (status = 200, description = "The user.", body = User),
            (status = 404, description = "No such user.", body = Message),
            CallerErrors))]
    pub fn show_user() {}

    /// Change a user
    ///
    /// Only the fields sent change. An admin cannot disable themself or
    /// drop their own admin rights (400). Disabling a user refuses their
    /// tokens at once and ends their sessions, as a new password does.
    #[utoipa::path(patch, path = "/go/api/users/{login_name}", tag = "users",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        params(("login_name" = String, Path, description = "The user's login name.", example = "alice")),
        request_body = Option<users::PatchUser>,
        responses(
            (status = 200, description = "The user, changed.", body = User),
            (status = 404, description = "No such user.", body = Message),
            CallerErrors, BodyErrors))]
    pub fn update_user() {}

    /// Delete a user
    ///
    /// Only a disabled user can be deleted (400 otherwise). Every token of
    /// theirs is revoked, for good; a new user of the same name is another user.
    #[utoipa::path(delete, path = "/go/api/users/{login_name}", tag = "users",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        params(("login_name" = String, Path, description = "The user's login name.", example = "alice")),
        responses(
            (status = 200, description = "Deleted.", body = Message),
            (status = 400, description = "The user is not disabled.", body = Message),
            (status = 404, description = "No such user.", body = Message),
            (status = 409, description = "The user changed meanwhile: try again.", body = Message),
            CallerErrors))]
    pub fn delete_user() {}

    /// The caller's tokens
    #[utoipa::path(get, path = "/go/api/current_user/access_tokens", tag = "access tokens",
        security(("basic" = []), ("session" = [])),
        params(("filter" = Option<TokenFilter>, Query, description = "Which tokens: `active` (also when blank), `revoked`, `expired` or `all`.")),
        responses(
            (status = 200, description = "The tokens, newest first.", body = AccessTokenList),
            (status = 400, description = "An unknown `filter`.", body = Message),
            CallerErrors))]
    pub fn list_tokens() {}

    /// Create a token
    ///
    /// Answers 200 (as GoCD, not 201) with the token and its secret, the
    /// only time the secret is shown. Without the tollgate fields the
    /// token opens the API (`api`) from anywhere and expires as the
    /// server's policy says (never, without a maximum lifetime).
    #[utoipa::path(post, path = "/go/api/current_user/access_tokens", tag = "access tokens",
        security(("basic" = []), ("session" = [])),
        request_body = tokens::CreateBody,
        responses(
            (status = 200, description = "The token, with its secret.", body = CreatedAccessToken),
            CallerErrors, BodyErrors))]
    pub fn create_token() {}

    /// One of the caller's tokens
    #[utoipa::path(get, path = "/go/api/current_user/access_tokens/{id}", tag = "access tokens",
        security(("basic" = []), ("session" = [])),
        params(("id" = i64, Path, description = "The token's id.", example = 1)),
        responses(
            (status = 200, description = "The token.", body = AccessToken),
            (status = 404, description = "No such token of the caller's.", body = Message),
            CallerErrors))]
    pub fn show_token() {}

    /// Revoke one of the caller's tokens
    #[utoipa::path(post, path = "/go/api/current_user/access_tokens/{id}/revoke", tag = "access tokens",
        security(("basic" = []), ("session" = [])),
        params(("id" = i64, Path, description = "The token's id.", example = 1)),
        request_body = Option<tokens::RevokeBody>,
        responses(
            (status = 200, description = "The token, revoked.", body = AccessToken),
            (status = 404, description = "No such token of the caller's.", body = Message),
            (status = 409, description = "Already revoked.", body = Message),
            CallerErrors, BodyErrors))]
    pub fn revoke_token() {}

    /// Rotate one of the caller's tokens
    ///
    /// A new token with the same description, scopes and networks and a
    /// lifetime as long as the old one's; the old one is revoked. Rotating a
    /// token that was rotated away before means a copy is loose: every
    /// active token of its chain is revoked and the answer is 409.
    #[utoipa::path(post, path = "/go/api/current_user/access_tokens/{id}/rotate", tag = "access tokens",
        security(("basic" = []), ("session" = [])),
        params(("id" = i64, Path, description = "The token's id.", example = 1)),
        responses(
            (status = 200, description = "The new token, with its secret.", body = CreatedAccessToken),
            (status = 404, description = "No such token of the caller's.", body = Message),
            (status = 409, description = "Revoked already, or rotated away before.", body = Message),
            (status = 422, description = "The owner holds too many active tokens.", body = ValidationError),
            CallerErrors))]
    pub fn rotate_token() {}

    /// Everyone's tokens
    ///
    /// As GoCD, every token (streamed) unless `page_size` or `after` asks
    /// for a page; `_links.next` then leads to the next one.
    #[utoipa::path(get, path = "/go/api/admin/access_tokens", tag = "admin",
        security(("basic" = []), ("session" = [])),
        params(
            ("filter" = Option<TokenFilter>, Query, description = "Which tokens: `active` (also when blank), `revoked`, `expired` or `all`."),
            ("q" = Option<String>, Query, description = "A substring of the description, the owner's login name, a scope or a client address, case-insensitive."),
            ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Tokens per page."),
            ("after" = Option<String>, Query, pattern = "^(i[0-9]{1,18}|r[0-9]{1,18}_[0-9]{1,18})$", description = "Where the page starts: from the `next` link of the previous page (`i...` for the active, expired and all lists, `r..._...` for the revoked list)."),
            ("expiring_within_days" = Option<i64>, Query, minimum = 1, maximum = 36500, description = "Only active tokens that expire within this many days."),
        ),
        responses(
            (status = 200, description = "The tokens.", body = AdminAccessTokenList),
            (status = 400, description = "An unknown `filter`, a query parameter out of its range, or a search longer than 256 characters.", body = Message),
            CallerErrors))]
    pub fn admin_list_tokens() {}

    /// Anyone's token
    #[utoipa::path(get, path = "/go/api/admin/access_tokens/{id}", tag = "admin",
        security(("basic" = []), ("session" = [])),
        params(("id" = i64, Path, description = "The token's id.", example = 1)),
        responses(
            (status = 200, description = "The token.", body = AdminAccessToken),
            (status = 404, description = "No such token.", body = Message),
            CallerErrors))]
    pub fn admin_show_token() {}

    /// Revoke anyone's token
    #[utoipa::path(post, path = "/go/api/admin/access_tokens/{id}/revoke", tag = "admin",
        security(("basic" = []), ("session" = [])),
        params(("id" = i64, Path, description = "The token's id.", example = 1)),
        request_body = Option<tokens::RevokeBody>,
        responses(
            (status = 200, description = "The token, revoked.", body = AdminAccessToken),
            (status = 404, description = "No such token.", body = Message),
            (status = 409, description = "Already revoked.", body = Message),
            CallerErrors, BodyErrors))]
    pub fn admin_revoke_token() {}

    /// The service scopes
    #[utoipa::path(get, path = "/go/api/admin/scopes", tag = "admin",
        security(("basic" = []), ("session" = [])),
        responses((status = 200, description = "Every scope.", body = ScopeList), CallerErrors))]
    pub fn list_scopes() {}

    /// Define a service scope
    #[utoipa::path(post, path = "/go/api/admin/scopes", tag = "admin",
        security(("basic" = []), ("session" = [])),
        request_body = scopes::CreateBody,
        responses((status = 200, description = "The scope.", body = Scope), CallerErrors, BodyErrors))]
    pub fn create_scope() {}

    /// Delete a service scope
    ///
    /// It is removed from every token; a token left with no scope is revoked.
    #[utoipa::path(delete, path = "/go/api/admin/scopes/{name}", tag = "admin",
        security(("basic" = []), ("session" = [])),
        params(("name" = String, Path, description = "The scope's name.", example = "grafana")),
        responses(
            (status = 200, description = "Deleted.", body = ScopeDeleted),
            (status = 404, description = "No such scope.", body = Message),
            CallerErrors))]
    pub fn delete_scope() {}

    /// The audit log
    ///
    /// Everyone's events, newest first, a page at a time; admins only.
    #[utoipa::path(get, path = "/go/api/admin/audit_events", tag = "audit",
        security(("basic" = []), ("session" = [])),
        params(
            ("q" = Option<String>, Query, description = "A substring of the actor, target user, token id, action, client address or details, case-insensitive."),
            ("action" = Option<String>, Query, description = "An action (`token.revoked`) or a family (`token`, `auth`, `user`, `scope`)."),
            ("user" = Option<String>, Query, description = "Events by or about this login name."),
            ("token_id" = Option<i64>, Query, minimum = 1, description = "One token's story."),
            ("since" = Option<String>, Query, description = "From this date (`2026-12-01`) or time (`2026-12-01T10:00:00Z`)."),
            ("until" = Option<String>, Query, description = "Before this time, or through this date."),
            ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Events per page (default 50)."),
            ("after" = Option<i64>, Query, minimum = 1, description = "Where the page starts: from the `next` link of the previous page."),
        ),
        responses(
            (status = 200, description = "A page of events.", body = AuditEventList),
            (status = 400, description = "A parameter that cannot be read.", body = Message),
            CallerErrors))]
    pub fn admin_audit_events() {}

    /// Your own activity
    ///
    /// The events about the caller's tokens, sign-ins and account, whoever
    /// acted, newest first.
    #[utoipa::path(get, path = "/go/api/current_user/audit_events", tag = "audit",
        security(("basic" = []), ("session" = [])),
        params(
            ("q" = Option<String>, Query, description = "A substring of the actor, target user, token id, action, client address or details, case-insensitive."),
            ("action" = Option<String>, Query, description = "An action (`token.revoked`) or a family (`token`, `auth`, `user`, `scope`)."),
            ("token_id" = Option<i64>, Query, minimum = 1, description = "One token's story."),
            ("since" = Option<String>, Query, description = "From this date (`2026-12-01`) or time (`2026-12-01T10:00:00Z`)."),
            ("until" = Option<String>, Query, description = "Before this time, or through this date."),
            ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Events per page (default 50)."),
            ("after" = Option<i64>, Query, minimum = 1, description = "Where the page starts: from the `next` link of the previous page."),
        ),
        responses(
            (status = 200, description = "A page of events.", body = AuditEventList),
            (status = 400, description = "A parameter that cannot be read.", body = Message),
            CallerErrors))]
    pub fn own_audit_events() {}

    /// Report leaked tokens
    ///
    /// Anyone may call it. Each well-formed, active token listed is revoked
    /// (`Reported as leaked`). The answer is always the same, whatever
    /// matched, so it cannot test a token.
    #[utoipa::path(post, path = "/go/api/credentials/revoke", tag = "leaked tokens",
        request_body = credentials::Report,
        responses(
            (status = 202, description = "Reported.", body = Accepted),
            (status = 413, description = "Larger than 64 KiB.", body = Message),
            (status = 415, description = "Not sent as JSON.", body = Message),
            (status = 422, description = "Not `{\"credentials\": [...]}` with 1 to 1000 strings.", body = Message),
            (status = 429, description = "Too many reports from this client.", body = Message,
                headers(("Retry-After" = u64, description = "Seconds to wait."))),
            (status = 503, description = "The database is unavailable.", body = Message)))]
    pub fn report_leaked() {}

    /// GoCD's CCTray feed
    ///
    /// tollgate has no pipelines: the feed is empty, but access to it is
    /// checked as GoCD's (Basic, Bearer or a session). Errors are XML too.
    #[utoipa::path(get, path = "/go/cctray.xml", tag = "server",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        responses(
            (status = 200, description = "An empty feed: `<Projects/>`.", body = String, content_type = "application/xml"),
            (status = 401, description = "Not authenticated: `<access-denied><message>...</message></access-denied>`.", body = String, content_type = "application/xml"),
            (status = 403, description = "A token without the `api` scope.", body = String, content_type = "application/xml"),
            (status = 429, description = "Too many failed authentications.", body = String, content_type = "application/xml"),
            (status = 503, description = "The database is unavailable.", body = String, content_type = "application/xml")))]
    pub fn cctray() {}

    /// This document
    ///
    /// OpenAPI 3.1; no authentication, any `Accept`.
    #[utoipa::path(get, path = "/go/api/openapi.json", tag = "server",
        responses((status = 200, description = "The OpenAPI document.", body = Object)))]
    pub fn openapi() {}

    /// Liveness
    #[utoipa::path(get, path = "/healthz", tag = "server",
        responses((status = 200, description = "The process serves.", body = Health)))]
    pub fn healthz() {}

    /// Readiness
    ///
    /// Ready when the database answers (within 2 s) and has every migration
    /// of this build.
    #[utoipa::path(get, path = "/readyz", tag = "server",
        responses(
            (status = 200, description = "Ready.", body = Readiness),
            (status = 503, description = "Not ready, and why.", body = Readiness)))]
    pub fn readyz() {}

    /// Forward-auth for a reverse proxy
    ///
    /// The proxy passes the client's `Authorization: Bearer` header (any
    /// method; `X-Forwarded-Method` or `X-Original-Method` names the
    /// original one for `NAME:read` grants). Without `scope`, any active
    /// token passes, as identity only.
    #[utoipa::path(method(get, post, put, patch, delete), path = "/go/auth/verify", tag = "gateway",
        security(("bearer" = [])),
        params(("scope" = Option<String>, Query, description = "The service scope the location needs.")),
        responses(
            (status = 200, description = "Let the request through.", headers(
                ("Remote-User" = String, description = "The owner's login name (also `X-Auth-Request-User`, `X-Forwarded-User`)."),
                ("X-Auth-Request-Email" = String, description = "The owner's email, when set."),
                ("X-Tollgate-Token-Id" = i64, description = "The token's id."),
                ("X-Tollgate-Scopes" = String, description = "The token's scopes, space-separated."))),
            (status = 401, description = "No valid token (`Retry-After` when the client is throttled).", body = Message,
                headers(("WWW-Authenticate" = String), ("Retry-After" = u64))),
            (status = 403, description = "The token lacks the location's scope, or has `NAME:read` and the method is not safe.", body = Message,
                headers(("WWW-Authenticate" = String))),
            (status = 503, description = "The database is unavailable and the token is not cached.", body = Message)))]
    pub fn verify_any() {}

    /// Token introspection (RFC 7662)
    ///
    /// By an admin (Basic or a session) or with a token that has the
    /// `introspect` scope. Never counts as a use of the token looked at.
    #[utoipa::path(post, path = "/go/auth/introspect", tag = "gateway",
        security(("basic" = []), ("bearer" = []), ("session" = [])),
        request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded"),
        responses(
            (status = 200, description = "What the token is; `{\"active\": false}` for anything but an active token.", body = Introspection),
            (status = 400, description = "No `token` in the form.", body = OAuthError),
            (status = 401, description = "The caller is not authenticated.", body = OAuthError,
                headers(("WWW-Authenticate" = String))),
            (status = 403, description = "Neither an admin nor a token with the `introspect` scope.", body = OAuthError),
            (status = 413, description = "The form is larger than 8 KiB.", body = OAuthError),
            (status = 429, description = "Too many failed authentications.", body = Message,
                headers(("Retry-After" = u64))),
            (status = 503, description = "The database is unavailable, or too many passwords are being checked.", body = Message)))]
    pub fn introspect() {}
}
