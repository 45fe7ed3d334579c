//! Input limits (issue 11, items 6 and 8): control characters in every text
//! input are a clear 4xx, never a 5xx and never silently trimmed away; and
//! the active tokens a user may hold are capped, also under parallel creates.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tollgate::server::auth::{AuthMethod, Caller};

const TOKENS: &str = "/go/api/current_user/access_tokens";
const ADMIN_TOKENS: &str = "/go/api/admin/access_tokens";

/// Control characters, among them the ones `str::trim` would silently drop.
const CONTROLS: &[char] = &[
    '\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{b}', '\u{c}',
];
/// Also refused in one-line fields; allowed in the two textareas.
const LINE_BREAKS: &[char] = &['\n', '\r', '\t'];

fn assert_422(res: &Res, field: &str, what: &str) {
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {}",
        res.text()
    );
    let body = res.json();
    assert!(body["errors"][field].is_array(), "{what}: {body}");
    assert!(
        res.message().contains("control characters"),
        "{what}: {}",
        res.message()
    );
}

async fn server_fn(app: &TestApp, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> Res {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/go/fn/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

async fn active_count(app: &TestApp, auth: &Auth) -> usize {
    let res = app.api(Method::GET, TOKENS, 1, auth, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["_embedded"]["access_tokens"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn control_characters_in_descriptions_and_revoke_causes_are_422() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    for &c in CONTROLS {
        for text in [format!("dep{c}loy"), format!("deploy{c}"), format!("{c}")] {
            let res = app
                .api(
                    Method::POST,
                    TOKENS,
                    1,
                    &admin,
                    Some(json!({ "description": text })),
                )
                .await;
            assert_422(&res, "description", &format!("description {text:?}"));
        }
    }
    // The textareas keep their line breaks and tabs.
    let (id, _) = app.create_token(&admin, "line one\r\nline\ttwo\n").await;
    let shown = app
        .api(Method::GET, &format!("{TOKENS}/{id}"), 1, &admin, None)
        .await;
    assert_eq!(shown.json()["description"], "line one\r\nline\ttwo");

    let (other, _) = app.create_token(&admin, "to revoke").await;
    for &c in CONTROLS {
        let cause = format!("gone{c}");
        for path in [
            format!("{TOKENS}/{other}/revoke"),
            format!("{ADMIN_TOKENS}/{other}/revoke"),
        ] {
            let res = app
                .api(
                    Method::POST,
                    &path,
                    1,
                    &admin,
                    Some(json!({ "revoke_cause": cause })),
                )
                .await;
            assert_422(&res, "revoke_cause", &format!("{path} {cause:?}"));
        }
    }
    assert_eq!(active_count(&app, &admin).await, 2, "nothing was revoked");
}

#[tokio::test]
async fn control_characters_in_user_fields_are_422_and_never_trimmed_away() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for &c in CONTROLS.iter().chain(LINE_BREAKS) {
        let p = "long-enough";
        cases.push((
            json!({"login_name": format!("bob{c}"), "password": p}),
            "login_name",
        ));
        cases.push((
            json!({"login_name": format!("{c}bob"), "password": p}),
            "login_name",
        ));
        cases.push((
            json!({"login_name": "bob", "password": p, "display_name": format!("Bob{c}")}),
            "display_name",
        ));
        cases.push((
            json!({"login_name": "bob", "password": p, "email": format!("bob@example.com{c}")}),
            "email",
        ));
        cases.push((
            json!({"login_name": "bob", "password": p, "checkin_aliases": ["ok", format!("{c}bob")]}),
            "checkin_aliases",
        ));
    }
    for (body, field) in &cases {
        let res = app
            .api(Method::POST, "/go/api/users", 3, &admin, Some(body.clone()))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.text()
        );
        assert!(
            res.json()["errors"][field].is_array(),
            "{body}: {}",
            res.text()
        );
    }
    let users = app.api(Method::GET, "/go/api/users", 3, &admin, None).await;
    assert_eq!(
        users.json()["_embedded"]["users"].as_array().unwrap().len(),
        1,
        "no user was created"
    );

    app.add_user("bob", USER_PASSWORD, false).await;
    for &c in CONTROLS.iter().chain(LINE_BREAKS) {
        for (field, value) in [
            ("display_name", json!(format!("Bob{c}"))),
            ("email", json!(format!("{c}bob@example.com"))),
            ("checkin_aliases", json!([format!("bob{c}")])),
        ] {
            let res = app
                .api(
                    Method::PATCH,
                    "/go/api/users/bob",
                    3,
                    &admin,
                    Some(json!({ field: value })),
                )
                .await;
            assert_422(&res, field, &format!("PATCH {field} {value}"));
        }
        // A login name in the path names no user.
        let path = format!(
            "/go/api/users/{}",
            url::form_urlencoded::byte_serialize(format!("bob{c}").as_bytes()).collect::<String>()
        );
        let res = app.api(Method::GET, &path, 3, &admin, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.text());
    }
    let bob = app
        .api(Method::GET, "/go/api/users/bob", 3, &admin, None)
        .await;
    assert_eq!(bob.json()["display_name"], "bob", "unchanged");
}

#[tokio::test]
async fn sign_in_and_basic_auth_refuse_login_names_with_control_characters() {
    // Throttling off: every attempt here fails on purpose.
    let app = TestApp::with_settings(Settings {
        auth_failures_per_minute: 0,
        ..Settings::default()
    })
    .await;
    for &c in CONTROLS.iter().chain(LINE_BREAKS) {
        for name in [format!("admin{c}"), format!("{c}admin")] {
            let res = app.login_form(&name, ADMIN_PASSWORD, None).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{name:?}");
            assert!(
                res.header(header::LOCATION).contains("error=invalid"),
                "{name:?} signed in: {}",
                res.header(header::LOCATION)
            );
            assert!(res.header(header::SET_COOKIE).is_empty(), "{name:?}");
            let res = app
                .api(
                    Method::GET,
                    "/go/api/current_user",
                    1,
                    &Auth::basic(&name, ADMIN_PASSWORD),
                    None,
                )
                .await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "Basic {name:?}");
        }
    }
}

#[tokio::test]
async fn server_functions_answer_control_characters_with_invalid() {
    let app = TestApp::new().await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let (id, _) = app.create_token(&Auth::admin(), "keep").await;
    let id = id.to_string();
    let checks: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("create_token", vec![("description", "a\0b".into())]),
        ("create_token", vec![("description", "ab\u{85}".into())]),
        (
            "revoke_token",
            vec![("id", id.clone()), ("cause", "x\u{1b}[2J".into())],
        ),
        (
            "admin_revoke_token",
            vec![("id", id.clone()), ("cause", "\0".into())],
        ),
        (
            "add_user",
            vec![
                ("login_name", "carol\n".into()),
                ("display_name", "Carol".into()),
                ("email", "".into()),
                ("password", "long-enough".into()),
                ("admin", "false".into()),
            ],
        ),
        (
            "add_user",
            vec![
                ("login_name", "carol".into()),
                ("display_name", "Carol\u{7f}".into()),
                ("email", "".into()),
                ("password", "long-enough".into()),
                ("admin", "false".into()),
            ],
        ),
    ];
    for (endpoint, form) in checks {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = server_fn(&app, &cookie, endpoint, &pairs).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{endpoint} {form:?}: {}",
            res.text()
        );
        assert!(
            res.json()["Invalid"].is_string(),
            "{endpoint}: {}",
            res.text()
        );
        assert!(res.text().contains("control characters"), "{}", res.text());
    }
    assert_eq!(active_count(&app, &Auth::admin()).await, 1);
}

