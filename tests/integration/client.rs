//! A typed client of the REST API, the sign-in form and the server functions:
//! domain verbs (create, list, show and revoke tokens, manage users, sign in)
//! over one transport, the in-process router or a real server over HTTP.
//!
//! The verbs are the [`Api`] trait, implemented by [`crate::common::TestApp`]
//! (every request through `TestApp::send` and its time limit) and by
//! [`Client`] (a cheap, owned handle for spawned tasks and for servers on real
//! ports). A verb answers something typed where tests only need the outcome,
//! and the whole [`Res`] where they check status, headers or GoCD's JSON.

use axum::body::Body;
use axum::http::{header, request, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "admin-password";
pub const USER_PASSWORD: &str = "alice-password";

/// `/go/api/current_user/access_tokens`: the caller's own tokens.
pub const TOKENS: &str = "/go/api/current_user/access_tokens";
/// `/go/api/admin/access_tokens`: everyone's tokens.
pub const ADMIN_TOKENS: &str = "/go/api/admin/access_tokens";
pub const CURRENT_USER: &str = "/go/api/current_user";
pub const USERS: &str = "/go/api/users";
/// `/go/api/admin/scopes`: the service scopes.
pub const SCOPES: &str = "/go/api/admin/scopes";
/// `/go/api/admin/audit_events`: everyone's audit events.
pub const AUDIT: &str = "/go/api/admin/audit_events";
/// `/go/api/current_user/audit_events`: the caller's own.
pub const MY_AUDIT: &str = "/go/api/current_user/audit_events";

/// A whole response.
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    /// The tokens of a list (`_embedded.access_tokens`).
    pub fn tokens(&self) -> Vec<Value> {
        let body = self.json();
        body["_embedded"]["access_tokens"]
            .as_array()
            .unwrap_or_else(|| panic!("not a list of tokens: {body}"))
            .clone()
    }
    /// The ids of a list's tokens, in order.
    pub fn ids(&self) -> Vec<i64> {
        self.tokens()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    }
    /// The descriptions of a list's tokens, in order.
    pub fn descriptions(&self) -> Vec<String> {
        self.tokens()
            .iter()
            .map(|t| t["description"].as_str().unwrap().to_string())
            .collect()
    }
    /// An audit list's events.
    pub fn events(&self) -> Vec<Value> {
        self.json()["_embedded"]["audit_events"]
            .as_array()
            .unwrap_or_else(|| panic!("no audit events in {}", self.text()))
            .clone()
    }
    /// The query of an audit list's next page, if any.
    pub fn next_events(&self, path: &str) -> Option<String> {
        let href = self.json()["_links"]["next"]["href"].as_str()?.to_string();
        let query = href
            .strip_prefix(&format!("http://localhost{path}"))
            .unwrap_or_else(|| panic!("the next page is elsewhere: {href}"));
        Some(query.to_string())
    }
    /// The query of an admin list's next page (`_links.next`), if any.
    pub fn next_page(&self) -> Option<String> {
        let href = self.json()["_links"]["next"]["href"].as_str()?.to_string();
        let query = href
            .strip_prefix(&format!("http://localhost{ADMIN_TOKENS}"))
            .unwrap_or_else(|| panic!("the next page is elsewhere: {href}"));
        Some(query.to_string())
    }
}

/// How a request authenticates.
#[derive(Clone)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
    Cookie(String),
}

impl Auth {
    pub fn basic(u: &str, p: &str) -> Auth {
        Auth::Basic(u.into(), p.into())
    }
    pub fn bearer(token: &str) -> Auth {
        Auth::Bearer(token.into())
    }
    pub fn admin() -> Auth {
        Auth::basic("admin", ADMIN_PASSWORD)
    }

    /// Adds this authentication's header to a request.
    pub fn apply(&self, req: request::Builder) -> request::Builder {
        match self {
            Auth::None => req,
            Auth::Basic(u, p) => {
                let enc = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                req.header(header::AUTHORIZATION, format!("Basic {enc}"))
            }
            Auth::Bearer(t) => req.header(header::AUTHORIZATION, format!("Bearer {t}")),
            Auth::Cookie(c) => req.header(header::COOKIE, c.as_str()),
        }
    }
}

pub fn accept(v: u8) -> String {
    format!("application/vnd.go.cd.v{v}+json")
}

