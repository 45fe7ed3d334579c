//! Connections to the real binary: idle and slow clients are cut off after the
//! header-read timeout while others are served, a stalled body ends with 408,
//! and no more than --max-connections are served at once.

use crate::common::*;
use base64::Engine;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A generous bound for what should happen soon, on a loaded machine.
const BOUND: Duration = Duration::from_secs(60);

fn basic_admin() -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    format!("Basic {enc}")
}

/// Reads one response's head (up to the blank line) and returns it, or what
/// came before the server closed the connection.
async fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Reads one whole response (head and `Content-Length` body); returns its head.
async fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return head;
            }
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&buf).into_owned(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Whether the server closed the connection within `BOUND` (end of stream
/// or reset), whatever it sent before.
async fn closed_by_server(mut s: TcpStream) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(BOUND, s.read_to_end(&mut sink))
        .await
        .is_ok()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(BOUND).build().unwrap()
}

async fn me_status(http: &reqwest::Client, addr: std::net::SocketAddr) -> reqwest::StatusCode {
    http.get(format!("http://{addr}/go/api/current_user"))
        .header("Accept", accept(1))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("the server did not answer a normal request while idle connections were open")
        .status()
}

/// Slowloris: 2,000 connections that send nothing, part of a header, or a
/// header byte now and then, plus one idle after a first request. The server
/// keeps answering others, and closes every one of them after the
/// header-read timeout.
#[tokio::test]
async fn idle_and_slow_connections_are_closed_while_others_are_served() {
    // Both ends hold 2,000 descriptors (the server inherits this limit too).
    tollgate::server::serve::raise_open_files_limit(4096);
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(&url, &["--header-read-timeout-secs", "3"]).await;

    // One connection that sent a request and then went quiet (keep-alive).
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /go/api/current_user HTTP/1.1\r\nHost: t\r\nAccept: application/vnd.go.cd.v1+json\r\n\r\n")
        .await
        .unwrap();
    let head = tokio::time::timeout(BOUND, read_response(&mut kept))
        .await
        .expect("no answer to a first request");
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");

    let mut idle = Vec::new();
    for i in 0..2000 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if i % 4 == 1 {
            s.write_all(b"GET /go/api/current_user HTTP/1.1\r\nHost: t\r\n")
                .await
                .unwrap();
        }
        idle.push(s);
    }
    // A client trickling its headers one byte at a time never finishes them;
    // the timeout does not restart with each byte.
    let trickle = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /go/api/current_user HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            .await
            .unwrap();
        let until = tokio::time::Instant::now() + BOUND;
        while tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if s.write_all(b"a").await.is_err() {
                return true;
            }
        }
        false
    });

    let http = client();
    assert_eq!(me_status(&http, addr).await, reqwest::StatusCode::OK);

    let mut closing = tokio::task::JoinSet::new();
    for s in idle {
        closing.spawn(closed_by_server(s));
    }
    closing.spawn(closed_by_server(kept));
    let mut still_open = 0;
    while let Some(closed) = closing.join_next().await {
        still_open += usize::from(!closed.unwrap());
    }
    assert_eq!(
        still_open, 0,
        "idle connections were still open {BOUND:?} after a header-read timeout of 3 s"
    );
    assert!(
        trickle.await.unwrap(),
        "a client trickling header bytes kept its connection"
    );
    // And the server is still well.
    assert_eq!(me_status(&http, addr).await, reqwest::StatusCode::OK);
    child.start_kill().unwrap();
    let _ = child.wait().await;
    drop(storage);
}

