//! kill -9 at random moments while children commit records: after each round the vault opens,
//! every acknowledged record is there, and the processes that were not killed keep working.
//! The same for passphrase changes: the vault always opens with the old or the new passphrase,
//! and with the new one once its change was acknowledged.
//!
//! Kills are placed by what a child has said, never by the clock alone: after the child
//! printed "open" and acknowledged a random number of commits, plus a random few milliseconds
//! (which land at a random point of the next commit, however long a commit takes on the
//! machine), so a round means the same on a slow machine as on a fast one.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::*;
use keyway::store::Store;
use rand::Rng;

/// Generous: waiting for a child's next line only ever times out if it stopped working.
const DEADLINE: Duration = Duration::from_secs(60);

/// A child whose stdout lines arrive on `lines`.
struct Running {
    child: Child,
    id: usize,
}

fn spawn(args: &[&str], pass: &str, id: usize, lines: &mpsc::Sender<(usize, String)>) -> Running {
    let mut child = child_command(args)
        .env("KEYWAY_PASSPHRASE", pass)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child process");
    let stdout = child.stdout.take().expect("stdout");
    let tx = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send((id, line)).is_err() {
                break;
            }
        }
    });
    Running { child, id }
}

/// Collects lines until `done` says so, or panics after DEADLINE.
fn wait_for(
    rx: &mpsc::Receiver<(usize, String)>,
    acks: &mut HashMap<usize, Vec<String>>,
    opened: &mut HashSet<usize>,
    mut done: impl FnMut(&HashMap<usize, Vec<String>>, &HashSet<usize>) -> bool,
    what: &str,
) {
    let until = Instant::now() + DEADLINE;
    while !done(acks, opened) {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((id, line)) => record(id, &line, acks, opened),
            Err(_) => panic!("no progress within {DEADLINE:?} waiting for {what}"),
        }
    }
}

fn record(
    id: usize,
    line: &str,
    acks: &mut HashMap<usize, Vec<String>>,
    opened: &mut HashSet<usize>,
) {
    if line.ends_with("open") {
        opened.insert(id);
    }
    if let Some(at) = line.find("ack ") {
        acks.entry(id).or_default().push(line[at + 4..].to_string());
    }
}

/// SIGKILL: no destructor, no flush, no clean close.
fn kill(mut r: Running) {
    let _ = r.child.kill();
    let _ = r.child.wait();
}

/// Waits until `child` has opened the vault and acknowledged `want` commits in all, lets it run
/// a random 0 to `max_ms` ms more (which lands at a random point of its next commit, however long
/// one takes), kills it, and collects what it said before it died.
#[allow(clippy::too_many_arguments)]
fn kill_during_commits(
    rx: &mpsc::Receiver<(usize, String)>,
    acks: &mut HashMap<usize, Vec<String>>,
    opened: &mut HashSet<usize>,
    child: Running,
    want: usize,
    max_ms: u64,
    rng: &mut impl Rng,
    what: &str,
) {
    let id = child.id;
    wait_for(
        rx,
        acks,
        opened,
        |acks, opened| opened.contains(&id) && acks.get(&id).map_or(0, Vec::len) >= want,
        what,
    );
    std::thread::sleep(Duration::from_millis(rng.gen_range(0..max_ms)));
    kill(child);
    // Lines already written before the kill still count.
    while let Ok((id, line)) = rx.try_recv() {
        record(id, &line, acks, opened);
    }
}

/// Every name acknowledged so far is a workspace of the vault, which opens.
fn check_all_acknowledged(v: &TestVault, acks: &HashMap<usize, Vec<String>>, round: usize) {
    let store = Store::open(&v.path, PASS.as_bytes())
        .unwrap_or_else(|e| panic!("round {round}: vault does not open after kill -9: {e}"));
    let names: HashSet<&str> = store
        .snapshot()
        .workspaces
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    for name in acks.values().flatten() {
        assert!(
            names.contains(name.as_str()),
            "round {round}: acknowledged '{name}' lost"
        );
    }
}

/// Nothing beside the vault file: no recovered copy outlived the processes that made one.
fn only_the_vault_is_left(v: &TestVault) {
    let dir = v.path.parent().unwrap();
    let entries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries,
        ["vault.redb"],
        "left beside the vault: {entries:?}"
    );
}

