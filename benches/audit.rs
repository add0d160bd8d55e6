//! Audit benchmark (issue 6): re-verify 1,000 stored credentials against a loopback API server
//! through the audit path (the verifier pool at the configured concurrency, then every result
//! recorded in the vault in one durable write), against the bare-client limit: the same 1,000
//! GETs sent by a plain reqwest loop at the same concurrency. Also the peak heap of the audit.
//! Two audits are timed: a steady one, finding every credential as the last audit left it (its
//! results join their runs: nothing but the sequence record is written), and one in which every
//! result differs from the credential's newest, which heads a run (each result ends a run and
//! starts an entry, 1,000 entries written: the worst case).
//!
//! The machine's speed drifts between runs (a shared 2-core VM here), so the measurements take
//! turns within each round and the goal is judged on each round's own ratio, audit / bare, of
//! which the median is reported with its quartiles.
//!
//! Run: `cargo bench --bench audit`. Goal: audit / bare at most 1.2.

// The tests' loopback servers and helpers; attached by path (see benches/common/mod.rs for why).
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use keyway::audit::verify_and_record;
use keyway::catalog::Catalog;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Status, Verification};
use keyway::store::{Checked, CredentialDraft, Store};
use secrecy::SecretString;
use support::http::api_server;
use support::{api_component, verifier, SENTINEL};

mod common;
use common::alloc::{LIVE, PEAK};
use common::measure::{full_history, median};

