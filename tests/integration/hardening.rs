//! Abuse: throttling of failed authentication, CSRF, security headers, XSS in
//! server-rendered pages, header bounds.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;
use tollgate::server::config::Settings;

fn throttled_settings() -> Settings {
    Settings {
        auth_failures_per_minute: 6,
        auth_failure_burst: 3,
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..Settings::default()
    }
}

fn from(ip: &str, auth: &str) -> Request<Body> {
    Request::builder()
        .uri("/go/api/current_user")
        .header(header::ACCEPT, accept(1))
        .header("x-forwarded-for", ip)
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .unwrap()
}

fn basic(u: &str, p: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
    )
}

#[tokio::test]
async fn failed_basic_auth_is_throttled_per_client_with_retry_after() {
    let app = TestApp::with_settings(throttled_settings()).await;
    let wrong = basic("admin", "wrong-password");
    for _ in 0..3 {
        assert_eq!(
            app.send(from("203.0.113.1", &wrong)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app.send(from("203.0.113.1", &wrong)).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.header(header::RETRY_AFTER).parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(res
        .message()
        .starts_with("Too many failed authentication attempts"));
    // Blocked means blocked: even the right password waits (and costs no hashing).
    let right = basic("admin", ADMIN_PASSWORD);
    assert_eq!(
        app.send(from("203.0.113.1", &right)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client is unaffected.
    assert_eq!(
        app.send(from("203.0.113.2", &right)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn valid_tokens_are_never_slowed_by_a_noisy_neighbour() {
    let app = TestApp::with_settings(throttled_settings()).await;
    let (_, token) = app.create_token(&Auth::admin(), "busy bot").await;
    let ip = "198.51.100.7";
    // Unknown but well-formed tokens from the same address use up its budget...
    let unknown = tollgate_unknown_token();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            app.send(from(ip, &format!("Bearer {unknown}")))
                .await
                .status,
        );
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    // ...yet the valid token keeps working from there, every time.
    for _ in 0..20 {
        assert_eq!(
            app.send(from(ip, &format!("Bearer {token}"))).await.status,
            StatusCode::OK
        );
    }
}

/// A well-formed token (right prefix, length and checksum) that was never issued.
fn tollgate_unknown_token() -> String {
    tollgate::server::tokens::format::PlainToken::generate()
        .expose()
        .to_string()
}

#[tokio::test]
async fn the_login_form_is_throttled_too() {
    let app = TestApp::with_settings(throttled_settings()).await;
    let post = |password: &str| {
        let body = format!("username=admin&password={password}");
        Request::builder()
            .method(Method::POST)
            .uri("/go/auth/security_check")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "192.0.2.50")
            .body(Body::from(body))
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(
            app.send(post("nope-nope")).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let res = app.send(post("nope-nope")).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!res.header(header::RETRY_AFTER).is_empty());
    assert!(res.text().contains("Too many failed sign-in attempts"));
    assert_eq!(
        app.send(post(ADMIN_PASSWORD)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_a_trusted_header_forwarded_addresses_are_ignored() {
    let app = TestApp::with_settings(Settings {
        trusted_proxy_header: None,
        ..throttled_settings()
    })
    .await;
    let wrong = basic("admin", "wrong-password");
    let mut last = StatusCode::OK;
    for i in 0..5 {
        // A client cannot escape its budget by inventing addresses.
        last = app.send(from(&format!("10.9.9.{i}"), &wrong)).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

fn cookie_post(
    path: &str,
    cookie: &str,
    extra: &[(&str, &str)],
    body: &str,
    ctype: &str,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::ACCEPT, "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn cross_site_writes_with_the_session_cookie_are_refused() {
    let app = TestApp::new().await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let form = "application/x-www-form-urlencoded";
    let forged = [
        vec![("origin", "http://evil.example")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "null")],
    ];
    for headers in &forged {
        let res = app
            .send(cookie_post(
                "/go/fn/create_token",
                &cookie,
                headers,
                "description=csrf",
                form,
            ))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(res.message(), "Cross-site request refused.");
        // A cookie-authenticated JSON POST to the API, too.
        let mut h = headers.clone();
        h.push(("accept", "application/vnd.go.cd.v1+json"));
        let res = app
            .send(cookie_post(
                TOKENS,
                &cookie,
                &h,
                r#"{"description":"csrf"}"#,
                "application/json",
            ))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    // Logging out and signing in from another site are refused as well.
    let res = app
        .send(cookie_post(
            "/go/auth/logout",
            &cookie,
            &[("origin", "http://evil.example")],
            "",
            form,
        ))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app
        .send(cookie_post(
            "/go/auth/security_check",
            "",
            &[("sec-fetch-site", "cross-site")],
            "username=admin&password=x",
            form,
        ))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let list = app.list_tokens(&Auth::admin(), Some("all")).await;
    assert_eq!(
        list.json()["_embedded"]["access_tokens"],
        json!([]),
        "nothing was created"
    );

    // The same requests from our own origin work.
    let ok = app
        .send(cookie_post(
            "/go/fn/create_token",
            &cookie,
            &[
                ("origin", "http://localhost"),
                ("sec-fetch-site", "same-origin"),
            ],
            "description=fine",
            form,
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    // Scripts send neither header and use Basic: not affected.
    let res = app
        .post_token(&Auth::admin(), json!({"description": "script"}))
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn pages_carry_a_csp_with_their_nonce_and_security_headers() {
    let app = TestApp::new().await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let page = app.get_page("/go/access_tokens", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.header(header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let html = page.text();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the inline scripts carry the CSP nonce"
    );
    assert!(!csp.contains("unsafe-inline"));
    for res in [&page, &app.get_page("/go/auth/login", None).await] {
        assert_eq!(res.header(header::X_FRAME_OPTIONS), "DENY");
        assert_eq!(res.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(res.header(header::REFERRER_POLICY), "same-origin");
    }
    let api = app.current_user(&Auth::admin()).await;
    assert_eq!(api.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
}

#[tokio::test]
async fn markup_in_user_data_is_rendered_as_text() {
    let app = TestApp::new().await;
    let evil = "</script><script>alert('desc')</script><img src=x onerror=alert(1)>";
    app.create_token(&Auth::admin(), evil).await;
    let res = app
        .update_user(
            &Auth::admin(),
            "admin",
            json!({"display_name": "<b onmouseover=alert(2)>Boss</b>"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    for path in ["/go/access_tokens", "/go/admin/admin_access_tokens"] {
        let html = app.get_page(path, Some(&cookie)).await.text();
        assert!(
            html.contains("&lt;b onmouseover=alert(2)&gt;Boss&lt;/b&gt;"),
            "{path}: display name not escaped"
        );
        assert!(!html.contains("<b onmouseover"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(
            !html.contains("</script><script>alert('desc')"),
            "{path}: breaks out of a script"
        );
    }
    // The personal page renders the list on the server: the markup is there, escaped.
    let html = app
        .get_page("/go/access_tokens", Some(&cookie))
        .await
        .text();
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the description was not rendered as text"
    );
}

#[tokio::test]
async fn oversized_headers_are_431() {
    let app = TestApp::new().await;
    let req = Request::builder()
        .uri("/go/api/version")
        .header(header::ACCEPT, accept(1))
        .header("x-padding", "a".repeat(20 * 1024))
        .body(Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(res.message().contains("16 KiB"));
}
