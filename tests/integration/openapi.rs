//! Issue 16 (OpenAPI): `GET /go/api/openapi.json` answers anonymously, with
//! or without GoCD's `Accept` header, and documents every route the router
//! serves, with every method it serves there and no other.
//!
//! The routes come from the table the router itself is built from
//! (`tollgate::server::app::documented_paths`), and the methods are found by
//! asking the router (a method a path does not serve is 405), so a route or
//! method added without documentation fails here.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use tollgate::server::app::documented_paths;
use tollgate::server::rest::openapi;

const DOC: &str = "/go/api/openapi.json";
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// A concrete URI for a path template: ids and names that match nothing.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "0")
        .replace("{login_name}", "openapi-probe")
        .replace("{name}", "openapi-probe")
}

async fn fetch(app: &TestApp, accept: Option<&str>) -> Value {
    let res = app
        .api_raw(Method::GET, DOC, accept, &Auth::None, None)
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "Accept {accept:?}: {}",
        res.text()
    );
    assert!(
        res.header(header::CONTENT_TYPE)
            .starts_with("application/json"),
        "{}",
        res.header(header::CONTENT_TYPE)
    );
    res.json()
}

#[tokio::test]
async fn the_document_answers_anonymously_with_or_without_an_accept_header() {
    let app = TestApp::new().await;
    for accept in [
        None,
        Some("application/json"),
        Some("application/vnd.go.cd.v1+json"),
        Some("application/vnd.go.cd.v3+json"),
        Some("application/vnd.go.cd+json"),
        Some("text/html"),
    ] {
        let doc = fetch(&app, accept).await;
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "tollgate");
        assert_eq!(doc["servers"][0]["url"], "http://localhost");
        assert_eq!(doc["paths"], openapi::document()["paths"]);
        for scheme in ["basic", "bearer", "session"] {
            assert!(
                doc["components"]["securitySchemes"][scheme].is_object(),
                "no {scheme} scheme"
            );
        }
    }
    // With a session cookie or wrong credentials it answers all the same.
    let res = app
        .api_raw(Method::GET, DOC, None, &Auth::basic("admin", "wrong"), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn every_route_served_is_documented_with_exactly_its_methods() {
    let app = TestApp::new().await;
    let doc = fetch(&app, None).await;
    let paths = doc["paths"].as_object().expect("paths");
    let served = documented_paths();
    assert!(
        served
            .iter()
            .any(|p| p.path == "/go/api/current_user/access_tokens"),
        "the route table is not the API's"
    );
    let mut served_paths = BTreeSet::new();
    for route in &served {
        served_paths.insert(route.path.to_string());
        let Some(item) = paths.get(route.path) else {
            panic!("{} is served but not documented", route.path);
        };
        let uri = concrete(route.path);
        let accept = route.version.map(accept);
        for method in METHODS {
            let res = app
                .api_raw(
                    method.clone(),
                    &uri,
                    accept.as_deref(),
                    &Auth::admin(),
                    None,
                )
                .await;
            let answers = res.status != StatusCode::METHOD_NOT_ALLOWED;
            let op = &item[method.as_str().to_ascii_lowercase()];
            assert_eq!(
                answers,
                op.is_object(),
                "{method} {}: answers {} but is {}documented",
                route.path,
                res.status,
                if op.is_object() { "" } else { "not " }
            );
            if !op.is_object() {
                continue;
            }
            // The version the route speaks is the one documented.
            match route.version {
                Some(v) => {
                    assert_eq!(
                        op["x-gocd-accept"],
                        accept_header(v),
                        "{method} {}",
                        route.path
                    );
                    let wrong = app
                        .api_raw(method.clone(), &uri, None, &Auth::admin(), None)
                        .await;
                    assert_eq!(
                        wrong.status,
                        StatusCode::NOT_FOUND,
                        "{method} {}",
                        route.path
                    );
                    assert!(
                        op["responses"]["404"]["content"]["text/plain"].is_object(),
                        "{method} {}: the wrong-version 404 is not documented",
                        route.path
                    );
                }
                None => assert!(op["x-gocd-accept"].is_null(), "{method} {}", route.path),
            }
            // A protected operation documents its anonymous answer, and gives it.
            let protected = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if protected {
                let anonymous = app
                    .api_raw(method.clone(), &uri, accept.as_deref(), &Auth::None, None)
                    .await;
                assert_eq!(
                    anonymous.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {} anonymously",
                    route.path
                );
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {}: 401 is not documented",
                    route.path
                );
            }
            // Whatever it answered is documented.
            let code = res.status.as_str().to_string();
            assert!(
                op["responses"][&code].is_object(),
                "{method} {}: {code} is not documented",
                route.path
            );
        }
    }
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(
        documented, served_paths,
        "the document and the router disagree on the paths"
    );
    // Every operation has an id of its own (client generators name methods by
    // it), and every link leads to one of them.
    let ids = openapi::operation_ids();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert_eq!(ids.len(), openapi::operations().len());
    let mut links = 0;
    for item in paths.values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flat_map(|l| l.values())
                {
                    let to = link["operationId"].as_str().unwrap().to_string();
                    assert!(
                        unique.contains(&to),
                        "a link to {to}, which is no operation"
                    );
                    links += 1;
                }
            }
        }
    }
    assert!(links > 0, "no links");
}

#[tokio::test]
async fn versioned_operations_answer_in_their_media_type() {
    let app = TestApp::new().await;
    let doc = fetch(&app, None).await;
    let op = &doc["paths"]["/go/api/users"]["get"];
    assert_eq!(op["x-gocd-accept"], "application/vnd.go.cd.v3+json");
    assert!(op["responses"]["200"]["content"]["application/vnd.go.cd.v3+json"].is_object());
    assert!(op["responses"]["200"]["content"]["application/json"].is_null());
    assert!(op["responses"]["401"]["content"]["application/vnd.go.cd.v3+json"].is_object());
    // What the server answers is of the documented media type.
    let res = app.api(Method::GET, USERS, 3, &Auth::admin(), None).await;
    assert!(res
        .header(header::CONTENT_TYPE)
        .starts_with("application/vnd.go.cd.v3+json"));
    let op = &doc["paths"]["/go/api/credentials/revoke"]["post"];
    assert!(op["x-gocd-accept"].is_null());
    assert!(op["responses"]["202"]["content"]["application/json"].is_object());
    let op = &doc["paths"]["/go/cctray.xml"]["get"];
    assert!(op["responses"]["401"]["content"]["application/xml"].is_object());
}

fn accept_header(v: u8) -> Value {
    Value::String(accept(v))
}
