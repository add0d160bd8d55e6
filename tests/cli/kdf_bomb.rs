//! Headers asking for a huge key derivation, in a vault or in an export file, are refused before
//! the KDF runs: a clear message naming what was asked and what is accepted, the file left as it
//! was, and no memory spike. Peaks are measured by an intermediate process of our own (see
//! `support::child_main`, `peak`), so the test process's memory is not counted in.

use std::io::Write;

use crate::support::{child_command, code, stderr, TestVault, PASS};
use keyway::vault::header::Header;
use keyway::vault::tables::{HEADER_KEY, META};
use redb::ReadableTable;
use sha2::Digest;

/// Runs keyway on `v` with `args` through the peak-measuring child: (peak MiB, exit, stderr).
fn measured(v: &TestVault, args: &[&str], env: &[(&str, &str)]) -> (i64, i32, String) {
    let exe = env!("CARGO_BIN_EXE_keyway");
    let vault = v.path.to_string_lossy().into_owned();
    let config = v.config.to_string_lossy().into_owned();
    let mut all = vec!["peak", exe, "--vault", &vault, "--config", &config];
    all.extend_from_slice(args);
    let mut cmd = child_command(&all);
    cmd.env_remove("KEYWAY_PASSPHRASE")
        .env("HOME", v.dir.path())
        .env("XDG_CONFIG_HOME", v.dir.path().join("xdg-config"));
    for (k, val) in env {
        cmd.env(k, val);
    }
    let o = cmd.output().expect("run the measuring child");
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        // libtest may print "test ... " on the same line first.
        .find_map(|l| l.find("peak ").map(|at| &l[at + 5..]))
        .unwrap_or_else(|| panic!("no peak line: {out}"));
    let mut parts = line.split_whitespace();
    let kib: i64 = parts.next().unwrap().parse().unwrap();
    let exit: i32 = parts.next().unwrap().parse().unwrap();
    (
        kib / 1024,
        exit,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_huge_kdf_header_is_refused_without_a_memory_spike() {
    let v = TestVault::new();
    drop(v.create());
    {
        let db = redb::Database::open(&v.path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(META).unwrap();
            let bytes = t.get(HEADER_KEY).unwrap().unwrap().value().to_vec();
            let mut h = Header::decode(&bytes).unwrap();
            h.kdf.params.memory_kib = 3 * 1024 * 1024; // 3 GiB, above the 1 GiB ceiling
            h.kdf.params.iterations = 1000;
            // A consistent checksum: this is a hostile header, not a damaged one.
            t.insert(HEADER_KEY, h.encode().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let before = std::fs::read(&v.path).unwrap();
    let (peak_mib, exit, err) =
        measured(&v, &["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)]);
    assert_eq!(exit, 4, "{err}");
    assert!(
        err.contains("3072 MiB") && err.contains("at most 1024 MiB"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&v.path).unwrap(),
        before,
        "the file was modified"
    );
    // The binary's own footprint (about 25 MiB in a debug build), nowhere near what was asked.
    assert!(peak_mib < 64, "the refused open peaked at {peak_mib} MiB");
}

/// An export file of `count` credentials whose header asks for `kdf` (hostile, not damaged:
/// its checksum is right), with random bytes where the sealed payload goes.
fn crafted_export(kdf: serde_json::Value) -> Vec<u8> {
    let header = serde_json::to_vec(&serde_json::json!({
        "format": 1, "kdf": kdf, "salt": "00".repeat(16), "created_at": 0, "count": 1,
    }))
    .unwrap();
    let mut out = b"KWEXPRT1".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&sha2::Sha256::digest(&header));
    out.extend_from_slice(&[0x5a; 64]);
    out
}

/// Issue 12, item 9: an export asking for 2 GiB, 20 passes and 16 lanes was accepted (2.1 GB
/// and 53 s before "wrong passphrase"). It is refused now, at once, before the vault is opened.
#[test]
fn a_hostile_export_header_is_refused_before_its_kdf_and_before_the_vault_is_touched() {
    let v = TestVault::with_workspace("acme");
    let file = v.dir.path().join("hostile.kwx");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&crafted_export(serde_json::json!({
            "memory_kib": 2 * 1024 * 1024, "iterations": 20, "parallelism": 16,
        })))
        .unwrap();
    let before = std::fs::read(&v.path).unwrap();
    let f = file.to_string_lossy().into_owned();
    let env = [
        ("KEYWAY_PASSPHRASE", PASS),
        ("KEYWAY_EXPORT_PASSPHRASE", "whatever"),
    ];
    let started = std::time::Instant::now();
    let (peak_mib, exit, err) = measured(&v, &["import", &f], &env);
    assert_eq!(exit, 1, "{err}");
    assert!(
        err.contains("was refused") && err.contains("2048 MiB") && err.contains("at most 1024 MiB"),
        "{err}"
    );
    assert!(peak_mib < 64, "the refused import peaked at {peak_mib} MiB");
    assert_eq!(std::fs::read(&v.path).unwrap(), before);
    // Not a timed assertion on keyway's speed: a 53 s derivation would be unmistakable.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// The export is opened (its key derivation run) before the vault: a wrong export passphrase is
/// reported even where there is no vault at all, so the import never holds the vault while it
/// derives a key.
#[test]
fn an_import_derives_the_export_key_before_it_opens_the_vault() {
    let source = TestVault::with_workspace("acme");
    let file = source.dir.path().join("acme.kwx");
    let f = file.to_string_lossy().into_owned();
    let o = source.keyway_with(
        &["export", "-w", "acme", &f],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_EXPORT_PASSPHRASE", "the export passphrase"),
        ],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let nowhere = TestVault::new();
    let import = |pass: &str| {
        nowhere.keyway_with(
            &["import", &f],
            &[
                ("KEYWAY_PASSPHRASE", PASS),
                ("KEYWAY_EXPORT_PASSPHRASE", pass),
            ],
            None,
        )
    };
    let o = import("not the export passphrase");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("wrong export passphrase"),
        "{}",
        stderr(&o)
    );
    let o = import("the export passphrase");
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("no vault"), "{}", stderr(&o));
}
