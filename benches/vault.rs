//! Vault benchmarks (issues 2 and 11), run with `cargo bench --bench vault`:
//! - open a vault of 10,000 credentials and list them, KDF excluded (goal < 100 ms);
//! - save one credential: encrypt + durable commit (median goal < 10 ms);
//! - peak heap while listing 10,000 credentials, KDF excluded (goal < 50 MB);
//! - commit latency (p50, p99) and throughput with 1 and with 4 writer processes at once (this
//!   bench binary, run again as a writer child);
//! - whole-process time of `keyway workspace list` on that vault at the floor KDF, and on an
//!   empty one (goal < 100 ms).
//!
//! A plain timing harness rather than criterion: the durable commit is dominated by fsync and
//! the open by one-off work, so medians over repeated runs are the honest figures.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use keyway::catalog::Catalog;
use keyway::core::time::Timestamp;
use keyway::store::Store;
use keyway::vault::kdf;
use keyway::vault::Vault;

mod common;
use common::alloc::{LIVE, PEAK};
use common::measure::{median, percentile};
use common::seed::{credential, fill, list};

const N: usize = 10_000;
const PASS: &[u8] = b"bench passphrase";

/// The writer child: opens the vault, commits `count` workspaces one by one and prints each
/// commit's latency in microseconds (the wait for the write lock included).
fn writer(spec: &str) {
    let (path, rest) = spec.split_once('|').expect("path|prefix|count");
    let (prefix, count) = rest.split_once('|').expect("prefix|count");
    let count: usize = count.parse().expect("count");
    let mut store = Store::open(std::path::Path::new(path), PASS).expect("writer opens");
    println!("open");
    for i in 0..count {
        let t = Instant::now();
        store
            .add_workspace(&format!("{prefix}-{i}"), Timestamp(i as i64))
            .expect("commit");
        println!("{}", t.elapsed().as_micros());
    }
}

/// Runs `processes` writer children at once, `count` commits each, once all have opened the
/// vault: (every commit's latency, wall time from the first commit to the last).
fn writers(path: &std::path::Path, processes: usize, count: usize) -> (Vec<Duration>, Duration) {
    let exe = std::env::current_exe().expect("bench exe");
    let mut children: Vec<_> = (0..processes)
        .map(|p| {
            Command::new(&exe)
                .env(
                    "KEYWAY_BENCH_WRITER",
                    format!("{}|w{processes}-{p}|{count}", path.display()),
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a writer")
        })
        .collect();
    let mut outputs: Vec<_> = children
        .iter_mut()
        .map(|c| BufReader::new(c.stdout.take().expect("stdout")).lines())
        .collect();
    // The clock starts once every writer has its vault open (the KDF is not a commit).
    for out in &mut outputs {
        assert_eq!(out.next().expect("open").expect("line"), "open");
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    for out in outputs {
        for line in out.map_while(Result::ok) {
            latencies.push(Duration::from_micros(line.parse().expect("micros")));
        }
    }
    let wall = started.elapsed();
    for mut c in children {
        assert!(c.wait().expect("wait").success(), "a writer failed");
    }
    (latencies, wall)
}

/// Median whole-process time of `keyway workspace list` on `path`, over `runs` runs.
fn list_process(path: &std::path::Path, runs: usize) -> Duration {
    let exe = env!("CARGO_BIN_EXE_keyway");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("none.toml"), "").expect("an empty config");
    let times = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let o = Command::new(exe)
                .args(["--vault"])
                .arg(path)
                .args(["--config"])
                .arg(dir.path().join("none.toml"))
                .args(["workspace", "list"])
                .env(
                    "KEYWAY_PASSPHRASE",
                    std::str::from_utf8(PASS).expect("utf-8"),
                )
                .env("HOME", dir.path())
                .env("XDG_CONFIG_HOME", dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .output()
                .expect("run keyway");
            let took = t.elapsed();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            took
        })
        .collect();
    median(times)
}

