//! API-key verification and the verifier pool against loopback servers (tests/support/http.rs).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::support::http::{api_server, trap_server, ApiServer, BASIC_USER};
use crate::support::pg::free_port;
use crate::support::{api_component, assert_no_secret, credential, verifier, NOW, SENTINEL};
use keyway::core::schema::Component;
use keyway::core::{Credential, Status};
use keyway::verify::{verify_all, Outcome, Pool, PoolEvent};

const BEARER: &str = r#"{ type = "bearer" }"#;

fn key_credential(base_url: &str, key: &str) -> Credential {
    credential(
        "loopback_api",
        &[("base_url", base_url), ("account_sid", BASIC_USER)],
        &[("api_key", key)],
    )
}

async fn check(component: &Component, base_url: &str, key: &str) -> Outcome {
    verifier(2, 5)
        .verify(component, &key_credential(base_url, key), NOW)
        .await
}

#[tokio::test]
async fn right_key_is_verified_with_detail() {
    let api = api_server(SENTINEL, None).await;
    let component = api_component("/v1/me", BEARER, Some("/account/id"));
    let o = check(&component, &api.base_url(), SENTINEL).await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert_eq!(o.detail.as_deref(), Some("acct_42"));
    assert!(o.latency > Duration::ZERO);
    assert_eq!(api.state.found_via.lock().unwrap().as_slice(), ["bearer"]);
    assert_no_secret(&o);

    // Numbers are stringified.
    let component = api_component("/v1/me", BEARER, Some("/account/seats"));
    let o = check(&component, &api.base_url(), SENTINEL).await;
    assert_eq!(o.detail.as_deref(), Some("7"));
}

#[tokio::test]
async fn wrong_key_is_rejected() {
    let api = api_server(SENTINEL, None).await;
    let component = api_component("/v1/me", BEARER, None);
    let o = check(&component, &api.base_url(), "sk_SENTINEL_wrong").await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("401"), "{}", o.reason);
    assert_eq!(api.hits(), 1);
    assert_no_secret(&o);
}

#[tokio::test]
async fn server_error_is_unreachable() {
    let api = api_server(SENTINEL, None).await;
    let o = check(
        &api_component("/v1/boom", BEARER, None),
        &api.base_url(),
        SENTINEL,
    )
    .await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("500"), "{}", o.reason);
}

