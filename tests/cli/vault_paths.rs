//! A vault path that names something that cannot be a vault file (a directory, a FIFO, a
//! device, `/proc/self/mem`, an empty file, a loop of symbolic links) is refused by every
//! command at once, with exit 4 and a sentence saying what the path is: never a hang on a FIFO,
//! never "no vault, create one" for a loop, never an I/O error (exit 1) for a directory. Each
//! command runs under a deadline (files.rs), so a hang fails the test instead of stalling it.

use std::path::{Path, PathBuf};

use super::files::{bounded, mkfifo};
use crate::support::{code, stderr, TestVault, PASS};

/// The command keyway would run on the vault at `path`.
fn keyway_at(v: &TestVault, path: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = v.command(args, &[("KEYWAY_PASSPHRASE", PASS)]);
    cmd.arg("--vault").arg(path);
    bounded(cmd, None)
}

#[test]
fn a_vault_path_that_cannot_be_a_vault_file_is_refused_by_every_command_with_exit_4() {
    let v = TestVault::new();
    let dir = v.dir.path();
    let fifo = mkfifo(&dir.join("vault.fifo"));
    let empty = dir.join("empty.redb");
    std::fs::write(&empty, b"").unwrap();
    let (a, b) = (dir.join("loop-a"), dir.join("loop-b"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (dir.to_path_buf(), "is a directory, not a vault file"),
        (fifo, "is a FIFO (named pipe), not a vault file"),
        (
            PathBuf::from("/dev/zero"),
            "is a character device, not a vault file",
        ),
        (
            PathBuf::from("/dev/null"),
            "is a character device, not a vault file",
        ),
        (
            PathBuf::from("/proc/self/mem"),
            "is an empty file, not a vault file",
        ),
        (empty, "is an empty file, not a vault file"),
        (a, "is a loop of symbolic links, not a vault file"),
    ];
    let commands: [&[&str]; 6] = [
        &["workspace", "list"],
        &["credential", "list", "--json"],
        &["workspace", "add", "acme"],
        &["audit"],
        &["rekey"],
        &["init"],
    ];
    for (path, words) in &cases {
        for args in commands {
            let o = keyway_at(&v, path, args);
            let what = format!("{} {args:?}", path.display());
            let err = stderr(&o);
            if args == ["init"] && words.contains("an empty file") {
                // A regular file is there: init will not overwrite it.
                assert_eq!(code(&o), 1, "{what}: {err}");
                assert!(err.contains("already exists"), "{what}: {err}");
                continue;
            }
            assert_eq!(code(&o), 4, "{what}: {err}");
            assert!(err.contains(words), "{what}: {err}");
            assert!(!err.contains("keyway init"), "{what}: {err}");
        }
    }
    // Nothing was written anywhere.
    assert_eq!(std::fs::read(dir.join("empty.redb")).unwrap(), b"");
}