const CONCURRENCY: usize = 16;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1_000 } else { 20 };
    let runs = if full { 31 } else { 1 };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let api = rt.block_on(api_server(SENTINEL, None));
    let component = api_component("/v1/me", r#"{ type = "bearer" }"#, None);
    let catalog = Catalog::from_components(vec![component.clone()]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vault.redb");
    let mut store =
        Store::create(&path, b"p", keyway::vault::kdf::FLOOR, Timestamp(0)).expect("create");
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
    let history = full_history(&Verification {
        status: Status::Verified,
        reason: "Loopback API accepted the key.".into(),
        detail: None,
        latency_ms: Some(1),
        at: Timestamp(1_000),
        run: None,
        // What verifying over plain http to loopback records, so the first round is steady.
        tls: Some(keyway::core::TlsState::None),
    });
    store
        .save_credentials(creds.into_iter().map(|c| (c, history.clone())).collect())
        .expect("save");
    let v = verifier(5, 15);

    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = format!("{}/v1/me", api.base_url());

    // The measurements take turns within each round, so whatever else the machine does
    // weighs on all of them alike. Wall time is what the goal is about; the process's CPU time
    // (client and server together, since the server runs in this process) is steadier.
    let (mut audits, mut bares, mut verify_only) = (Vec::new(), Vec::new(), Vec::new());
    let (mut record_only, mut bares_reading) = (Vec::new(), Vec::new());
    let (mut record_changed, mut audits_changed) = (Vec::new(), Vec::new());
    let mut audits_batched = Vec::new();
    let mut peak = 0usize;
    for _ in 0..runs {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        audits.push(audit(&rt, &mut store, &component, &v));
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);

        // The same steady audit recorded the way the TUI's "verify all" used to: a batch of 25
        // results committed by another thread as they arrive, while the checks go on.
        audits_batched.push(audit_in_batches(&rt, &mut store, &component, &v));

        settle();
        let t = Timer::start();
        assert_eq!(rt.block_on(bare_loop(&bare, &url, n, false)), n);
        bares.push(t.stop());

        // The same, reading each answer's body as a verifier must (the goal's baseline stays
        // the loop above, which does less).
        settle();
        let t = Timer::start();
        assert_eq!(rt.block_on(bare_loop(&bare, &url, n, true)), n);
        bares_reading.push(t.stop());

        // The verification phase alone (no recording), to show where the time goes.
        let items: Vec<_> = store
            .snapshot()
            .credentials
            .iter()
            .map(|c| (&component, c))
            .collect();
        settle();
        let t = Timer::start();
        let outcomes = rt.block_on(keyway::verify::verify_all(
            &v,
            CONCURRENCY,
            &items,
            keyway::clock::now(),
            |_| {},
        ));
        assert_eq!(outcomes.len(), n);
        verify_only.push(t.stop());

        // The recording alone: the same results written without any network work.
        let now = keyway::clock::now();
        let ids: Vec<_> = items
            .iter()
            .map(|(_, c)| (c.id.clone(), c.revision.number))
            .collect();
        let checked = |(id, revision): &(keyway::core::RecordId, u64), result| Checked {
            id: id.clone(),
            revision: *revision,
            result,
            tokens: None,
        };
        let results: Vec<_> = ids
            .iter()
            .zip(&outcomes)
            .map(|(id, o)| checked(id, o.to_verification(now)))
            .collect();
        settle();
        let t = Timer::start();
        store.record_verifications(results, now).expect("record");
        record_only.push(t.stop());

        // The same, when every result differs from its credential's newest, which heads a run
        // (the first audit of an outage, say): each result is a new history entry carrying the
        // final state of the run it ends. The worst case.
        let changed: Vec<_> = ids
            .iter()
            .zip(&outcomes)
            .map(|(id, o)| {
                let mut v = o.to_verification(now);
                v.reason = "Changed, for the benchmark.".into();
                checked(id, v)
            })
            .collect();
        settle();
        let t = Timer::start();
        store
            .record_verifications(changed.clone(), now)
            .expect("record");
        record_changed.push(t.stop());
        // Once more, untimed, so the changed result heads a run of its own.
        store.record_verifications(changed, now).expect("record");

        // An audit that finds every result changed back, each ending a run: the worst case, as
        // above. It leaves the results as the next round's steady audit finds them.
        audits_changed.push(audit(&rt, &mut store, &component, &v));
    }
    let ratios = |audits: &[(Duration, Duration)]| -> Vec<f64> {
        audits
            .iter()
            .zip(&bares)
            .map(|((audit, _), (bare, _))| audit.as_secs_f64() / bare.as_secs_f64())
            .collect()
    };
    let (steady_ratios, changed_ratios) = (ratios(&audits), ratios(&audits_changed));
    let batched_ratios = ratios(&audits_batched);
    let (batched_ms, batched_cpu) = medians(audits_batched);
    let (audit_ms, audit_cpu) = medians(audits);
    let (audit_changed_ms, audit_changed_cpu) = medians(audits_changed);
    let (bare_ms, bare_cpu) = medians(bares);
    let (reading_ms, reading_cpu) = medians(bares_reading);
    let (verify_ms, verify_cpu) = medians(verify_only);
    let (record_ms, record_cpu) = medians(record_only);
    let (changed_ms, changed_cpu) = medians(record_changed);
    println!("audit of {n} API-key credentials at concurrency {CONCURRENCY} ({runs} rounds)");
    println!("medians                           wall      ratio   process CPU   ratio");
    let line = |what: &str, ms: f64, cpu: f64| {
        println!(
            "{what:<30} {ms:7.1} ms  {:5.2}   {cpu:7.1} ms   {:5.2}",
            ms / bare_ms,
            cpu / bare_cpu
        )
    };
    line("keyway audit, steady", audit_ms, audit_cpu);
    line(
        "  each result ending a run",
        audit_changed_ms,
        audit_changed_cpu,
    );
    line("  recorded in batches of 25", batched_ms, batched_cpu);
    line("  verification phase alone", verify_ms, verify_cpu);
    line("bare reqwest loop", bare_ms, bare_cpu);
    line("  the same, reading each body", reading_ms, reading_cpu);
    line("recording alone (no network)", record_ms, record_cpu);
    line("  each result ending a run", changed_ms, changed_cpu);
    let (low, mid, high) = quartiles(steady_ratios);
    println!(
        "steady audit / bare, by round: median {mid:.2} (quartiles {low:.2} .. {high:.2}); goal <= 1.2"
    );
    let (low, mid, high) = quartiles(changed_ratios);
    println!("  each result ending a run:    median {mid:.2} (quartiles {low:.2} .. {high:.2})");
    let (low, mid, high) = quartiles(batched_ratios);
    println!("  recorded in batches of 25:   median {mid:.2} (quartiles {low:.2} .. {high:.2})");
    println!(
        "peak heap during the audit:    {:7.1} MB",
        peak as f64 / 1e6
    );
}