/// One writer at a time, killed at a random moment of its commits: every kill leaves a vault
/// that needs crash recovery (no other process has it open), which the next process makes.
#[test]
fn acknowledged_records_survive_kill_9() {
    let v = TestVault::new();
    drop(v.create());
    let mut rng = rand::thread_rng();
    let path = v.path.to_string_lossy().into_owned();
    let (tx, rx) = mpsc::channel();
    let (mut acks, mut opened) = (HashMap::new(), HashSet::new());
    let rounds = 80;
    let mut waited_for = 0;
    for round in 0..rounds {
        let prefix = format!("r{round}");
        let child = spawn(&[&path, "write", &prefix], PASS, round, &tx);
        let want = rng.gen_range(0..4);
        waited_for += want;
        let what = "the writer to open and commit";
        kill_during_commits(&rx, &mut acks, &mut opened, child, want, 8, &mut rng, what);
        check_all_acknowledged(&v, &acks, round);
    }
    let total: usize = acks.values().map(Vec::len).sum();
    assert!(total >= waited_for, "only {total} commits acknowledged");
    only_the_vault_is_left(&v);
}

/// Three processes reading and writing at once; each round one of them is killed at a random
/// moment of its work. The others keep committing, a new one takes the killed one's place, and
/// the vault, opened again and again meanwhile, holds every acknowledged commit.
#[test]
fn several_processes_reading_and_writing_survive_kill_9_rounds() {
    let v = TestVault::new();
    drop(v.create());
    let mut rng = rand::thread_rng();
    let path = v.path.to_string_lossy().into_owned();
    let (tx, rx) = mpsc::channel();
    let (mut acks, mut opened) = (HashMap::new(), HashSet::new());
    let mut next_id = 0;
    let start = |rx_id: &mut usize| {
        let id = *rx_id;
        *rx_id += 1;
        spawn(&[&path, "mixed", &format!("p{id}")], PASS, id, &tx)
    };
    let mut pool: Vec<Running> = (0..3).map(|_| start(&mut next_id)).collect();
    let rounds = 150;
    for round in 0..rounds {
        let victim = rng.gen_range(0..pool.len());
        let id = pool[victim].id;
        let seen = acks.get(&id).map_or(0, Vec::len);
        let want = seen + rng.gen_range(0..3);
        wait_for(
            &rx,
            &mut acks,
            &mut opened,
            |acks, opened| opened.contains(&id) && acks.get(&id).map_or(0, Vec::len) >= want,
            "the victim to commit",
        );
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..5)));
        let replacement = start(&mut next_id);
        kill(std::mem::replace(&mut pool[victim], replacement));
        // The survivors keep working: each commits twice more after the kill.
        let survivors: Vec<(usize, usize)> = pool
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, r)| (r.id, acks.get(&r.id).map_or(0, Vec::len)))
            .collect();
        wait_for(
            &rx,
            &mut acks,
            &mut opened,
            |acks, _| {
                survivors
                    .iter()
                    .all(|(id, had)| acks.get(id).map_or(0, Vec::len) >= had + 2)
            },
            "the survivors to keep committing",
        );
        if round % 15 == 14 {
            check_all_acknowledged(&v, &acks, round);
        }
    }
    for r in pool {
        kill(r);
    }
    while let Ok((id, line)) = rx.try_recv() {
        record(id, &line, &mut acks, &mut opened);
    }
    check_all_acknowledged(&v, &acks, rounds);
    only_the_vault_is_left(&v);
}

