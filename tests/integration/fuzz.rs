//! Property-based fuzzing (proptest) of everything a client controls: the token
//! parser, the Authorization header parser, the JSON bodies of every POST and
//! PATCH, form bodies of server functions, and query parameters. The property:
//! no panic and no 5xx, ever.
//!
//! `make test` runs a seeded run of `PROPTEST_CASES` (default 256) cases per
//! property; `make fuzz` runs 25,000 per property (100,000 in all) with a
//! random seed.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};
use tollgate::server::auth::parse_authorization;
use tollgate::server::tokens::format::PlainToken;

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var("TOLLGATE_FUZZ_RANDOM").is_ok() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
    }
}

fn report(name: &str, runner: &TestRunner) {
    eprintln!("fuzz {name}: {} cases passed", runner.config().cases);
}

/// Control characters: C0 (NUL, line breaks, tab, ESC...), DEL and C1 (NEL...).
fn control() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => Just('\0'),
        1 => Just('\n'),
        1 => Just('\r'),
        1 => Just('\t'),
        1 => Just('\u{1b}'),
        1 => Just('\u{7f}'),
        1 => Just('\u{85}'),
        1 => (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        1 => (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
    ]
}

/// A word with a control character inside it, as in `dep\0loy`: nothing to trim.
fn embedded() -> impl Strategy<Value = String> {
    ("[a-z]{1,4}", control(), "[a-z]{1,4}").prop_map(|(a, c, b)| format!("{a}{c}{b}"))
}

/// Text of up to `max` characters: printable ones (`\PC`, which never
/// yields a control character) mixed with control characters, anywhere,
/// including first and last where trimming would hide them.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => "\\PC",
            1 => control().prop_map(String::from),
        ],
        0..=max,
    )
    .prop_map(|parts| parts.concat())
}

/// Strings near the token format, and anything at all.
fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "tgp_[A-Za-z0-9]{36}",
        "tgp_[A-Za-z0-9]{30,40}",
        "[a-z]{3}_\\PC{0,40}",
        text(80),
        Just(PlainToken::generate().expose().to_string()),
    ]
}

#[test]
fn the_token_parser_never_panics_and_only_accepts_well_formed_tokens() {
    let mut r = runner();
    r.run(&token_like(), |s| {
        if let Ok(t) = PlainToken::parse(&s) {
            prop_assert_eq!(t.expose().len(), 40);
            prop_assert!(t.expose().starts_with("tgp_"));
        }
        Ok(())
    })
    .unwrap();
    report("token parser", &r);
}

#[test]
fn the_authorization_parser_never_panics() {
    let mut r = runner();
    let value = prop_oneof![
        "(Basic|basic|BASIC|Bearer|bearer|Digest|) \\PC{0,120}",
        "Basic [A-Za-z0-9+/=]{0,120}",
        proptest::collection::vec(32u8..127, 0..300).prop_map(|b| String::from_utf8(b).unwrap()),
    ];
    r.run(&value, |v| {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(header::AUTHORIZATION, v);
            let _ = parse_authorization(&h);
        }
        Ok(())
    })
    .unwrap();
    report("authorization header", &r);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        text(40).prop_map(Value::String),
        embedded().prop_map(Value::String),
        ("[a-z]{0,3}\\PC{0,1100}", text(3)).prop_map(|(a, b)| Value::String(format!("{a}{b}"))),
    ];
    let key = prop_oneof![
        Just("description"),
        Just("revoke_cause"),
        Just("login_name"),
        Just("display_name"),
        Just("email"),
        Just("email_me"),
        Just("checkin_aliases"),
        Just("password"),
        Just("admin"),
        Just("is_admin"),
        Just("enabled"),
        Just("filter"),
        Just("scopes"),
        Just("expires_at"),
        Just("allowed_cidrs"),
        Just("credentials"),
        Just("name"),
    ]
    .prop_map(str::to_string);
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string()),
        1 => text(200),
        1 => Just(String::new()),
    ]
}

/// Writes reachable with a body: (method, path, Accept version).
const WRITES: &[(&str, &str, u8)] = &[
    ("POST", "/go/api/users", 3),
    ("PATCH", "/go/api/users/fuzzed", 3),
    ("PATCH", "/go/api/users/{id}", 3),
    ("POST", "/go/api/current_user/access_tokens", 1),
    ("POST", "/go/api/current_user/access_tokens/{id}/revoke", 1),
    ("POST", "/go/api/admin/access_tokens/{id}/revoke", 1),
    ("POST", "/go/api/current_user/access_tokens/{id}/rotate", 1),
    ("POST", "/go/api/credentials/revoke", 1),
    ("POST", "/go/api/admin/scopes", 1),
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        (1i64..40).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[A-Za-z0-9%._~-]{0,24}",
        text(12).prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect()),
    ]
}

