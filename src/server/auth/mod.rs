//! Who is calling, and how: one path for sessions, Basic and Bearer.

pub mod web;

use crate::model::AppError;
use crate::server::error::ServiceError;
use crate::server::guard::ClientIp;
pub use crate::server::identity::{AuthError, AuthMethod, Caller, Origin, BUSY_RETRY_SECS};
use crate::server::metrics;
use crate::server::state::AppState;
use crate::server::time::github_format;
use crate::server::tokens::format::{FormatError, PlainToken};
pub use crate::server::users::session;
use crate::server::users::{service, service::LoginError, User};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::SecretString;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// The parsed `Authorization` header.
#[derive(Debug)]
pub enum Credentials {
    Basic {
        user: String,
        password: SecretString,
    },
    /// A token of the right shape (prefix, length, checksum): parsed here,
    /// where the header is read, so the services only see typed tokens.
    Bearer(PlainToken),
}

/// Longest Authorization header we look at; real ones are far shorter.
const AUTHORIZATION_MAX: usize = 4096;

/// Parses `Authorization: Basic ...` or `Bearer ...`, schemes case-insensitive.
/// `Ok(None)` when there is no such header.
pub fn parse_authorization(headers: &HeaderMap) -> Result<Option<Credentials>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    if value.len() > AUTHORIZATION_MAX {
        return Err(AuthError::BadCredentials);
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::BadCredentials)?
        .trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(AuthError::BadCredentials)?;
        let (user, password) = decoded.split_once(':').ok_or(AuthError::BadCredentials)?;
        Ok(Some(Credentials::Basic {
            user: user.to_string(),
            password: SecretString::from(password.to_string()),
        }))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(AuthError::BadToken(FormatError::Malformed));
        }
        PlainToken::parse(rest)
            .map(|t| Some(Credentials::Bearer(t)))
            .map_err(AuthError::BadToken)
    } else {
        Err(AuthError::UnsupportedScheme)
    }
}

/// Who is calling, and how: the one extractor every API route uses. Basic,
/// Bearer or the session cookie (see [`api_caller`]). REST handlers take
/// [`Caller`], which refuses in the API's JSON; cctray takes this to refuse
/// in XML. Server functions are session-only: [`require_page_caller`].
pub struct Identified(pub Result<Caller, AuthError>);

impl FromRequestParts<AppState> for Identified {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let caller = api_caller(state, &parts.headers, ip)
            .await
            .inspect(|caller| {
                if let (Some(at), Some(slot)) = (
                    caller.token_expires_at,
                    parts.extensions.get::<TokenExpiry>(),
                ) {
                    let _ = slot.0.set(at);
                }
            })
            .and_then(|caller| {
                // A token opens the API only with its scope (`api`, or `read_api`
                // for GET and HEAD).
                match &caller.grants {
                    Some(grants) => grants
                        .allow_api(parts.method.as_str())
                        .map(|()| caller)
                        .map_err(|refused| ServiceError::Forbidden(refused.message).into()),
                    None => Ok(caller),
                }
            });
        Ok(Identified(caller))
    }
}

/// Where [`Identified`] leaves the expiry of the token a request was
/// authenticated with, for [`expiration_header`].
#[derive(Clone, Default)]
pub struct TokenExpiry(Arc<OnceLock<i64>>);

/// Every answer to a request authenticated by a token that expires carries
/// `X-Tollgate-Token-Expiration: 2027-01-31 00:00:00 UTC` (GitHub's
/// `GitHub-Authentication-Token-Expiration`, in its format).
pub async fn expiration_header(mut req: Request, next: Next) -> Response {
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let slot = TokenExpiry::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(&at) = slot.0.get() {
        if let Ok(v) = HeaderValue::from_str(&github_format(at)) {
            res.headers_mut().insert(EXPIRATION_HEADER, v);
        }
    }
    res
}

/// See [`expiration_header`].
pub const EXPIRATION_HEADER: &str = "x-tollgate-token-expiration";