#[test]
fn passphrase_changes_survive_kill_9() {
    let v = TestVault::new();
    drop(v.create());
    let (a, b) = (PASS, "the second passphrase");
    let path = v.path.to_string_lossy().into_owned();
    let mut rng = rand::thread_rng();
    let (tx, rx) = mpsc::channel();
    let (mut acks, mut opened) = (HashMap::new(), HashSet::new());
    let mut current = a.to_string();
    let (mut changes, mut waited_for) = (0, 0);
    for round in 0..60 {
        let other = if current == a { b } else { a };
        let child = spawn(&[&path, "passwd", &current, other], &current, round, &tx);
        let want = rng.gen_range(0..3);
        waited_for += want;
        let what = "the passphrase changes";
        kill_during_commits(&rx, &mut acks, &mut opened, child, want, 30, &mut rng, what);
        let round_acks = acks.get(&round).cloned().unwrap_or_default();
        changes += round_acks.len();
        let opens_with = |p: &str| Store::open(&v.path, p.as_bytes()).is_ok();
        match round_acks.last() {
            // The last acknowledged change must hold (a later unacknowledged one may too).
            Some(last) => {
                let next = if last == a { b } else { a };
                assert!(
                    opens_with(last) || opens_with(next),
                    "round {round}: opens with neither passphrase"
                );
                current = if opens_with(last) {
                    last.clone()
                } else {
                    next.to_string()
                };
            }
            None => {
                assert!(
                    opens_with(&current) || opens_with(other),
                    "round {round}: vault lost"
                );
                if !opens_with(&current) {
                    current = other.to_string();
                }
            }
        }
    }
    assert!(
        changes >= waited_for,
        "only {changes} passphrase changes acknowledged"
    );
    only_the_vault_is_left(&v);
}

/// Issue 12, item 2: killing a reader while it recovers a crashed vault left full recovered
/// copies beside it (14 times in 30). The copy now has no name at any moment (in memory, or an
/// unlinked temporary file), so however the reader dies nothing is left; and a reader never recovers
/// the file itself, so its bytes stay as the crash left them until a writer comes.
#[test]
fn readers_killed_while_they_recover_a_crashed_vault_leave_nothing_behind() {
    let v = TestVault::new();
    drop(v.create());
    let path = v.path.to_string_lossy().into_owned();
    let (tx, rx) = mpsc::channel();
    let (mut acks, mut opened) = (HashMap::new(), HashSet::new());
    let writer = spawn(&[&path, "write", "crashed"], PASS, 0, &tx);
    wait_for(
        &rx,
        &mut acks,
        &mut opened,
        |acks, _| acks.get(&0).map_or(0, Vec::len) >= 3,
        "the writer to commit",
    );
    kill(writer);
    let crashed = file_bytes(&v.path);
    let mut rng = rand::thread_rng();
    for round in 0..30 {
        let mut reader = v
            .command(
                &["workspace", "list"],
                &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_LOG", "keyway=debug")],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The kill is timed from the reader's own word that it starts recovering (its debug
        // line), not from its start: on a slow machine a delay from the start could land
        // before it got that far. From there, wherever the kill lands (during or after the
        // copy), nothing may be left.
        let log = BufReader::new(reader.stderr.take().unwrap());
        let (said, heard) = mpsc::channel();
        std::thread::spawn(move || {
            for line in log.lines().map_while(Result::ok) {
                if line.contains("needs crash recovery") {
                    let _ = said.send(());
                }
            }
        });
        heard
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("round {round}: the reader never began its recovery"));
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..100)));
        let _ = reader.kill();
        let _ = reader.wait();
        only_the_vault_is_left(&v);
        assert_eq!(
            file_bytes(&v.path),
            crashed,
            "round {round}: a reader wrote"
        );
    }
    check_all_acknowledged(&v, &acks, 30);
    only_the_vault_is_left(&v);
}

/// A re-key is one transaction: killed at any moment of re-keying, the vault opens with its
/// passphrase and reads exactly as before, wholly under the old data key or wholly under the
/// new one.
#[test]
fn a_rekey_killed_at_any_moment_leaves_the_vault_whole_under_one_key() {
    let v = TestVault::new();
    let before = crate::vault::store::summary(&crate::vault::store::populated(&v));
    let path = v.path.to_string_lossy().into_owned();
    let mut rng = rand::thread_rng();
    let (tx, rx) = mpsc::channel();
    let (mut acks, mut opened) = (HashMap::new(), HashSet::new());
    for round in 0..30 {
        let child = spawn(&[&path, "rekey"], PASS, round, &tx);
        let want = rng.gen_range(0..2);
        let what = "the re-keys";
        kill_during_commits(&rx, &mut acks, &mut opened, child, want, 30, &mut rng, what);
        let store = Store::open(&v.path, PASS.as_bytes())
            .unwrap_or_else(|e| panic!("round {round}: the vault does not open: {e}"));
        assert_eq!(
            crate::vault::store::summary(&store),
            before,
            "round {round}: the vault reads otherwise after a killed re-key"
        );
    }
    only_the_vault_is_left(&v);
}
