//! Verification overhead against bare clients, on loopback servers from tests/support:
//! - 1,000 API-key verifications at concurrency 64 (`verify_all`) vs 1,000 bare reqwest GETs at
//!   concurrency 64;
//! - 200 PostgreSQL verifications at concurrency 16 vs 200 bare tokio-postgres connects (each
//!   with the same `SELECT version()`) at concurrency 16.
//!
//! Run: `cargo bench --bench verify -- --sample-size 10`. After criterion's report the bench
//! prints keyway/bare ratios of the median iteration times (goal: at most 1.2).

// The tests' loopback servers and helpers; attached by path (see benches/common/mod.rs for why).
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures::StreamExt;
use keyway::verify::verify_all;
use support::http::api_server;
use support::pg::{PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use support::{api_component, builtin, credential, verifier, NOW, SENTINEL};

const API_REQUESTS: usize = 1_000;
const API_CONCURRENCY: usize = 64;
const PG_CONNECTS: usize = 200;
const PG_CONCURRENCY: usize = 16;

/// Per-iteration times by benchmark name, for the ratio summary.
static TIMES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

fn timed(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &'static str,
    mut run: impl FnMut(),
) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let one = Instant::now();
                run();
                TIMES.lock().unwrap().push((name, one.elapsed()));
            }
            start.elapsed()
        })
    });
}

fn median(name: &str) -> Duration {
    let mut v: Vec<Duration> = TIMES
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .collect();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn api_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let api = rt.block_on(api_server(SENTINEL, None));
    let component = api_component("/v1/me", r#"{ type = "bearer" }"#, None);
    let cred = credential(
        "loopback_api",
        &[("base_url", &api.base_url())],
        &[("api_key", SENTINEL)],
    );
    let items: Vec<_> = (0..API_REQUESTS).map(|_| (&component, &cred)).collect();
    let v = verifier(5, 15);
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/v1/me", api.base_url());

    let mut group = c.benchmark_group("api_key_1000_at_64");
    timed(&mut group, "keyway_verify_all", || {
        let outcomes = rt.block_on(verify_all(&v, API_CONCURRENCY, &items, NOW, |_| {}));
        assert!(outcomes
            .iter()
            .all(|o| o.status == keyway::core::Status::Verified));
    });
    timed(&mut group, "bare_reqwest", || {
        rt.block_on(async {
            let ok = futures::stream::iter(0..API_REQUESTS)
                .map(|_| {
                    let req = bare.get(&url).bearer_auth(SENTINEL).send();
                    async move {
                        let r = req.await.unwrap();
                        let status = r.status();
                        let _ = r.bytes().await;
                        status.is_success()
                    }
                })
                .buffer_unordered(API_CONCURRENCY)
                .filter(|ok| futures::future::ready(*ok))
                .count()
                .await;
            assert_eq!(ok, API_REQUESTS);
        })
    });
    group.finish();
}

fn pg_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let pg = PgCluster::start();
    let port = pg.port.to_string();
    let component = builtin("postgresql");
    let cred = credential(
        "postgresql",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("database", ETL_DATABASE),
            ("user", ETL_USER),
            ("sslmode", "disable"),
        ],
        &[("password", ETL_PASSWORD)],
    );
    let items: Vec<_> = (0..PG_CONNECTS).map(|_| (&component, &cred)).collect();
    let v = verifier(5, 15);
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(pg.port)
        .dbname(ETL_DATABASE)
        .user(ETL_USER)
        .password(ETL_PASSWORD);

    let mut group = c.benchmark_group("postgres_200_at_16");
    timed(&mut group, "keyway_verify_all_pg", || {
        let outcomes = rt.block_on(verify_all(&v, PG_CONCURRENCY, &items, NOW, |_| {}));
        assert!(outcomes
            .iter()
            .all(|o| o.status == keyway::core::Status::Verified));
    });
    timed(&mut group, "bare_tokio_postgres", || {
        rt.block_on(async {
            let ok = futures::stream::iter(0..PG_CONNECTS)
                .map(|_| async {
                    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
                    let conn = tokio::spawn(connection);
                    let row = client.query_one("SELECT version()", &[]).await.unwrap();
                    let version: String = row.get(0);
                    drop(client);
                    let _ = conn.await;
                    version.starts_with("PostgreSQL")
                })
                .buffer_unordered(PG_CONCURRENCY)
                .filter(|ok| futures::future::ready(*ok))
                .count()
                .await;
            assert_eq!(ok, PG_CONNECTS);
        })
    });
    group.finish();
    drop(pg);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    api_benches(&mut c, &rt);
    pg_benches(&mut c, &rt);
    c.final_summary();
    for (ours, bare) in [
        ("keyway_verify_all", "bare_reqwest"),
        ("keyway_verify_all_pg", "bare_tokio_postgres"),
    ] {
        let (a, b) = (median(ours), median(bare));
        if b > Duration::ZERO {
            println!(
                "ratio {ours}/{bare}: {:.3} (median {:?} vs {:?})",
                a.as_secs_f64() / b.as_secs_f64(),
                a,
                b
            );
        }
    }
}