/// One audit of every stored credential, timed: what `keyway audit` does after opening the
/// vault.
fn audit(
    rt: &tokio::runtime::Runtime,
    store: &mut Store,
    component: &keyway::core::schema::Component,
    v: &keyway::verify::Verifier,
) -> (Duration, Duration) {
    settle();
    let t = Timer::start();
    let now = keyway::clock::now();
    let items: Vec<_> = store
        .snapshot()
        .credentials
        .iter()
        .map(|c| (component, c.id.clone()))
        .collect();
    let (outcomes, _) =
        verify_and_record(rt, store, v, CONCURRENCY, &items, now, |_| {}).expect("audit");
    assert!(outcomes.iter().all(|o| o.status == Status::Verified));
    t.stop()
}

/// One steady audit whose results are recorded as they arrive, in batches of 25, each committed
/// by a writer thread while the checks go on (the TUI's policy before both faces recorded after
/// the last answer), timed. The credentials are copied out first, untimed, as the TUI's jobs
/// hold copies.
fn audit_in_batches(
    rt: &tokio::runtime::Runtime,
    store: &mut Store,
    component: &keyway::core::schema::Component,
    v: &keyway::verify::Verifier,
) -> (Duration, Duration) {
    const BATCH: usize = 25;
    let credentials = store.snapshot().credentials.clone();
    let items: Vec<_> = credentials.iter().map(|c| (component, c)).collect();
    settle();
    let t = Timer::start();
    let now = keyway::clock::now();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<_>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            for batch in rx {
                store.record_verifications(batch, now).expect("record");
            }
        });
        let mut batch = Vec::with_capacity(BATCH);
        let outcomes = rt.block_on(keyway::verify::verify_all(
            v,
            CONCURRENCY,
            &items,
            now,
            |p| {
                let c = items[p.index].1;
                batch.push(Checked {
                    id: c.id.clone(),
                    revision: c.revision.number,
                    result: p.outcome.to_verification(now),
                    tokens: p.outcome.tokens.clone(),
                });
                if batch.len() == BATCH {
                    tx.send(std::mem::take(&mut batch)).expect("writer");
                }
            },
        ));
        assert!(outcomes.iter().all(|o| o.status == Status::Verified));
        if !batch.is_empty() {
            tx.send(batch).expect("writer");
        }
        drop(tx);
        writer.join().expect("writer");
    });
    t.stop()
}

/// The lower quartile, median and upper quartile.
fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

/// The bare-client limit: `n` GETs with the key at CONCURRENCY, by a plain reqwest client;
/// how many succeeded. With `read_body`, each answer's body is read too.
async fn bare_loop(client: &reqwest::Client, url: &str, n: usize, read_body: bool) -> usize {
    futures::stream::iter(0..n)
        .map(|_| {
            let req = client.get(url).bearer_auth(SENTINEL);
            async move {
                let Ok(r) = req.send().await else {
                    return false;
                };
                let success = r.status().is_success();
                success && (!read_body || r.bytes().await.is_ok())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await
}

/// A pause before each measurement, so every phase starts from a quiet machine, as a real audit
/// does, and background work one phase leaves behind (the kernel writing out and journalling
/// the vault after a durable commit, on a 2-core machine) lands in the pause, not in the next
/// phase's time. `KEYWAY_BENCH_BACK_TO_BACK=1` leaves the pauses out, for comparison.
fn settle() {
    if std::env::var_os("KEYWAY_BENCH_BACK_TO_BACK").is_none() {
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Wall and process CPU time (user + system) of one run.
struct Timer {
    wall: Instant,
    cpu: Duration,
}

impl Timer {
    fn start() -> Timer {
        Timer {
            wall: Instant::now(),
            cpu: process_cpu(),
        }
    }
    fn stop(self) -> (Duration, Duration) {
        (self.wall.elapsed(), process_cpu() - self.cpu)
    }
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Median wall and median CPU, in milliseconds.
fn medians(runs: Vec<(Duration, Duration)>) -> (f64, f64) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (wall, cpu): (Vec<Duration>, Vec<Duration>) = runs.into_iter().unzip();
    (ms(median(wall)), ms(median(cpu)))
}
