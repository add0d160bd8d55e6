//! Team vault benchmarks (issue 15), run with `cargo bench --bench team_vault`, against a
//! PostgreSQL 15 cluster on 127.0.0.1 that the bench starts (tests/support/pg.rs) with durable
//! commits (`fsync`, `synchronous_commit` and `full_page_writes` on, unlike the tests' cluster):
//! - open a team vault of 10,000 credentials and list them, KDF excluded (goal < 150 ms): the
//!   member's identity is already unsealed, so the time is the connection, the reads and the
//!   decryption of every record;
//! - save one credential (median goal < 5 ms), and 8 concurrent writers, each a store with its
//!   own connection on its own thread: throughput and p99;
//! - re-key of the vault of 10,000 credentials by `member rm` (goal < 5 s).
//!
//! Seeding is the store's bulk path (1,000 credentials per transaction, each with a full
//! 20-entry verification history, as the file vault's bench has them), not 10,000 commands.
//! A plain timing harness, like benches/vault.rs: medians over repeated runs.

// The tests' PostgreSQL cluster; attached by path (see benches/common/mod.rs for why).
#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use keyway::catalog::Catalog;
use keyway::core::time::Timestamp;
use keyway::core::RecordId;
use keyway::store::Store;
use keyway::vault::keyslot::MemberInfo;
use keyway::vault::{Options, Unlock};
use secrecy::SecretString;

use common::measure::{median, percentile};
use common::seed::{credential, fill, list};
use support::pg::{PgCluster, ETL_PASSWORD};

const N: usize = 10_000;
const WRITERS: usize = 8;

fn options() -> Options {
    Options {
        changed_by: "bench@loopback (team_vault bench)".into(),
        db_password: Some(SecretString::from(ETL_PASSWORD.to_string())),
        ..Options::default()
    }
}

fn member(name: &str) -> MemberInfo {
    MemberInfo {
        name: name.into(),
        kind: "person".into(),
        added_at: 0,
    }
}

fn open(url: &Path, identity: &age::x25519::Identity) -> Store {
    Store::open_with(
        url,
        Unlock::Identity(Box::new(identity.clone())),
        &options(),
    )
    .expect("open the team vault")
}