fn main() {
    if let Ok(spec) = std::env::var("KEYWAY_BENCH_WRITER") {
        return writer(&spec);
    }
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run a tiny smoke.
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { N } else { 200 };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vault.redb");
    let catalog = Catalog::builtin().expect("catalog");
    let mut store =
        Store::create(&path, PASS, keyway::vault::kdf::FLOOR, Timestamp(0)).expect("create");
    let ws = store
        .add_workspace("bench", Timestamp(0))
        .expect("workspace")
        .id;
    fill(&mut store, &catalog, &ws, n);
    drop(store);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    // 1. Open + list, KDF excluded: time the open (which includes one KDF run) and subtract a
    //    separately timed KDF run with the same parameters.
    let mut opens = Vec::new();
    let mut kdfs = Vec::new();
    let runs = if full { 15 } else { 2 };
    for _ in 0..runs {
        let t = Instant::now();
        let (vault, snapshot) = Vault::open_and_load(&path, PASS).expect("open");
        let lines = list(&snapshot);
        assert_eq!(lines.len(), n);
        opens.push(t.elapsed());
        drop(vault);
        let t = Instant::now();
        let _ = kdf::derive(PASS, &[7; 16], &keyway::vault::kdf::FLOOR).expect("kdf");
        kdfs.push(t.elapsed());
    }
    let open_ms = median(opens).as_secs_f64() * 1e3;
    let kdf_ms = median(kdfs).as_secs_f64() * 1e3;

    // 2. Peak heap while listing, KDF excluded: open first, then measure a fresh load + list.
    let vault = Vault::open(&path, PASS).expect("open");
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let snapshot = vault.load().expect("load");
    let listing = list(&snapshot);
    let peak_mb = (PEAK.load(Ordering::Relaxed) - base) as f64 / 1e6;
    drop(listing);
    drop(snapshot);
    drop(vault);

    // 3. Save one credential: encrypt + Immediate-durability commit.
    let mut store = Store::open(&path, PASS).expect("open");
    let mut saves = Vec::new();
    let save_runs = if full { 200 } else { 5 };
    for i in 0..save_runs {
        let c = credential(&store, &catalog, &ws, n + i);
        let t = Instant::now();
        store.save_credential(c).expect("save");
        saves.push(t.elapsed());
    }
    let save_ms = median(saves.clone()).as_secs_f64() * 1e3;
    saves.sort();
    let p95_ms = saves[saves.len() * 95 / 100].as_secs_f64() * 1e3;

    drop(store);
    // KEYWAY_BENCH_KEEP=FILE keeps a copy of the vault, to profile a command on it.
    if let Ok(keep) = std::env::var("KEYWAY_BENCH_KEEP") {
        std::fs::copy(&path, keep).expect("keep a copy of the vault");
    }

    // 4. Whole-process `keyway workspace list`: this vault, and an empty one.
    let list_runs = if full { 15 } else { 2 };
    let list_full = list_process(&path, list_runs).as_secs_f64() * 1e3;
    let empty = dir.path().join("empty.redb");
    drop(Store::create(&empty, PASS, keyway::vault::kdf::FLOOR, Timestamp(0)).expect("create"));
    let list_empty = list_process(&empty, list_runs).as_secs_f64() * 1e3;

    // 5. Commits from 1 and from 4 writer processes at once, on a vault of its own.
    let commits = if full { 250 } else { 10 };
    let shared = dir.path().join("shared.redb");
    drop(Store::create(&shared, PASS, keyway::vault::kdf::FLOOR, Timestamp(0)).expect("create"));
    let mut rows = Vec::new();
    for processes in [1, 4] {
        let (mut latencies, wall) = writers(&shared, processes, commits);
        latencies.sort();
        let total = latencies.len();
        rows.push((
            processes,
            percentile(&latencies, 50),
            percentile(&latencies, 99),
            total as f64 / wall.as_secs_f64(),
            total,
        ));
    }

    println!(
        "vault of {n} credentials ({:.1} MB on disk)",
        size as f64 / 1e6
    );
    println!("open + list, total:           {open_ms:8.1} ms (median of {runs})");
    println!("  of which KDF (m=19 MiB,t=2): {kdf_ms:8.1} ms");
    println!(
        "open + list, KDF excluded:    {:8.1} ms   goal < 100 ms",
        open_ms - kdf_ms
    );
    println!("peak heap listing, no KDF:    {peak_mb:8.1} MB   goal < 50 MB");
    println!("save one credential, median:  {save_ms:8.2} ms   goal < 10 ms (p95 {p95_ms:.2} ms)");
    println!(
        "keyway workspace list, whole process (median of {list_runs}): {list_full:.1} ms on {n} credentials, {list_empty:.1} ms on an empty vault   goal < 100 ms"
    );
    for (processes, p50, p99, throughput, total) in rows {
        println!(
            "{processes} writer process(es), {total} commits: p50 {p50:.2} ms, p99 {p99:.2} ms, {throughput:.0} commits/s"
        );
    }
}
