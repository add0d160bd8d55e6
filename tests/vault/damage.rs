//! Reading never harms the vault. Damaged copies of a small vault (every truncation point that
//! matters, every zeroed 4 KiB page, the whole header page byte by byte, a seeded sample of
//! 1,500 single-byte changes over the whole file, and each byte of a table's name) are opened
//! twice: each open either reads exactly the stored data or fails as damaged (exit code 4), the
//! second open does the same as the first, and the file's bytes never change. The bulk runs in
//! process through the store (opened with the data key, as an unlock agent would, so no key
//! derivation per open; the passphrase path on every 25th); a sample of 50 runs through the
//! real binary, where a read must exit 0 or 4 and nothing else (no abort).

use std::path::Path;
use std::time::Instant;

use crate::support::*;
use crate::vault::store::{populated, summary};
use keyway::store::Store;
use keyway::vault::crypto::DataKey;
use keyway::vault::{Options, Unlock};
use rand::{Rng, SeedableRng};
use sha2::Digest;

/// A damaged vault read the same as the original, except that a history may have become
/// unreadable (a typed "damaged" error, exit code 4): never different plaintext.
fn same_but_for_unreadable_history(damaged: &str, expected: &str) -> bool {
    let (d, e): (Vec<&str>, Vec<&str>) = (damaged.lines().collect(), expected.lines().collect());
    d.len() == e.len()
        && d.iter().zip(&e).all(|(d, e)| {
            d == e
                || (d.ends_with("|Err(4)")
                    && d.rsplit_once('|').map(|p| p.0) == e.rsplit_once('|').map(|p| p.0))
        })
}

/// One open of a damaged file: what it read, or the exit code its error maps to.
fn open_once(path: &Path, key: &DataKey, passphrase: bool) -> Result<String, i32> {
    let unlock = if passphrase {
        Unlock::Passphrase(PASS.as_bytes())
    } else {
        Unlock::Key(Box::new(key.clone()))
    };
    match Store::open_with(path, unlock, &Options::default()) {
        Ok(store) => Ok(summary(&store)),
        Err(e) => Err(e.exit_code()),
    }
}

/// The damage contract, for one damaged copy (see the module comment).
fn check_damaged(
    v: &TestVault,
    key: &DataKey,
    damaged: &[u8],
    expected: &str,
    what: &str,
    passphrase: bool,
) {
    let path = v.dir.path().join("damaged.redb");
    std::fs::write(&path, damaged).unwrap();
    let first = std::panic::catch_unwind(|| open_once(&path, key, passphrase))
        .unwrap_or_else(|_| panic!("{what}: opening panicked"));
    assert_eq!(
        file_bytes(&path),
        damaged,
        "{what}: the first open modified the file"
    );
    match &first {
        Ok(read) => assert!(
            same_but_for_unreadable_history(read, expected),
            "{what}: wrong plaintext\n{read}\n---\n{expected}"
        ),
        Err(code) => assert_eq!(*code, 4, "{what}: not reported as damage"),
    }
    let second = std::panic::catch_unwind(|| open_once(&path, key, passphrase))
        .unwrap_or_else(|_| panic!("{what}: the second open panicked"));
    assert_eq!(
        second, first,
        "{what}: the second open differs from the first"
    );
    assert_eq!(
        file_bytes(&path),
        damaged,
        "{what}: the second open modified the file"
    );
    let _ = std::fs::remove_file(&path);
}

/// The test vault (a workspace, two credentials with history, a flow), its bytes, what it
/// reads as, and its data key.
fn sample() -> (TestVault, Vec<u8>, String, DataKey) {
    let v = TestVault::new();
    let store = populated(&v);
    let expected = summary(&store);
    let key = store.vault().data_key().clone();
    drop(store);
    let bytes = file_bytes(&v.path);
    (v, bytes, expected, key)
}

#[test]
fn truncated_copies_are_refused_untouched() {
    let (v, bytes, expected, key) = sample();
    for len in [
        0,
        1,
        8,
        9,
        100,
        511,
        512,
        4096,
        bytes.len() / 2,
        bytes.len() - 4096,
        bytes.len() - 1,
    ] {
        let what = format!("truncated to {len}");
        check_damaged(&v, &key, &bytes[..len], &expected, &what, len % 2 == 0);
    }
}