/// The session id the request's cookie carries, if any (a secret: never log it).
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(session::COOKIE_NAME)
        .map(|c| c.value().to_string())
}

/// The user behind the request's session cookie, if any. Never looks at
/// `Authorization`: a token cannot sign anyone in to a page.
pub async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<User>, ServiceError> {
    let jar = CookieJar::from_headers(headers);
    match jar.get(session::COOKIE_NAME) {
        Some(c) => Ok(session::user(&state.db, c.value()).await?),
        None => Ok(None),
    }
}

/// Who is calling an API: Basic, Bearer, or the browser's session cookie.
///
/// Failed Basic and Bearer attempts count against the client's budget in
/// [`crate::server::throttle::AuthThrottle`]. A Basic attempt takes its unit
/// before the password is hashed, so a client over budget gets 429 without
/// any hashing, and parallel guesses cannot outrun the count; the unit is
/// given back when the password is right. A valid token is never slowed,
/// because tokens are only counted after their lookup fails.
pub async fn api_caller(
    state: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, AuthError> {
    let result = identify(state, headers, ip).await;
    if metrics::enabled() {
        let method = match (&result, parse_method(headers)) {
            (Ok(c), _) => Some(match c.method {
                AuthMethod::Bearer => "bearer",
                AuthMethod::Basic => "basic",
                AuthMethod::Session => "session",
            }),
            (Err(_), m) => m,
        };
        if let Some(method) = method {
            metrics::auth_attempt(method, metrics::outcome(&result));
        }
    }
    result
}

/// Which scheme a request's `Authorization` names, for the metrics; `None`
/// without credentials (an anonymous request is no attempt).
fn parse_method(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = value.split(|b| *b == b' ').next().unwrap_or_default();
    Some(if scheme.eq_ignore_ascii_case(b"bearer") {
        "bearer"
    } else if scheme.eq_ignore_ascii_case(b"basic") {
        "basic"
    } else {
        "other"
    })
}

async fn identify(state: &AppState, headers: &HeaderMap, ip: IpAddr) -> Result<Caller, AuthError> {
    let origin = || Origin::new(ip, user_agent(headers));
    let counted = |e: AuthError| match state.throttle.failed(ip) {
        Ok(()) => e,
        Err(wait) => AuthError::Throttled(wait),
    };
    match parse_authorization(headers) {
        Err(e) => Err(counted(e)),
        Ok(Some(Credentials::Basic { user, password })) => {
            let attempt = state.throttle.reserve(ip).map_err(AuthError::Throttled)?;
            let attempt_origin = origin();
            match service::authenticate(
                &state.db,
                &state.hasher,
                &user,
                password,
                AuthMethod::Basic,
                &attempt_origin,
            )
            .await
            {
                Ok(user) => {
                    attempt.refund();
                    Ok(Caller {
                        user,
                        method: AuthMethod::Basic,
                        origin: attempt_origin,
                        grants: None,
                        token_expires_at: None,
                    })
                }
                // The unit stays taken: the failure is counted.
                Err(LoginError::Invalid) => Err(AuthError::BadCredentials),
                Err(LoginError::Disabled) => Err(AuthError::Disabled),
                Err(LoginError::Busy) => {
                    attempt.refund();
                    Err(AuthError::Busy)
                }
                Err(LoginError::Service(e)) => {
                    attempt.refund();
                    Err(e.into())
                }
            }
        }
        Ok(Some(Credentials::Bearer(token))) => {
            match state
                .tokens
                .authenticate(&token, ip, user_agent(headers))
                .await
            {
                Ok(verified) => Ok(Caller {
                    user: verified.user,
                    method: AuthMethod::Bearer,
                    origin: origin(),
                    grants: Some(verified.grants),
                    token_expires_at: verified.expires_at,
                }),
                Err(e) if e.is_token_refusal() => Err(counted(e)),
                Err(e) => Err(e),
            }
        }
        Ok(None) => match session_user(state, headers).await? {
            Some(user) => Ok(Caller {
                user,
                method: AuthMethod::Session,
                origin: origin(),
                grants: None,
                token_expires_at: None,
            }),
            None => Err(AuthError::Anonymous),
        },
    }
}

/// The request's `User-Agent`, if it is text.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// The session cookie, HttpOnly and SameSite=Lax, Secure behind TLS.
pub fn session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((session::COOKIE_NAME, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.behind_tls)
        .path("/")
        .max_age(
            time::Duration::try_from(state.settings.session_ttl).unwrap_or(time::Duration::days(7)),
        )
        .build()
}

pub fn removal_cookie() -> Cookie<'static> {
    Cookie::build((session::COOKIE_NAME, "")).path("/").build()
}

