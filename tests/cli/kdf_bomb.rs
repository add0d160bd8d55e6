//! A vault header asking for a huge key derivation is refused before the KDF runs: exit 4, a
//! clear message, and no memory spike in the process that read it. The peak is this one child's,
//! read from `wait4`, so other tests' children in the same binary do not count.

use crate::support::{code, stderr, TestVault, PASS};
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
            h.kdf.params.memory_kib = 3 * 1024 * 1024; // 3 GiB, above the 1 GiB ceiling
            h.kdf.params.iterations = 1000;
            // A consistent checksum: this is a hostile header, not a damaged one.
            t.insert(HEADER_KEY, h.encode().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let before = std::fs::read(&v.path).unwrap();
    // Reaped by the wait4 below, which also reads this one child's peak memory.
    #[allow(clippy::zombie_processes)]
    let mut child = v
        .command(&["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err_pipe, &mut s).unwrap();
        s
    });
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 writes the exit status and a full rusage struct into the pointers given;
    // the pid is our own unwaited child.
    let usage = unsafe {
        let pid = libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr());
        assert_eq!(pid, child.id() as i32, "wait4 failed");
        usage.assume_init()
    };
    let err = reader.join().unwrap();
    assert!(libc::WIFEXITED(status), "killed: {err}");
    assert_eq!(libc::WEXITSTATUS(status), 4, "{err}");
    assert!(
        err.contains("3072 MiB") && err.contains("at most 1024 MiB"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&v.path).unwrap(),
        before,
        "the file was modified"
    );
    // Peak resident memory of the child (Linux reports KiB), nowhere near the 3 GiB asked for.
    // Linux counts the spawning process's own peak in it (exec takes the high-water mark of the
    // address space it replaces, which after vfork is this test binary's: 50-70 MiB when the
    // other tests of the binary have run), so the bound leaves room for that.
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(peak_mib < 256, "the refused open peaked at {peak_mib} MiB");
}

/// The export is opened (its key derivation run) before the vault: a wrong export passphrase is
/// reported even where there is no vault at all, so the import never holds the vault while it
/// derives a key.
#[test]
fn an_import_derives_the_export_key_before_it_opens_the_vault() {
    let source = TestVault::new();
    let mut store = source.create();
    store
        .add_workspace("acme", keyway::core::time::Timestamp(1))
        .unwrap();
    drop(store);
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