/// Search drops from the term the control characters no description can
/// hold: `dep\0loy` finds `deploy`. Line breaks and tabs, which descriptions
/// may hold, are searched for as typed: `dep\nloy` finds nothing here. Never
/// a 5xx.
#[tokio::test]
async fn search_terms_with_control_characters_are_never_a_5xx() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.create_token(&admin, "deploy bot").await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    for &c in CONTROLS.iter().chain(LINE_BREAKS) {
        let q = format!("dep{c}loy");
        let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        for filter in ["active", "all", "revoked"] {
            let path = format!("{ADMIN_TOKENS}?filter={filter}&q={enc}");
            let res = app.api(Method::GET, &path, 1, &admin, None).await;
            assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text());
            let found = res.json()["_embedded"]["access_tokens"]
                .as_array()
                .unwrap()
                .len();
            let kept = LINE_BREAKS.contains(&c);
            assert_eq!(found, usize::from(filter != "revoked" && !kept), "{path}");
        }
        let res = server_fn(
            &app,
            &cookie,
            "admin_list_tokens",
            &[("filter", "active"), ("q", &q)],
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "q {q:?}: {}", res.text());
        let kept = LINE_BREAKS.contains(&c);
        assert_eq!(
            res.json()["tokens"].as_array().unwrap().len(),
            usize::from(!kept),
            "{q:?}"
        );
    }
}

