//! Issue 15, section 3: `tollgate scan`, the real binary on a real tree, and
//! `--report` to a real server.

use crate::common::*;
use axum::http::StatusCode;
use std::path::Path;
use std::process::Output;
use tollgate::server::tokens::format::PlainToken;

async fn scan(args: &[&str], stdin: Option<&str>) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("scan")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .await
        .unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn write(root: &Path, path: &str, content: &[u8]) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[tokio::test]
async fn scan_finds_valid_tokens_and_reports_them_for_revocation() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (leaked, real) = app.create_token(&admin, "committed by mistake").await;
    let other = PlainToken::generate();
    let other = other.expose();
    let forged = format!(
        "{}{}",
        &real[..39],
        if real.ends_with('a') { 'b' } else { 'a' }
    );
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    write(root, "deploy.env", format!("TOKEN={real}\n").as_bytes());
    write(
        root,
        "src/nested/config.yaml",
        format!("a: 1\nb: 2\ntoken: \"{other}\"\n").as_bytes(),
    );
    write(
        root,
        "src/forged.txt",
        format!("{forged}\nghp_16C7e42F292c6912E7710c838347Ae178B4a\n").as_bytes(),
    );
    write(root, ".git/config", format!("{real}\n").as_bytes());
    let mut binary = b"\x00\x01binary".to_vec();
    binary.extend_from_slice(real.as_bytes());
    write(root, "image.bin", &binary);
    let root_s = root.display().to_string();

    let out = scan(&[&root_s], None).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("{root_s}/deploy.env:1: {}…(masked)", &real[..8]),
            format!(
                "{root_s}/src/nested/config.yaml:3: {}…(masked)",
                &other[..8]
            ),
        ]
    );
    for secret in [&real[8..], &other[8..]] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed"
        );
    }
    assert!(stderr.contains("2 tollgate tokens found"), "{stderr}");

    // Clean input: 0. Standard input works too. A missing path: 2.
    let clean = scan(&[&format!("{root_s}/src/forged.txt")], None).await;
    assert_eq!(clean.status.code(), Some(0));
    let piped = scan(&["-"], Some(&format!("x\n  {other}\n"))).await;
    assert_eq!(piped.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout).trim(),
        format!("(stdin):2: {}…(masked)", &other[..8])
    );
    let missing = scan(&["/no/such/place"], None).await;
    assert_eq!(missing.status.code(), Some(2));

    // --report: the live one is revoked by the server.
    let http = app.serve().await;
    let base = format!("http://{}", http.addr().unwrap());
    let out = scan(&[&root_s, "--report", &base], None).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("reported 2 token(s)"));
    let t = app.admin_show_token(&admin, leaked).await.json();
    assert_eq!(t["revoke_cause"], "Reported as leaked");
    assert_eq!(app.me(&real).await.status, StatusCode::UNAUTHORIZED);
    // A server that does not answer 202: a clear error, exit 2.
    let out = scan(&[&root_s, "--report", "http://127.0.0.1:9"], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reporting to http://127.0.0.1:9"));
}
