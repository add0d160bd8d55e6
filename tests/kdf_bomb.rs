//! A vault header asking for a huge key derivation is refused before the KDF runs: exit 4, a
//! clear message, and no memory spike in the process that read it. (Alone in its test binary so
//! the children's peak-memory figure is this one child's.)

mod common;

use common::{stderr, TestVault, PASS};
use keyway::vault::header::Header;
use keyway::vault::tables::{HEADER_KEY, META};
use redb::ReadableTable;

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
            h.kdf.params.memory_kib = 3 * 1024 * 1024; // 3 GiB, above the 2 GiB ceiling
            h.kdf.params.iterations = 1000;
            // A consistent checksum: this is a hostile header, not a damaged one.
            t.insert(HEADER_KEY, h.encode().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let before = std::fs::read(&v.path).unwrap();
    let o = v.keyway_with(&["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)], None);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("3072 MiB") && err.contains("at most 2048 MiB"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&v.path).unwrap(),
        before,
        "the file was modified"
    );
    // Peak resident memory of the child (Linux reports KiB): the binary's own footprint
    // (about 25 MiB in a debug build), nowhere near the 3 GiB asked for.
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full rusage struct into the pointer it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(peak_mib < 64, "the refused open peaked at {peak_mib} MiB");
}
