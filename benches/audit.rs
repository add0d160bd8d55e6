//! Audit benchmark (issue 6): re-verify 1,000 stored credentials against a loopback API server
//! through the audit path (the verifier pool at the configured concurrency, then every result
//! recorded in the vault in one durable write), against the bare-client limit: the same 1,000
//! GETs sent by a plain reqwest loop at the same concurrency. Also the peak heap of the audit.
//!
//! Run: `cargo bench --bench audit`. Goal: audit / bare at most 1.2.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use keyway::audit::verify_and_record;
use keyway::catalog::Catalog;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Status, Verification, HISTORY_LIMIT};
use keyway::store::{CredentialDraft, Store};
use keyway::vault::kdf::{self, KdfParams};
use secrecy::SecretString;
use support::http::api_server;
use support::{api_component, verifier, SENTINEL};

#[path = "common/alloc.rs"]
mod alloc;
use alloc::{LIVE, PEAK};

const CONCURRENCY: usize = 16;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1_000 } else { 20 };
    let runs = if full { 7 } else { 1 };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let api = rt.block_on(api_server(SENTINEL, None));
    let component = api_component("/v1/me", r#"{ type = "bearer" }"#, None);
    let catalog = Catalog::from_components(vec![component.clone()]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vault.redb");
    let params = KdfParams {
        memory_kib: kdf::FLOOR_MEMORY_KIB,
        iterations: kdf::FLOOR_ITERATIONS,
        parallelism: 1,
    };
    let mut store = Store::create(&path, b"p", params, Timestamp(0)).expect("create");
    let ws = store.add_workspace("bench", Timestamp(0)).expect("ws").id;
    let creds: Vec<_> = (0..n)
        .map(|i| {
            let draft = CredentialDraft {
                workspace: ws.clone(),
                component: component.id.clone(),
                name: format!("key-{i:04}"),
                environment: Default::default(),
                changes: vec![
                    ("base_url".into(), FieldValue::Plain(api.base_url())),
                    (
                        "api_key".into(),
                        FieldValue::Secret(SecretString::from(SENTINEL)),
                    ),
                ],
            };
            store
                .prepare_credential(&catalog, draft, None, Timestamp(1))
                .expect("prepare")
        })
        .collect();
    // A long-lived vault: every credential already has a full history.
    let history: Vec<Verification> = (0..HISTORY_LIMIT as i64)
        .map(|i| Verification {
            status: Status::Verified,
            reason: "Loopback API accepted the key.".into(),
            detail: None,
            latency_ms: Some(1),
            at: Timestamp(1_000 - i),
        })
        .collect();
    store
        .save_credentials(creds.into_iter().map(|c| (c, history.clone())).collect())
        .expect("save");
    let v = verifier(5, 15);

    let mut audits = Vec::new();
    let mut peak = 0usize;
    for _ in 0..runs {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        let now = keyway::clock::now();
        // What `keyway audit` does after opening the vault.
        let items: Vec<_> = store
            .snapshot()
            .credentials
            .iter()
            .map(|c| (&component, c.id.clone()))
            .collect();
        let outcomes = verify_and_record(&rt, &mut store, &v, CONCURRENCY, &items, now, |_| {})
            .expect("audit");
        assert!(outcomes
            .iter()
            .all(|o| o.status == keyway::core::Status::Verified));
        audits.push(t.elapsed());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
    }

    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = format!("{}/v1/me", api.base_url());
    let mut bares = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let ok = rt.block_on(
            futures::stream::iter(0..n)
                .map(|_| {
                    let req = bare.get(&url).bearer_auth(SENTINEL);
                    async move {
                        req.send()
                            .await
                            .map(|r| r.status().is_success())
                            .unwrap_or(false)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .filter(|ok| futures::future::ready(*ok))
                .count(),
        );
        assert_eq!(ok, n);
        bares.push(t.elapsed());
    }
    // The verification phase alone (the pool, no recording), to show where the time goes.
    let mut verify_only = Vec::new();
    for _ in 0..runs {
        let items: Vec<_> = store
            .snapshot()
            .credentials
            .iter()
            .map(|c| (&component, c))
            .collect();
        let t = Instant::now();
        let outcomes = rt.block_on(keyway::verify::verify_all(
            &v,
            CONCURRENCY,
            &items,
            keyway::clock::now(),
            |_| {},
        ));
        assert_eq!(outcomes.len(), n);
        verify_only.push(t.elapsed());
    }
    let verify_ms = median(verify_only).as_secs_f64() * 1e3;
    let audit_ms = median(audits).as_secs_f64() * 1e3;
    let bare_ms = median(bares).as_secs_f64() * 1e3;
    println!("audit of {n} API-key credentials at concurrency {CONCURRENCY} (median of {runs})");
    println!("keyway audit (verify + record): {audit_ms:8.1} ms");
    println!(
        "  verification phase alone:     {verify_ms:8.1} ms (ratio {:.2})",
        verify_ms / bare_ms
    );
    println!("bare reqwest loop:              {bare_ms:8.1} ms");
    println!(
        "ratio:                          {:8.2}   goal <= 1.2",
        audit_ms / bare_ms
    );
    println!(
        "peak heap during the audit:     {:8.1} MB",
        peak as f64 / 1e6
    );
}