/// For server functions: the signed-in user of the current request. The page
/// middleware leaves the user in the request's extensions during rendering;
/// a server function called from the browser looks the session up itself.
pub async fn page_user() -> Result<Option<User>, AppError> {
    let parts: axum::http::request::Parts = leptos::prelude::use_context()
        .ok_or_else(|| AppError::Internal("no request in context".into()))?;
    if let Some(user) = parts.extensions.get::<User>() {
        return Ok(Some(user.clone()));
    }
    let state: AppState = leptos::prelude::use_context()
        .ok_or_else(|| AppError::Internal("no app state in context".into()))?;
    Ok(session_user(&state, &parts.headers).await?)
}

/// For server functions: the caller behind the session, or an error.
pub async fn require_page_caller() -> Result<(AppState, Caller), AppError> {
    let user = page_user().await?.ok_or(AppError::Unauthenticated)?;
    let state: AppState = leptos::prelude::use_context()
        .ok_or_else(|| AppError::Internal("no app state in context".into()))?;
    let mut parts: Parts = leptos::prelude::use_context()
        .ok_or_else(|| AppError::Internal("no request in context".into()))?;
    let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, &state).await;
    let origin = Origin::new(ip, user_agent(&parts.headers));
    Ok((
        state,
        Caller {
            user,
            method: AuthMethod::Session,
            origin,
            grants: None,
            token_expires_at: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use secrecy::ExposeSecret;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn parses_basic_and_bearer_case_insensitively() {
        let creds = parse_authorization(&with_auth("bAsIc YWxpY2U6cGE6c3M=")).unwrap();
        match creds {
            Some(Credentials::Basic { user, password }) => {
                assert_eq!(user, "alice");
                assert_eq!(password.expose_secret(), "pa:ss");
            }
            other => panic!("{other:?}"),
        }
        let token = PlainToken::generate();
        match parse_authorization(&with_auth(&format!("BEARER {}", token.expose()))).unwrap() {
            Some(Credentials::Bearer(t)) => assert_eq!(t.expose(), token.expose()),
            other => panic!("{other:?}"),
        }
        assert!(parse_authorization(&HeaderMap::new()).unwrap().is_none());
    }

    #[test]
    fn refuses_malformed_headers() {
        assert!(matches!(
            parse_authorization(&with_auth("Basic !!!")),
            Err(AuthError::BadCredentials)
        ));
        assert!(matches!(
            parse_authorization(&with_auth("Basic YWxpY2U=")),
            Err(AuthError::BadCredentials)
        ));
        assert!(matches!(
            parse_authorization(&with_auth("Bearer")),
            Err(AuthError::BadToken(FormatError::Malformed))
        ));
        assert!(matches!(
            parse_authorization(&with_auth("Bearer tgp_not-a-token")),
            Err(AuthError::BadToken(FormatError::Malformed))
        ));
        assert!(matches!(
            parse_authorization(&with_auth("Digest x")),
            Err(AuthError::UnsupportedScheme)
        ));
        let long = format!("Bearer {}", "a".repeat(5000));
        assert!(parse_authorization(&with_auth(&long)).is_err());
    }
}