/// Form-encodes one query value.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Where a request goes.
#[derive(Clone)]
pub enum Transport {
    /// The real router, called in this process (`tower::ServiceExt::oneshot`).
    InProcess(Router),
    /// A real server on a real port.
    Http(reqwest::Client, SocketAddr),
}

impl Transport {
    /// HTTP to `addr`, following no redirect, each request limited to 30 s.
    pub fn http(addr: SocketAddr) -> Transport {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Transport::Http(client, addr)
    }

    /// Sends one request and reads the whole response.
    pub async fn exchange(&self, req: Request<Body>) -> Res {
        match self {
            Transport::InProcess(router) => {
                let res = router.clone().oneshot(req).await.unwrap();
                let status = res.status();
                let headers = res.headers().clone();
                let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
                Res {
                    status,
                    headers,
                    body,
                }
            }
            Transport::Http(client, addr) => {
                let (parts, body) = req.into_parts();
                let what = format!("{} {}", parts.method, parts.uri);
                let body = body.collect().await.unwrap().to_bytes();
                let mut req = client
                    .request(parts.method, format!("http://{addr}{}", parts.uri))
                    .headers(parts.headers);
                if !body.is_empty() {
                    req = req.body(body);
                }
                let res = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
                let status = res.status();
                let headers = res.headers().clone();
                let body = res.bytes().await.unwrap().to_vec();
                Res {
                    status,
                    headers,
                    body,
                }
            }
        }
    }
}

/// An owned client: clone it into spawned tasks, or point it at a real port.
#[derive(Clone)]
pub struct Client(pub Transport);

impl Client {
    pub fn http(addr: SocketAddr) -> Client {
        Client(Transport::http(addr))
    }
    pub fn addr(&self) -> Option<SocketAddr> {
        match &self.0 {
            Transport::Http(_, addr) => Some(*addr),
            Transport::InProcess(_) => None,
        }
    }
}

impl Api for Client {
    fn exchange(&self, req: Request<Body>) -> impl Future<Output = Res> + Send {
        self.0.exchange(req)
    }
}

/// The verbs, over whatever sends the requests.
pub trait Api: Sync {
    /// Sends one request and reads the whole response.
    fn exchange(&self, req: Request<Body>) -> impl Future<Output = Res> + Send;

    // ---- low level ----