#[test]
fn every_zeroed_page_is_refused_or_harmless_and_never_written() {
    let (v, bytes, expected, key) = sample();
    let started = Instant::now();
    for page in 0..bytes.len().div_ceil(4096) {
        let mut damaged = bytes.clone();
        let end = ((page + 1) * 4096).min(damaged.len());
        damaged[page * 4096..end].fill(0);
        check_damaged(
            &v,
            &key,
            &damaged,
            &expected,
            &format!("page {page} zeroed"),
            page % 4 == 0,
        );
    }
    eprintln!(
        "{} zeroed pages, each opened twice, in {:?}",
        bytes.len().div_ceil(4096),
        started.elapsed()
    );
}

#[test]
fn single_byte_changes_never_yield_wrong_plaintext_or_a_write() {
    let (v, bytes, expected, key) = sample();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6b65_7977_6179);
    // The first page (redb's header and commit slots) byte by byte, then a seeded sample over
    // the whole file.
    let mut offsets: Vec<usize> = (0..4096.min(bytes.len())).step_by(3).collect();
    offsets.extend((0..1500).map(|_| rng.gen_range(0..bytes.len())));
    let started = Instant::now();
    for (i, &at) in offsets.iter().enumerate() {
        let mut damaged = bytes.clone();
        damaged[at] ^= rng.gen_range(1..=255u8);
        let what = format!("byte {at} changed");
        check_damaged(&v, &key, &damaged, &expected, &what, i % 25 == 0);
    }
    eprintln!(
        "{} single-byte changes, each opened twice, in {:?}",
        offsets.len(),
        started.elapsed()
    );
}

/// Issue 11: one flipped byte in `history-v1`'s name made every credential read as never
/// verified, with exit 0 and no warning. Every table of the current format must be there: a
/// name that no longer matches is a missing table, which is damage.
#[test]
fn a_table_whose_name_is_damaged_is_missing_which_is_damage() {
    let (v, bytes, expected, key) = sample();
    for name in [
        "history-v1",
        "sequences-v1",
        "workspaces-v2",
        "credentials-v2",
        "flows-v2",
    ] {
        let found: Vec<usize> = bytes
            .windows(name.len())
            .enumerate()
            .filter(|(_, w)| *w == name.as_bytes())
            .map(|(i, _)| i)
            .collect();
        assert!(!found.is_empty(), "{name} not found in the file");
        for at in found {
            for i in 0..name.len() {
                let mut damaged = bytes.clone();
                damaged[at + i] ^= 0x01;
                let what = format!("byte {i} of {name} (at {}) flipped", at + i);
                // A read that got through is the stored data (check_damaged compares it), so
                // never every credential "never verified".
                check_damaged(&v, &key, &damaged, &expected, &what, false);
            }
        }
    }
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(bytes).to_vec()
}

/// A sample through the real binary: a read exits 0 (showing the stored data) or 4 (damaged),
/// never anything else, twice the same, and leaves the file's bytes as they were.
#[test]
fn damaged_copies_through_the_binary_exit_0_or_4_and_stay_untouched() {
    let (v, bytes, _, _) = sample();
    let list = |args: &[&str]| v.keyway(args);
    let healthy = stdout(&list(&["credential", "list", "--json"]));
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let pages = bytes.len().div_ceil(4096);
    let started = Instant::now();
    for round in 0..50 {
        let mut damaged = bytes.clone();
        if round % 5 == 0 {
            let page = rng.gen_range(0..pages);
            let end = ((page + 1) * 4096).min(damaged.len());
            damaged[page * 4096..end].fill(0);
        } else {
            let at = if round % 2 == 0 {
                rng.gen_range(0..4096)
            } else {
                rng.gen_range(0..bytes.len())
            };
            damaged[at] ^= rng.gen_range(1..=255u8);
        }
        std::fs::write(&v.path, &damaged).unwrap();
        let before = sha256(&damaged);
        let first = list(&["credential", "list", "--json"]);
        let second = list(&["credential", "list", "--json"]);
        let c = code(&first);
        assert!(
            c == 0 || c == 4,
            "round {round}: exit {c}: {}",
            stderr(&first)
        );
        assert_eq!(code(&second), c, "round {round}: the second read differs");
        if c == 0 {
            assert_eq!(stdout(&first), healthy, "round {round}: wrong data shown");
        }
        assert_eq!(
            sha256(&file_bytes(&v.path)),
            before,
            "round {round}: file modified"
        );
    }
    eprintln!(
        "50 damaged copies through the binary in {:?}",
        started.elapsed()
    );
}
