//! Hostile HTTP servers on loopback: one that never answers, one that streams an endless body,
//! one that speaks garbage, one whose "detail" is crafted to mess up a terminal. Each yields a
//! clear result within the deadline, with bounded memory and no secret in what is reported.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{
    api_component, assert_no_secret, credential, verifier, BEARER, NOW, SENTINEL,
};
use keyway::core::Status;
use keyway::verify::Outcome;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A raw TCP server on 127.0.0.1 that runs `respond` for every connection.
async fn raw_server<F, Fut>(respond: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let respond = std::sync::Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move { respond(stream).await });
        }
    });
    format!("http://{addr}")
}

/// Reads the request head, so the client is past sending before the server misbehaves.
async fn read_head(stream: &mut tokio::net::TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf).await;
}

async fn check(base_url: &str, pointer: Option<&str>) -> (Outcome, Duration) {
    let component = api_component("/v1/me", r#"{ type = "bearer" }"#, pointer);
    let cred = credential(
        "loopback_api",
        &[("base_url", base_url)],
        &[("api_key", SENTINEL)],
    );
    let started = Instant::now();
    let outcome = verifier(1, 2).verify(&component, &cred, NOW).await;
    assert_no_secret(&outcome);
    (outcome, started.elapsed())
}

#[tokio::test]
async fn a_server_that_never_answers_is_unreachable_at_the_deadline() {
    let base = raw_server(|mut s| async move {
        read_head(&mut s).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(s);
    })
    .await;
    let (o, took) = check(&base, None).await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("2 s deadline"), "{}", o.reason);
    // The issue's bound for a silent peer: the deadline plus one second.
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn an_endless_body_is_cut_off() {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 4096; // 256 MiB
    let (sent, done) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (counter, finished) = (sent.clone(), done.clone());
    let base = raw_server(move |mut s| {
        let (counter, finished) = (counter.clone(), finished.clone());
        async move {
            read_head(&mut s).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_ok() {
                let chunk = vec![b'['; CHUNK];
                // Far more than any account endpoint returns; stops when keyway hangs up.
                for _ in 0..CHUNKS {
                    if s.write_all(&chunk).await.is_err() {
                        break;
                    }
                    counter.fetch_add(CHUNK, Ordering::SeqCst);
                }
            }
            finished.store(true, Ordering::SeqCst);
        }
    })
    .await;
    let (o, _) = check(&base, Some("/account/id")).await;
    // A 200 is the service's answer; the endless body only loses the detail.
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert_eq!(o.detail, None);
    // keyway hung up after reading its limit: the server got no further than what the
    // sockets buffer, far from the whole body.
    while !done.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < CHUNK * CHUNKS / 8, "the server wrote {sent} bytes");
}

#[tokio::test]
async fn garbage_instead_of_http_is_unreachable_with_a_sentence() {
    let base = raw_server(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02garbage\r\n\r\n")
            .await;
    })
    .await;
    let (o, _) = check(&base, None).await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.ends_with('.'), "one sentence: {}", o.reason);
    assert!(
        !o.reason.contains("reqwest::"),
        "no Debug dump: {}",
        o.reason
    );
}

#[tokio::test]
async fn a_crafted_detail_cannot_reach_the_terminal_raw() {
    let base = raw_server(|mut s| async move {
        read_head(&mut s).await;
        let evil = format!("\\u001b]0;pwned\\u0007\\u001b[2J{}", "A".repeat(5000));
        let body = format!("{{\"account\":{{\"id\":\"{evil}\"}}}}");
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let (o, _) = check(&base, Some("/account/id")).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    let detail = o.detail.expect("the detail is kept, made safe");
    assert!(
        !detail.chars().any(char::is_control),
        "control characters kept: {detail:?}"
    );
    assert!(
        detail.chars().count() <= 80,
        "detail not bounded: {} chars",
        detail.chars().count()
    );
}

/// A key longer than a detail (80 characters), in mixed case, with a hyphen and a slash, which
/// URL encoding changes.
const ECHOED_KEY: &str =
    "SENTINEL-9f3a7c/Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56Ab78Cd90Ef12Gh34Ij56Kl78";

#[tokio::test]
async fn a_service_echoing_the_key_in_any_form_leaks_nothing() {
    let echo = crate::support::http::echo_server().await;
    // Stored with the whitespace a paste left (as vaults before the stored-form rule hold
    // it), sent trimmed.
    let stored = format!("  {ECHOED_KEY}  ");
    for mode in crate::support::http::ECHO_MODES {
        let component = api_component(&format!("/echo/{mode}"), BEARER, Some("/account/id"));
        let cred = credential(
            "loopback_api",
            &[("base_url", &format!("http://{echo}"))],
            &[("api_key", &stored)],
        );
        let o = verifier(1, 5).verify(&component, &cred, NOW).await;
        assert_eq!(o.status, Status::Verified, "{mode}: {}", o.reason);
        let shown = format!("{} {:?} {o:?}", o.reason, o.detail);
        assert_eq!(
            crate::support::leaked_form(&shown, ECHOED_KEY),
            None,
            "{mode}: {shown}"
        );
        // Rather no detail than one that may hold the key.
        assert_eq!(o.detail, None, "{mode}");
    }
    // A detail without the key is still shown.
    let component = api_component("/echo/unknown", BEARER, Some("/account/id"));
    let cred = credential(
        "loopback_api",
        &[("base_url", &format!("http://{echo}"))],
        &[("api_key", ECHOED_KEY)],
    );
    let o = verifier(1, 5).verify(&component, &cred, NOW).await;
    assert_eq!(o.detail.as_deref(), Some("unknown mode"));
}