#[tokio::test]
async fn the_cli_refuses_control_characters() {
    let (_storage, url) = Storage::new().await;
    let run = |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
                .arg("user")
                .args(&args)
                .args(["--database-url", &url])
                .stdin(std::process::Stdio::null())
                .output()
                .await
                .unwrap()
        }
    };
    let bad = [
        vec!["add".to_string(), "bob\t".to_string()],
        vec![
            "add".into(),
            "bob".into(),
            "--display-name".into(),
            "Bob\n".into(),
        ],
        vec![
            "add".into(),
            "bob".into(),
            "--email".into(),
            "bob@example.com\u{1b}".into(),
        ],
    ];
    for args in bad {
        let out = run(args.clone()).await;
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("control characters") || err.contains("Login name must be"),
            "{args:?}: {err}"
        );
    }
    let out = run(vec!["list".into()]).await;
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("bob"));
}

fn capped(max: u32) -> Settings {
    Settings {
        max_active_tokens_per_user: max,
        ..Settings::default()
    }
}

#[tokio::test]
async fn active_tokens_per_user_are_capped_and_revoked_ones_do_not_count() {
    let app = TestApp::with_settings(capped(3)).await;
    let admin = Auth::admin();
    app.add_user("bob", USER_PASSWORD, false).await;
    let bob = Auth::basic("bob", USER_PASSWORD);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.create_token(&bob, &format!("t{i}")).await.0);
    }
    let res = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &bob,
            Some(json!({"description": "one more"})),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let body = res.json();
    let errors = body["errors"]["access_tokens"].as_array().unwrap();
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .contains("3 active access tokens"),
        "{body}"
    );
    assert!(res.message().contains("Revoke tokens"), "{body}");
    assert_eq!(body["description"], "one more");

    // The page's server function says the same.
    let cookie = app.login("bob", USER_PASSWORD).await;
    let res = server_fn(&app, &cookie, "create_token", &[("description", "page")]).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert!(res.json()["Invalid"]
        .as_str()
        .unwrap()
        .contains("3 active access tokens"));

    // Another user has a cap of their own.
    app.create_token(&admin, "admin's").await;

    // Revoked tokens, by the owner or an admin, do not count.
    let res = app
        .api(
            Method::POST,
            &format!("{TOKENS}/{}/revoke", ids[0]),
            1,
            &bob,
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    app.create_token(&bob, "after revoking").await;
    let res = app
        .api(
            Method::POST,
            &format!("{ADMIN_TOKENS}/{}/revoke", ids[1]),
            1,
            &admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let (_, _) = app.create_token(&bob, "after an admin revoked").await;
    assert_eq!(active_count(&app, &bob).await, 3);
    let res = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &bob,
            Some(json!({"description": "still capped"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_cannot_overshoot_the_cap() {
    const CAP: u32 = 5;
    let app = TestApp::with_settings(capped(CAP)).await;
    let user = app.add_user("bob", USER_PASSWORD, false).await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let tokens = app.state.tokens.clone();
            let caller = Caller {
                user: user.clone(),
                method: AuthMethod::Basic,
                origin: Default::default(),
                grants: None,
                token_expires_at: None,
            };
            tokio::spawn(async move { tokens.create(&caller, &format!("parallel {i}")).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert!(e.to_string().contains("active access tokens"), "{e}"),
        }
    }
    assert_eq!(created, CAP);
    assert_eq!(
        active_count(&app, &Auth::basic("bob", USER_PASSWORD)).await,
        CAP as usize
    );
}

/// One create writes one `token_grams` row per distinct one- and
/// two-character substring of its description, owner's name and scopes: with
/// the 1024-character limit, at most 2 x 1024 + 2 x 64 rows for a GoCD token
/// (`api`), even for a description of 1024 distinct CJK characters. (Scope
/// names are of a 40-character alphabet, so at most 40 + 40 x 40 more, however
/// many scopes.)
#[tokio::test]
async fn the_worst_case_create_writes_a_bounded_number_of_gram_rows() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let worst: String = (0..1024u32)
        .map(|i| char::from_u32(0x4e00 + i).unwrap())
        .collect();
    app.create_token(&admin, &worst).await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_grams")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    // 1024 + 1023 of the description, 5 + 4 of "admin", and "p", "ap", "pi"
    // of "api" ("a" and "i" are in "admin").
    assert_eq!(rows, 1024 + 1023 + 9 + 3);
    assert!(rows <= 2 * 1024 + 2 * 64);
    let longer = format!("{worst}\u{4e00}");
    let res = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &admin,
            Some(json!({"description": longer})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
}
