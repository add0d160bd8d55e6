//! Verification overhead against bare clients, on loopback servers from tests/support:
//! - 1,000 API-key verifications at concurrency 64 (`verify_all`) vs 1,000 bare reqwest GETs at
//!   concurrency 64;
//! - 200 verifications at concurrency 16 of each database engine (issue 17) vs its bare crate
//!   client doing the same handshake and query, 200 at concurrency 16: PostgreSQL
//!   (tokio-postgres, `SELECT version()`), MySQL / MariaDB (mysql_async, `SELECT VERSION()`
//!   then COM_QUIT), Redis (the redis crate: AUTH as an ACL user, PING) and SFTP (russh:
//!   host key pinned, password login, the "sftp" subsystem opened, closed).
//!
//! Run: `cargo bench --bench verify -- --sample-size 10` (a filter such as `mysql` runs one
//! group). After criterion's report the bench prints keyway/bare ratios of the median
//! iteration times (goals: 1.2 for API keys, 1.1 for the database engines).

// The tests' loopback servers and helpers; attached by path (see benches/common/mod.rs for why).
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use futures::StreamExt;
use keyway::core::schema::Component;
use keyway::core::Credential;
use keyway::verify::verify_all;
use support::http::api_server;
use support::mariadb::{self, MariaDb};
use support::pg::{PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use support::redis::{RedisServer, ACL_PASSWORD, ACL_USER};
use support::sshd::{Sshd, SSH_PASSWORD, SSH_USER};
use support::{api_component, builtin, credential, verifier, NOW, SENTINEL};

const API_REQUESTS: usize = 1_000;
const API_CONCURRENCY: usize = 64;
/// Each database engine's run: this many verifications, this many at once (issue 17).
const DB_CONNECTS: usize = 200;
const DB_CONCURRENCY: usize = 16;

/// The (keyway, bare) pairs whose ratio is printed at the end.
const PAIRS: &[(&str, &str)] = &[
    ("keyway_verify_all", "bare_reqwest"),
    ("keyway_verify_all_pg", "bare_tokio_postgres"),
    ("keyway_verify_all_mysql", "bare_mysql_async"),
    ("keyway_verify_all_redis", "bare_redis"),
    ("keyway_verify_all_sftp", "bare_russh"),
];

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

/// `DB_CONNECTS` verifications of `cred` through keyway's pipeline (`verify_all`, as `keyway
/// audit` runs them), and as many runs of `bare_one` (true: it logged in), each
/// `DB_CONCURRENCY` at a time.
#[allow(clippy::too_many_arguments)]
fn keyway_vs_bare<F, Fut>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    ours: &'static str,
    bare: &'static str,
    component: &Component,
    cred: &Credential,
    bare_one: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let items: Vec<_> = (0..DB_CONNECTS).map(|_| (component, cred)).collect();
    let v = verifier(5, 15);
    // Once before measuring: a failure is a broken set-up, not a slow one.
    let first = rt.block_on(verify_all(&v, 1, &items[..1], NOW, |_| {}));
    assert_eq!(
        first[0].status,
        keyway::core::Status::Verified,
        "{}",
        first[0].reason
    );
    let mut group = c.benchmark_group(group);
    timed(&mut group, ours, || {
        let outcomes = rt.block_on(verify_all(&v, DB_CONCURRENCY, &items, NOW, |_| {}));
        assert!(outcomes
            .iter()
            .all(|o| o.status == keyway::core::Status::Verified));
    });
    timed(&mut group, bare, || {
        rt.block_on(async {
            let ok = futures::stream::iter(0..DB_CONNECTS)
                .map(|_| bare_one())
                .buffer_unordered(DB_CONCURRENCY)
                .filter(|ok| futures::future::ready(*ok))
                .count()
                .await;
            assert_eq!(ok, DB_CONNECTS);
        })
    });
    group.finish();
}

