//! How soon a teammate's change reaches an open TUI on a team vault (issue 15: "within 1
//! second"), on a PostgreSQL 15 cluster on loopback started here: for each of 200 writes by one
//! process (a workspace added through the store, as the CLI does), the time from the commit
//! returning to the NOTIFY arriving on another connection's LISTEN (the TUI's change feed), and
//! from the write's start to a second store's refresh having read the change (what the TUI does
//! on a notification). Prints the median and p99 of each.
//!
//! Run: `cargo bench --bench team_live` (release), or `cargo bench --profile dev --bench
//! team_live` for a quick look (the time is the server's and the network's, not keyway's code).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keyway::store::Store;
use keyway::vault::keyslot::MemberInfo;
use keyway::vault::postgres::{ChangeFeed, FeedEvent};
use keyway::vault::{Options, Unlock};
use support::pg::{PgCluster, ETL_PASSWORD};

const WRITES: usize = 200;

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn main() {
    let pg = PgCluster::start();
    let database = pg.new_database("bench_live");
    let url = PathBuf::from(pg.vault_url(&database));
    let identity = age::x25519::Identity::generate();
    let options = Options {
        db_password: Some(ETL_PASSWORD.to_string().into()),
        ..Default::default()
    };
    let first = MemberInfo {
        name: "bench".into(),
        kind: "person".into(),
        added_at: 0,
    };
    let mut writer = Store::create_team(&url, &identity, first, &options).expect("create");
    let mut reader = Store::open_with(&url, Unlock::Identity(Box::new(identity)), &options)
        .expect("open the reader");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let link = keyway::vault::change_link(&url, &options).expect("a team vault's link");
    let mut feed = runtime.block_on(ChangeFeed::listen(&link)).expect("listen");

    let (mut notify, mut seen) = (Vec::new(), Vec::new());
    for i in 0..WRITES {
        let start = Instant::now();
        writer
            .add_workspace(&format!("ws-{i}"), keyway::core::time::Timestamp(0))
            .expect("write");
        let committed = Instant::now();
        let event = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), feed.next()).await });
        assert!(
            matches!(event, Ok(Some(FeedEvent::Changed(Some(_))))),
            "{event:?}"
        );
        notify.push(committed.elapsed());
        let changes = reader.refresh().expect("refresh");
        assert!(changes.is_some(), "the reader saw no change");
        seen.push(start.elapsed());
    }
    println!(
        "team_live: {WRITES} writes; commit -> NOTIFY heard: median {:?}, p99 {:?}; write start -> change read by another store: median {:?}, p99 {:?} (goal: under 1 s)",
        percentile(notify.clone(), 0.5),
        percentile(notify, 0.99),
        percentile(seen.clone(), 0.5),
        percentile(seen, 0.99),
    );
}