/// One app for a whole run; a session cookie (cheap) instead of Basic auth.
fn app_and_cookie(rt: &tokio::runtime::Runtime) -> (TestApp, String) {
    rt.block_on(async {
        let app = TestApp::new().await;
        app.add_user("fuzzed", USER_PASSWORD, false).await;
        for i in 0..5 {
            app.create_token(&Auth::admin(), &format!("seed {i}")).await;
        }
        let cookie = app.login("admin", ADMIN_PASSWORD).await;
        (app, cookie)
    })
}

fn no_5xx(res: &Res, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        res.status.as_u16() < 500,
        "{what} gave {}: {}",
        res.status,
        res.text()
    );
    Ok(())
}

#[test]
fn json_bodies_of_every_write_never_panic_or_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, cookie) = app_and_cookie(&rt);
    let mut r = runner();
    let case = (0..WRITES.len(), segment(), body());
    r.run(&case, |(route, id, body)| {
        let (method, path, v) = WRITES[route];
        let path = path.replace("{id}", &id);
        let Ok(req) = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&path)
            .header(header::ACCEPT, accept(v))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body.clone()))
        else {
            return Ok(());
        };
        let res = rt.block_on(app.send(req));
        no_5xx(&res, &format!("{method} {path} {body}"))
    })
    .unwrap();
    report("JSON bodies", &r);
}

#[test]
fn server_function_forms_never_panic_or_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, cookie) = app_and_cookie(&rt);
    let mut r = runner();
    let endpoints = prop_oneof![
        Just("create_token"),
        Just("revoke_token"),
        Just("list_tokens"),
        Just("admin_list_tokens"),
        Just("admin_revoke_token"),
        Just("set_user_enabled"),
        Just("add_user"),
        Just("delete_user"),
        Just("rotate_token"),
        Just("token_policy"),
    ];
    let form = proptest::collection::vec(
        (
            prop_oneof![
                Just("description"),
                Just("id"),
                Just("cause"),
                Just("filter"),
                Just("q"),
                Just("after"),
                Just("login_name"),
                Just("enabled"),
                Just("display_name"),
                Just("email"),
                Just("password"),
                Just("admin"),
                Just("expires_at"),
                Just("expires_in_days"),
                Just("expires_on")
            ],
            prop_oneof![
                text(40),
                embedded(),
                Just("all".to_string()),
                Just("active".to_string()),
                (0i64..30).prop_map(|n| n.to_string())
            ],
        ),
        0..5,
    );
    r.run(&(endpoints, form), |(endpoint, fields)| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/go/fn/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body.clone()))
            .unwrap();
        let res = rt.block_on(app.send(req));
        no_5xx(&res, &format!("/go/fn/{endpoint} {body}"))
    })
    .unwrap();
    report("server function forms", &r);
}

#[test]
fn query_parameters_never_panic_or_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, cookie) = app_and_cookie(&rt);
    let mut r = runner();
    let name = prop_oneof![
        Just("filter".to_string()),
        Just("q".to_string()),
        Just("page_size".to_string()),
        Just("after".to_string()),
        Just("expiring_within_days".to_string()),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        text(30),
        embedded(),
        Just("revoked".to_string()),
        Just("all".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[ir][0-9_]{0,20}",
        "[%_'\"\\\\]{1,5}",
    ];
    let paths = prop_oneof![
        Just("/go/api/admin/access_tokens"),
        Just("/go/api/current_user/access_tokens"),
    ];
    r.run(
        &(paths, proptest::collection::vec((name, value), 0..5)),
        |(path, params)| {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .finish();
            let uri = format!("{path}?{query}");
            let req = Request::builder()
                .uri(&uri)
                .header(header::ACCEPT, accept(1))
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap();
            let res = rt.block_on(app.send(req));
            no_5xx(&res, &uri)
        },
    )
    .unwrap();
    report("query parameters", &r);
}

#[test]
fn the_sign_in_form_never_panics_or_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, _) = app_and_cookie(&rt);
    let mut r = runner();
    let name = prop_oneof![
        text(20),
        text(3).prop_map(|s| format!("admin{s}")),
        text(3).prop_map(|s| format!("{s}admin")),
    ];
    r.run(&(name, text(20)), |(username, password)| {
        let res = rt.block_on(app.login_form(&username, &password, None));
        no_5xx(&res, &format!("sign-in {username:?}"))?;
        // Only the admin's exact name and password sign in.
        if res
            .header(header::SET_COOKIE)
            .starts_with("tollgate_session=")
        {
            prop_assert_eq!(username.trim(), "admin");
            prop_assert_eq!(password.as_str(), ADMIN_PASSWORD);
        }
        Ok(())
    })
    .unwrap();
    report("sign-in form", &r);
}