fn mysql_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let server = MariaDb::shared();
    let port = server.port.to_string();
    let cred = credential(
        "mysql",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("database", mariadb::ETL_DATABASE),
            ("user", mariadb::ETL_USER),
            ("sslmode", "disable"),
        ],
        &[("password", mariadb::ETL_PASSWORD)],
    );
    // What keyway's verifier asks for: TCP (not the socket), the version, a goodbye.
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(server.port)
        .user(Some(mariadb::ETL_USER))
        .pass(Some(mariadb::ETL_PASSWORD))
        .db_name(Some(mariadb::ETL_DATABASE))
        .prefer_socket(false);
    keyway_vs_bare(
        c,
        rt,
        "mysql_200_at_16",
        "keyway_verify_all_mysql",
        "bare_mysql_async",
        &builtin("mysql"),
        &cred,
        || {
            let opts = opts.clone();
            async move {
                use mysql_async::prelude::Queryable;
                let mut conn = mysql_async::Conn::new(opts).await.unwrap();
                let version: Option<String> = conn.query_first("SELECT VERSION()").await.unwrap();
                conn.disconnect().await.unwrap();
                version.is_some_and(|v| v.contains("MariaDB"))
            }
        },
    );
}

fn redis_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    use redis::IntoConnectionInfo;
    let server = RedisServer::with_acl();
    let port = server.port.to_string();
    let cred = credential(
        "redis",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("user", ACL_USER),
            ("tls", "off"),
        ],
        &[("password", ACL_PASSWORD)],
    );
    // The crate's own connection: it sends AUTH user password itself (and, as keyway, no
    // CLIENT SETINFO), then PING.
    let info = redis::ConnectionAddr::Tcp("127.0.0.1".into(), server.port)
        .into_connection_info()
        .unwrap()
        .set_redis_settings(
            redis::RedisConnectionInfo::default()
                .set_username(ACL_USER)
                .set_password(ACL_PASSWORD)
                .set_skip_set_lib_name(),
        );
    let client = redis::Client::open(info).unwrap();
    keyway_vs_bare(
        c,
        rt,
        "redis_200_at_16",
        "keyway_verify_all_redis",
        "bare_redis",
        &builtin("redis"),
        &cred,
        || async {
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
            pong == "PONG"
        },
    );
}

/// A bare russh client's host key check: the key's SHA256 fingerprint is the pinned one.
struct Pinned(String);

impl russh::client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(match server_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.fingerprint(russh::keys::HashAlg::Sha256).to_string() == self.0
            }
            russh::keys::PublicKeyOrCertificate::Certificate(_) => false,
        })
    }
}

fn sftp_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let server = Sshd::shared();
    let port = server.port.to_string();
    let cred = credential(
        "sftp",
        &[
            ("host", "127.0.0.1"),
            ("port", &port),
            ("user", SSH_USER),
            ("host_key", &server.host_key),
        ],
        &[("password", SSH_PASSWORD)],
    );
    let config = std::sync::Arc::new(russh::client::Config::default());
    keyway_vs_bare(
        c,
        rt,
        "sftp_200_at_16",
        "keyway_verify_all_sftp",
        "bare_russh",
        &builtin("sftp"),
        &cred,
        || {
            let config = config.clone();
            let pin = Pinned(server.host_key.clone());
            async move {
                let mut session = russh::client::connect(config, ("127.0.0.1", server.port), pin)
                    .await
                    .unwrap();
                let auth = session
                    .authenticate_password(SSH_USER, SSH_PASSWORD)
                    .await
                    .unwrap();
                assert!(auth.success());
                let mut channel = session.channel_open_session().await.unwrap();
                channel.request_subsystem(true, "sftp").await.unwrap();
                let opened = loop {
                    match channel.wait().await {
                        Some(russh::ChannelMsg::Success) => break true,
                        Some(russh::ChannelMsg::Failure) | None => break false,
                        Some(_) => continue,
                    }
                };
                let _ = channel.close().await;
                let _ = session
                    .disconnect(russh::Disconnect::ByApplication, "done", "en")
                    .await;
                opened
            }
        },
    );
}

fn pg_benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let pg = PgCluster::start();
    let port = pg.port.to_string();
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
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(pg.port)
        .dbname(ETL_DATABASE)
        .user(ETL_USER)
        .password(ETL_PASSWORD);
    keyway_vs_bare(
        c,
        rt,
        "postgres_200_at_16",
        "keyway_verify_all_pg",
        "bare_tokio_postgres",
        &builtin("postgresql"),
        &cred,
        || async {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            let conn = tokio::spawn(connection);
            let row = client.query_one("SELECT version()", &[]).await.unwrap();
            let version: String = row.get(0);
            drop(client);
            let _ = conn.await;
            version.starts_with("PostgreSQL")
        },
    );
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
    mysql_benches(&mut c, &rt);
    redis_benches(&mut c, &rt);
    sftp_benches(&mut c, &rt);
    c.final_summary();
    for &(ours, bare) in PAIRS {
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