    /// An API call with an Accept header, authentication and optional raw body.
    async fn api_raw(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        auth: &Auth,
        body: Option<&str>,
    ) -> Res {
        let mut req = auth.apply(Request::builder().method(method).uri(path));
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        let body = match body {
            Some(b) => {
                req = req
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::CONTENT_LENGTH, b.len());
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.exchange(req.body(body).unwrap()).await
    }

    /// An API call with the Accept header of version `v`.
    async fn api(
        &self,
        method: Method,
        path: &str,
        v: u8,
        auth: &Auth,
        body: Option<Value>,
    ) -> Res {
        let body = body.map(|b| b.to_string());
        self.api_raw(method, path, Some(&accept(v)), auth, body.as_deref())
            .await
    }

    /// A page, with a session cookie or without.
    async fn get_page(&self, path: &str, cookie: Option<&str>) -> Res {
        let mut req = Request::builder().uri(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.exchange(req.body(Body::empty()).unwrap()).await
    }

    /// A server function of the pages (`/go/fn/{name}`), with a form body.
    async fn server_fn(&self, name: &str, form: &str, auth: &Auth) -> Res {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/go/fn/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        let req = auth.apply(req).body(Body::from(form.to_string())).unwrap();
        self.exchange(req).await
    }

    // ---- signing in and out ----

    /// Submits the login form; returns the response (a 303).
    async fn login_form(&self, user: &str, password: &str, redirect: Option<&str>) -> Res {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("username", user)
            .append_pair("password", password);
        if let Some(r) = redirect {
            form.append_pair("redirect", r);
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri("/go/auth/security_check")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.finish()))
            .unwrap();
        self.exchange(req).await
    }

    /// Signs in and returns the `Cookie` header value to send back.
    async fn login(&self, user: &str, password: &str) -> String {
        let res = self.login_form(user, password, None).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let set = res.header(header::SET_COOKIE);
        assert!(
            set.starts_with("tollgate_session="),
            "no session cookie: {set:?} {}",
            res.header(header::LOCATION)
        );
        set.split(';').next().unwrap().to_string()
    }

    /// Signs out the session of `cookie`.
    async fn logout(&self, cookie: &str) -> Res {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/go/auth/logout")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.exchange(req).await
    }

    // ---- the caller's own tokens (v1) ----

    /// Creates a token; answers its id and secret (and asserts the 200).
    async fn create_token(&self, auth: &Auth, description: &str) -> (i64, String) {
        let res = self
            .post_token(auth, json!({ "description": description }))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let body = res.json();
        (
            body["id"].as_i64().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    /// `POST` a token's JSON, as is.
    async fn post_token(&self, auth: &Auth, body: Value) -> Res {
        self.api(Method::POST, TOKENS, 1, auth, Some(body)).await
    }

    /// The caller's tokens: no query at all, or `?filter={filter}`.
    async fn list_tokens(&self, auth: &Auth, filter: Option<&str>) -> Res {
        let path = match filter {
            Some(f) => format!("{TOKENS}?filter={f}"),
            None => TOKENS.to_string(),
        };
        self.api(Method::GET, &path, 1, auth, None).await
    }

    async fn show_token(&self, auth: &Auth, id: impl Display) -> Res {
        self.api(Method::GET, &format!("{TOKENS}/{id}"), 1, auth, None)
            .await
    }

    /// Reports leaked tokens, unauthenticated: `body` as is (JSON), or raw
    /// text with `raw`.
    async fn report_leaks(&self, body: &str) -> Res {
        self.api_raw(
            Method::POST,
            "/go/api/credentials/revoke",
            None,
            &Auth::None,
            Some(body),
        )
        .await
    }

    /// Rotates one of the caller's tokens (`POST …/:id/rotate`).
    async fn rotate_token(&self, auth: &Auth, id: impl Display) -> Res {
        let path = format!("{TOKENS}/{id}/rotate");
        self.api(Method::POST, &path, 1, auth, None).await
    }

    /// `GET /go/api/current_user` with a token, from `client` (sent in
    /// `X-Forwarded-For`, which counts only where it is trusted) and as
    /// `agent`.
    async fn me_from(&self, token: &str, client: &str, agent: &str) -> Res {
        let req = Auth::bearer(token)
            .apply(Request::builder().uri("/go/api/current_user"))
            .header(header::ACCEPT, accept(1))
            .header("x-forwarded-for", client)
            .header(header::USER_AGENT, agent)
            .body(Body::empty())
            .unwrap();
        self.exchange(req).await
    }

    /// Revokes one of the caller's tokens; with a cause, or with no body.
    async fn revoke_token(&self, auth: &Auth, id: impl Display, cause: Option<&str>) -> Res {
        let path = format!("{TOKENS}/{id}/revoke");
        let body = cause.map(|c| json!({ "revoke_cause": c }));
        self.api(Method::POST, &path, 1, auth, body).await
    }

    // ---- everyone's tokens (admin, v1) ----

    /// The admin list; `query` is empty or `?filter=…&q=…&page_size=…&after=…`.
    async fn admin_tokens(&self, auth: &Auth, query: &str) -> Res {
        let path = format!("{ADMIN_TOKENS}{query}");
        self.api(Method::GET, &path, 1, auth, None).await
    }

    /// The admin list's tokens on every page from `query` on, following
    /// `_links.next`, for at most `max_pages` pages (each must answer 200).
    async fn admin_pages(&self, auth: &Auth, query: &str, max_pages: usize) -> Vec<Value> {
        let mut query = query.to_string();
        let mut out = Vec::new();
        for _ in 0..max_pages {
            let res = self.admin_tokens(auth, &query).await;
            assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text());
            out.extend(res.tokens());
            match res.next_page() {
                Some(next) => query = next,
                None => break,
            }
        }
        out
    }

    // ---- the audit log (v1) ----

    /// Everyone's events; `query` is empty or `?q=…&action=…`.
    async fn audit_events(&self, auth: &Auth, query: &str) -> Res {
        let path = format!("{AUDIT}{query}");
        self.api(Method::GET, &path, 1, auth, None).await
    }

    /// The caller's own events; `query` is empty or `?after=…`.
    async fn own_events(&self, auth: &Auth, query: &str) -> Res {
        let path = format!("{MY_AUDIT}{query}");
        self.api(Method::GET, &path, 1, auth, None).await
    }

    async fn admin_show_token(&self, auth: &Auth, id: impl Display) -> Res {
        let path = format!("{ADMIN_TOKENS}/{id}");
        self.api(Method::GET, &path, 1, auth, None).await
    }

    /// Revokes anyone's token; with a cause, or with no body.
    async fn admin_revoke_token(&self, auth: &Auth, id: impl Display, cause: Option<&str>) -> Res {
        let path = format!("{ADMIN_TOKENS}/{id}/revoke");
        let body = cause.map(|c| json!({ "revoke_cause": c }));
        self.api(Method::POST, &path, 1, auth, body).await
    }

    // ---- who is calling (v1) ----

    /// `GET /go/api/current_user`.
    async fn current_user(&self, auth: &Auth) -> Res {
        self.api(Method::GET, CURRENT_USER, 1, auth, None).await
    }

    /// `GET /go/api/current_user` with a Bearer token.
    async fn me(&self, token: &str) -> Res {
        self.current_user(&Auth::bearer(token)).await
    }

    // ---- users (v3) ----

    async fn list_users(&self, auth: &Auth) -> Res {
        self.api(Method::GET, USERS, 3, auth, None).await
    }

    async fn show_user(&self, auth: &Auth, login: &str) -> Res {
        let path = format!("{USERS}/{login}");
        self.api(Method::GET, &path, 3, auth, None).await
    }

    /// `POST /go/api/users` with a user's JSON, as is.
    async fn create_user(&self, auth: &Auth, body: Value) -> Res {
        self.api(Method::POST, USERS, 3, auth, Some(body)).await
    }

    /// `PATCH /go/api/users/{login}` with a patch's JSON, as is.
    async fn update_user(&self, auth: &Auth, login: &str, patch: Value) -> Res {
        let path = format!("{USERS}/{login}");
        self.api(Method::PATCH, &path, 3, auth, Some(patch)).await
    }

    async fn set_enabled(&self, auth: &Auth, login: &str, enabled: bool) -> Res {
        self.update_user(auth, login, json!({ "enabled": enabled }))
            .await
    }

    /// `DELETE /go/api/users/{login}`, alone (refused for an enabled user).
    async fn delete_user(&self, auth: &Auth, login: &str) -> Res {
        let path = format!("{USERS}/{login}");
        self.api(Method::DELETE, &path, 3, auth, None).await
    }

    /// Disables the user (asserting the 200), then deletes them; answers the
    /// deletion.
    async fn disable_and_delete_user(&self, auth: &Auth, login: &str) -> Res {
        let res = self.set_enabled(auth, login, false).await;
        assert_eq!(
            res.status,
            StatusCode::OK,
            "disable {login}: {}",
            res.text()
        );
        self.delete_user(auth, login).await
    }

    // ---- scopes (admin, v1), forward-auth and introspection ----

    async fn list_scopes(&self, auth: &Auth) -> Res {
        self.api(Method::GET, SCOPES, 1, auth, None).await
    }

    async fn add_scope(&self, auth: &Auth, name: &str, description: &str) -> Res {
        let body = json!({ "name": name, "description": description });
        self.api(Method::POST, SCOPES, 1, auth, Some(body)).await
    }

    async fn delete_scope(&self, auth: &Auth, name: &str) -> Res {
        let path = format!("{SCOPES}/{name}");
        self.api(Method::DELETE, &path, 1, auth, None).await
    }

    /// Creates a token with `scopes`; answers its id and secret (and asserts the 200).
    async fn create_scoped_token(
        &self,
        auth: &Auth,
        description: &str,
        scopes: &[&str],
    ) -> (i64, String) {
        let res = self
            .post_token(
                auth,
                json!({ "description": description, "scopes": scopes }),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let body = res.json();
        (
            body["id"].as_i64().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    /// Forward-auth as a proxy asks it: `/go/auth/verify{query}` with the
    /// client's token and the proxy's extra headers.
    async fn verify(&self, token: Option<&str>, query: &str, headers: &[(&str, &str)]) -> Res {
        let mut req = Request::builder().uri(format!("/go/auth/verify{query}"));
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.exchange(req.body(Body::empty()).unwrap()).await
    }

    /// RFC 7662 introspection of `token` (a raw form value).
    async fn introspect(&self, auth: &Auth, token: &str) -> Res {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let req = auth.apply(
            Request::builder()
                .method(Method::POST)
                .uri("/go/auth/introspect")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
        );
        self.exchange(req.body(Body::from(form)).unwrap()).await
    }
}