#[tokio::test]
async fn redirect_is_reported_not_followed_and_the_target_never_sees_the_key() {
    let trap = trap_server(SENTINEL).await;
    let api = api_server(SENTINEL, Some(trap.addr)).await;
    for auth in [BEARER, r#"{ type = "query", param = "key" }"#] {
        let o = check(
            &api_component("/v1/moved", auth, None),
            &api.base_url(),
            SENTINEL,
        )
        .await;
        assert_ne!(o.status, Status::Verified, "{}", o.reason);
        assert!(o.reason.contains(&trap.addr.to_string()), "{}", o.reason);
        assert!(
            o.reason.contains("does not follow redirects"),
            "{}",
            o.reason
        );
        assert_no_secret(&o);
    }
    assert_eq!(trap.state.requests.load(Ordering::SeqCst), 0);
    assert_eq!(trap.state.saw_key.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn key_placements_header_prefix_basic_and_query() {
    // A key with characters that must be encoded in a query string.
    let key = "sk_SENTINEL_a&b=c+d/e f";
    let api = api_server(key, None).await;
    let cases = [
        (r#"{ type = "header", name = "X-Api-Key" }"#, "header"),
        (
            r#"{ type = "header", name = "Authorization", prefix = "Token token=" }"#,
            "header-prefix",
        ),
        (
            r#"{ type = "basic", username_field = "account_sid", password_field = "api_key" }"#,
            "basic",
        ),
        (r#"{ type = "query", param = "key" }"#, "query"),
    ];
    for (auth, via) in cases {
        let component = api_component("/v1/me", auth, None);
        let o = check(&component, &api.base_url(), key).await;
        assert_eq!(o.status, Status::Verified, "{via}: {}", o.reason);
        assert_eq!(
            api.state.found_via.lock().unwrap().last().copied(),
            Some(via)
        );
        let o = check(&component, &api.base_url(), "sk_SENTINEL_wrong&x=1").await;
        assert_eq!(o.status, Status::Rejected, "{via}: {}", o.reason);
        assert_no_secret(&o);
    }
}

#[tokio::test]
async fn ok_false_body_is_rejected() {
    let api = api_server(SENTINEL, None).await;
    let component = api_component("/v1/slack", BEARER, Some("/team"));
    let good = check(&component, &api.base_url(), SENTINEL).await;
    assert_eq!(good.status, Status::Verified, "{}", good.reason);
    assert_eq!(good.detail.as_deref(), Some("Acme"));
    let bad = check(&component, &api.base_url(), "sk_SENTINEL_wrong").await;
    assert_eq!(bad.status, Status::Rejected, "{}", bad.reason);
    assert!(bad.reason.contains("invalid_auth"), "{}", bad.reason);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let component = api_component("/v1/me", BEARER, None);
    let o = check(&component, "http://api.example.invalid", SENTINEL).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(o.reason.contains("plain http"), "{}", o.reason);
}

#[tokio::test]
async fn secrets_never_appear_in_failures() {
    // A closed port with the key in the query string: reqwest's own error text would carry the
    // URL, key included.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let component = api_component("/v1/me", r#"{ type = "query", param = "key" }"#, None);
    let o = check(&component, &base, SENTINEL).await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("refused"), "{}", o.reason);
    assert_no_secret(&o);
    // A key that cannot go into a header is misconfigured, and not echoed.
    let o = check(
        &api_component("/v1/me", BEARER, None),
        &base,
        "sk_SENTINEL\nx",
    )
    .await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert_no_secret(&o);
}

fn pool_inputs(api: &ApiServer, path: &str) -> (Component, Credential) {
    (
        api_component(path, BEARER, None),
        key_credential(&api.base_url(), SENTINEL),
    )
}

#[tokio::test]
async fn pool_honours_its_concurrency_bound() {
    let api = api_server(SENTINEL, None).await;
    let (component, credential) = pool_inputs(&api, "/v1/slow/150");
    let (pool, mut events) = Pool::new(Arc::new(verifier(2, 5)), 3).unwrap();
    let handles: Vec<_> = (0..12)
        .map(|i| pool.submit(i, component.clone(), credential.clone(), NOW))
        .collect();
    let mut finished = 0;
    while finished < 12 {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(PoolEvent::Finished { outcome, .. })) => {
                assert_eq!(outcome.status, Status::Verified, "{}", outcome.reason);
                finished += 1;
            }
            Ok(Some(PoolEvent::Started { .. })) => {}
            other => panic!("pool stalled: {other:?}"),
        }
    }
    assert_eq!(api.hits(), 12);
    assert_eq!(
        api.max_in_flight(),
        3,
        "the bound should be reached and never exceeded"
    );
    drop(handles);
}

#[tokio::test]
async fn pool_shares_one_run_between_two_requests_for_the_same_key() {
    let api = api_server(SENTINEL, None).await;
    let (component, credential) = pool_inputs(&api, "/v1/slow/300");
    let (pool, mut events) = Pool::new(Arc::new(verifier(2, 5)), 4).unwrap();
    let mut first = pool.submit("cred-1", component.clone(), credential.clone(), NOW);
    let mut second = pool.submit("cred-1", component.clone(), credential.clone(), NOW);
    let (a, b) = tokio::join!(first.outcome(), second.outcome());
    assert_eq!(
        a.expect("first requester gets the result").status,
        Status::Verified
    );
    assert_eq!(
        b.expect("second requester gets the result").status,
        Status::Verified
    );
    assert_eq!(api.hits(), 1, "one network request for both");
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(match e {
            PoolEvent::Started { key } => format!("started {key}"),
            PoolEvent::Finished { key, .. } => format!("finished {key}"),
        });
    }
    assert_eq!(seen, ["started cred-1", "finished cred-1"]);
    // After it finished, a new submission is a new run.
    let mut third = pool.submit("cred-1", component, credential, NOW);
    assert!(third.outcome().await.is_some());
    assert_eq!(api.hits(), 2);
}

#[tokio::test]
async fn dropping_the_last_handle_cancels_the_job() {
    let api = api_server(SENTINEL, None).await;
    let (component, credential) = pool_inputs(&api, "/v1/slow/400");
    let (pool, mut events) = Pool::new(Arc::new(verifier(2, 5)), 4).unwrap();
    let one = pool.submit("k", component.clone(), credential.clone(), NOW);
    let two = pool.submit("k", component.clone(), credential.clone(), NOW);
    tokio::time::timeout(Duration::from_secs(5), async {
        while api.state.in_flight.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("request reached the server");
    drop(one);
    assert!(pool.is_pending(&"k"), "one requester is still waiting");
    drop(two);
    assert!(!pool.is_pending(&"k"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut finished = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(e, PoolEvent::Finished { .. }) {
            finished += 1;
        }
    }
    assert_eq!(finished, 0, "a cancelled job reports no result");

    // cancel(key) aborts too, and a waiting handle learns it.
    let mut held = pool.submit("k2", component, credential, NOW);
    assert!(pool.cancel(&"k2"));
    assert!(held.outcome().await.is_none());
}

#[tokio::test]
async fn verify_all_keeps_input_order_and_reports_progress() {
    let api = api_server(SENTINEL, None).await;
    let good = api_component("/v1/slow/50", BEARER, None);
    let boom = api_component("/v1/boom", BEARER, None);
    let ok = key_credential(&api.base_url(), SENTINEL);
    let bad = key_credential(&api.base_url(), "sk_SENTINEL_wrong");
    let items = [(&good, &ok), (&boom, &ok), (&good, &bad), (&good, &ok)];
    let v = verifier(2, 5);
    let mut progress = Vec::new();
    let outcomes = verify_all(&v, 2, &items, NOW, |p| {
        progress.push((p.index, p.done, p.total))
    })
    .await;
    let statuses: Vec<_> = outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Verified,
            Status::Unreachable,
            Status::Rejected,
            Status::Verified
        ]
    );
    assert_eq!(progress.len(), 4);
    assert_eq!(progress.last().map(|p| (p.1, p.2)), Some((4, 4)));
    let mut indexes: Vec<_> = progress.iter().map(|p| p.0).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2, 3]);
}