/// A request whose body stops coming is answered 408 after the request
/// timeout, and its connection closed.
#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(&url, &["--request-timeout-secs", "2"]).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /go/api/current_user/access_tokens HTTP/1.1\r\nHost: t\r\n\
         Authorization: {}\r\nAccept: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"descr",
        basic_admin(),
        accept(1)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(BOUND, read_head(&mut s))
        .await
        .expect("a request with a stalled body was never answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    // Whichever timeout answered, the answer has a request id.
    assert!(
        answer.to_ascii_lowercase().contains("\r\nx-request-id: "),
        "{answer:?}"
    );
    assert!(closed_by_server(s).await, "the connection stayed open");

    // Nothing was created by the cut-off request; normal ones still work.
    let http = client();
    let tokens: serde_json::Value = http
        .get(format!("http://{addr}/go/api/current_user/access_tokens"))
        .header("Accept", accept(1))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["_embedded"]["access_tokens"], serde_json::json!([]));
    child.start_kill().unwrap();
    let _ = child.wait().await;
    drop(storage);
}

/// Past --max-connections, a new connection is not served until one closes.
#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(
        &url,
        &[
            "--max-connections",
            "3",
            "--header-read-timeout-secs",
            "600",
        ],
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The kernel completes the handshake; the server does not take it up.
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    fourth
        .write_all(b"GET /go/api/current_user HTTP/1.1\r\nHost: t\r\nAccept: application/vnd.go.cd.v1+json\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_secs(2), fourth.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "a connection past the cap of 3 was served: {early:?}"
    );
    // One slot frees up: the waiting connection is served.
    drop(held.remove(0));
    let head = tokio::time::timeout(BOUND, read_head(&mut fourth))
        .await
        .expect("the waiting connection was not served after a slot freed up");
    assert!(head.starts_with("HTTP/1.1 401"), "{head:?}");
    child.start_kill().unwrap();
    let _ = child.wait().await;
    drop(storage);
}

/// SIGTERM: the server stops accepting at once, but a request in flight (here
/// one whose body is still coming) is finished and answered before it exits.
#[tokio::test]
async fn sigterm_finishes_requests_in_flight() {
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(&url, &[]).await;
    let body = r#"{"description": "sent across a shutdown"}"#;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // `Expect: 100-continue`: the server answers `100 Continue` when the
    // handler starts reading the body, so the request is surely in flight
    // (not merely sent) when SIGTERM arrives.
    let head = format!(
        "POST /go/api/current_user/access_tokens HTTP/1.1\r\nHost: t\r\n\
         Authorization: {}\r\nAccept: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        basic_admin(),
        accept(1),
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let cont = tokio::time::timeout(BOUND, read_head(&mut s))
        .await
        .expect("no 100 Continue");
    assert!(cont.starts_with("HTTP/1.1 100"), "{cont:?}");

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    // Once new connections are refused, the server has begun shutting down.
    let deadline = tokio::time::Instant::now() + BOUND;
    while TcpStream::connect(addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.write_all(body.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(BOUND, read_head(&mut s))
        .await
        .expect("the request in flight was not answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .expect("no exit after the last request finished")
        .unwrap();
    assert!(status.success(), "{status:?}");
    drop(storage);
}

/// The suite's old stall: building a router renders the app once in leptos's
/// route-generation mode, which sets a process-wide flag under which any
/// resource created anywhere in the process never loads (leptos-rs/leptos
/// #4773). A page rendered by one app while another app's router was being
/// built (tests run in parallel; benches build several) waited forever for its
/// signed-in user. Here routers are built without pause while pages render:
/// every page must still finish (`TestApp::send` fails a request after 30 s).
#[tokio::test]
async fn pages_render_while_other_routers_are_built() {
    let app = TestApp::new().await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    // Stops the builder even when a request below panics.
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let stop = Stop(Default::default());
    let built = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let builder = {
        let (state, stop, built) = (app.state.clone(), stop.0.clone(), built.clone());
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            let _in = runtime.enter();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                drop(tollgate::server::build_router(state.clone()));
                built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    while built.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for path in [
        "/go/access_tokens",
        "/go/admin/admin_access_tokens",
        "/go/admin/users",
    ]
    .iter()
    .cycle()
    .take(30)
    {
        let res = app.get_page(path, Some(&cookie)).await;
        assert_eq!(res.status, axum::http::StatusCode::OK, "{path}");
        assert!(res.text().contains("</html>"), "{path}: {}", res.text());
    }
    drop(stop);
    builder.join().unwrap();
}