/// Saves `count` new credentials (numbered from `first`) one by one: each save's latency.
fn saves(
    store: &mut Store,
    catalog: &Catalog,
    ws: &RecordId,
    first: usize,
    count: usize,
) -> Vec<Duration> {
    (first..first + count)
        .map(|i| {
            let c = credential(store, catalog, ws, i);
            let t = Instant::now();
            store.save_credential(c).expect("save");
            t.elapsed()
        })
        .collect()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run a tiny smoke.
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { N } else { 200 };
    let runs = if full { 15 } else { 2 };
    let save_runs = if full { 200 } else { 5 };
    let per_writer = if full { 50 } else { 3 };

    let cluster = PgCluster::start();
    // Durable commits, as a team's production server has them; KEYWAY_BENCH_DURABLE=off keeps
    // the tests' settings (no fsync), to tell the server's flush from keyway's own work.
    let durable = std::env::var("KEYWAY_BENCH_DURABLE").map_or(true, |v| v != "off");
    if durable {
        for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
            cluster.superuser_sql(&format!("ALTER SYSTEM SET {setting} = on"));
        }
        cluster.superuser_sql("SELECT pg_reload_conf()");
    }
    let database = cluster.new_database("bench");
    let url = PathBuf::from(cluster.vault_url(&database));
    let catalog = Catalog::builtin().expect("catalog");
    let alice = age::x25519::Identity::generate();
    let bob = age::x25519::Identity::generate();

    let mut store =
        Store::create_team(&url, &alice, member("alice"), &options()).expect("create team vault");
    store
        .add_member(&bob.to_public(), member("bob"))
        .expect("add bob");
    let ws = store
        .add_workspace("bench", Timestamp(0))
        .expect("workspace")
        .id;
    let seeding = Instant::now();
    fill(&mut store, &catalog, &ws, n);
    let seed_s = seeding.elapsed().as_secs_f64();
    drop(store);

    // KEYWAY_BENCH_REPEAT=open|save: repeat one phase many times and stop, for a profiler
    // (`perf record -g`) to see that phase alone rather than the seeding.
    match std::env::var("KEYWAY_BENCH_REPEAT").as_deref() {
        Ok("open") => {
            eprintln!("seeded; repeating open + list");
            let mut opens = Vec::new();
            for _ in 0..100 {
                let t = Instant::now();
                let store = open(&url, &alice);
                assert_eq!(list(store.snapshot()).len(), n);
                opens.push(t.elapsed());
            }
            eprintln!("open median {:.1} ms", median(opens).as_secs_f64() * 1e3);
            return;
        }
        Ok("save") => {
            eprintln!("seeded; repeating save");
            let mut store = open(&url, &alice);
            let mut one = saves(&mut store, &catalog, &ws, n, 3000);
            one.sort();
            eprintln!("save median {:.2} ms", percentile(&one, 50));
            return;
        }
        _ => {}
    }

    // 1. Open + list: connect, read and decrypt everything, list it.
    let mut opens = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let store = open(&url, &alice);
        let lines = list(store.snapshot());
        assert_eq!(lines.len(), n);
        opens.push(t.elapsed());
    }
    let open_ms = median(opens).as_secs_f64() * 1e3;

    // 2. Save one credential (a new, verified one: record, result, sequence record, digest and
    //    change-log entry, in one transaction).
    let mut store = open(&url, &alice);
    let mut one = saves(&mut store, &catalog, &ws, n, save_runs);
    one.sort();
    let save_p50 = percentile(&one, 50);
    let save_p95 = percentile(&one, 95);

    // 3. 8 writers at once, each with its own store (its own connection), all opened before
    //    the clock starts.
    let barrier = Barrier::new(WRITERS);
    let (mut latencies, walls): (Vec<Vec<Duration>>, Vec<Duration>) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (url, alice, catalog, ws, barrier) = (&url, &alice, &catalog, &ws, &barrier);
                s.spawn(move || {
                    let mut store = open(url, alice);
                    barrier.wait();
                    let t = Instant::now();
                    let first = n + save_runs + w * per_writer;
                    let l = saves(&mut store, catalog, ws, first, per_writer);
                    (l, t.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a writer failed"))
            .unzip()
    });
    let wall = walls.into_iter().max().expect("writers");
    let mut all: Vec<Duration> = latencies.drain(..).flatten().collect();
    all.sort();
    let writes = all.len();
    let throughput = writes as f64 / wall.as_secs_f64();
    let (w_p50, w_p99) = (percentile(&all, 50), percentile(&all, 99));

    // 4. Re-key: bob leaves; every record, history entry and log entry under a new key.
    store.refresh().expect("refresh");
    let total = store.snapshot().credentials.len();
    let t = Instant::now();
    store.remove_member("bob").expect("member rm");
    let rekey_s = t.elapsed().as_secs_f64();
    drop(store);
    let after = open(&url, &alice);
    assert_eq!(after.snapshot().credentials.len(), total);
    drop(after);
    assert!(
        Store::open_with(&url, Unlock::Identity(Box::new(bob)), &options()).is_err(),
        "the removed member still opens the vault"
    );

    println!(
        "team vault of {n} credentials, 20 history entries each (seeded in {seed_s:.1} s), {} commits",
        if durable { "durable (fsync on)" } else { "non-durable (fsync off)" }
    );
    println!("open + list, KDF excluded:     {open_ms:8.1} ms (median of {runs})   goal < 150 ms");
    println!(
        "save one credential, median:   {save_p50:8.2} ms (p95 {save_p95:.2} ms, {save_runs} saves)   goal < 5 ms"
    );
    println!(
        "{WRITERS} writers at once, {writes} saves: {throughput:.0} saves/s, p50 {w_p50:.2} ms, p99 {w_p99:.2} ms"
    );
    println!("re-key (member rm) of {total} credentials: {rekey_s:8.2} s   goal < 5 s");
}
