//! Where a file is expected, only a regular file of a bounded size is read: a device, a FIFO or
//! a directory as the config, a component, a passphrase file or an export is refused at once
//! (exit 2), and every read stops at the size the README documents (`< /dev/zero` included).
//! Each command runs under a deadline, so a hang fails the test instead of stalling the suite.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::pg::free_port;
use crate::support::{add_unreachable_oauth, code, stderr, TestVault, PASS};

/// Runs `cmd` (stdin from `stdin`, else nothing), killing it after a minute.
pub fn bounded(mut cmd: Command, stdin: Option<&Path>) -> Output {
    cmd.stdin(match stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
        None => Stdio::null(),
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn keyway");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("keyway still running after a minute: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

pub fn mkfifo(path: &Path) -> PathBuf {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    path.to_path_buf()
}

fn refused(o: &Output, what: &str, words: &str) {
    assert_eq!(code(o), 2, "{what}: {}", stderr(o));
    assert!(stderr(o).contains(words), "{what}: {}", stderr(o));
}

#[test]
fn a_config_that_is_not_a_regular_file_is_refused() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    let fifo = mkfifo(&v.dir.path().join("config.fifo"));
    for (path, kind) in [
        (PathBuf::from("/dev/zero"), "a character device"),
        (fifo, "a FIFO"),
        (v.dir.path().to_path_buf(), "a directory"),
    ] {
        let mut cmd = v.command(&["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)]);
        cmd.arg("--config").arg(&path);
        let o = bounded(cmd, None);
        refused(&o, &path.display().to_string(), kind);
    }
    // The default config path too, and a config larger than the documented 1 MiB.
    let big = v.dir.path().join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(1024 * 1024))).unwrap();
    let mut cmd = v.command(&["workspace", "list"], &[("KEYWAY_PASSPHRASE", PASS)]);
    cmd.arg("--config").arg(&big);
    refused(
        &bounded(cmd, None),
        "a 1 MiB config",
        "larger than 1024 KiB",
    );
    let xdg = v.dir.path().join("xdg-config").join("keyway");
    std::fs::create_dir_all(&xdg).unwrap();
    std::os::unix::fs::symlink("/dev/zero", xdg.join("config.toml")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyway"));
    cmd.args(["--vault", &v.path.to_string_lossy(), "workspace", "list"])
        .env("HOME", v.dir.path())
        .env("XDG_CONFIG_HOME", v.dir.path().join("xdg-config"))
        .env("KEYWAY_PASSPHRASE", PASS);
    refused(
        &bounded(cmd, None),
        "the default config",
        "a character device",
    );
}

#[test]
fn a_component_file_that_is_not_a_regular_file_stops_every_command() {
    let v = TestVault::with_loopback_component();
    let components = v.dir.path().join("components");
    let zero = components.join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    // A vault not made yet, with the same config and components: for `init`.
    let mut fresh = TestVault::new();
    fresh.config = v.config.clone();
    let run = |args: &[&str]| bounded(v.command(args, &[("KEYWAY_PASSPHRASE", PASS)]), None);
    for args in [vec!["workspace", "list"], vec!["component", "list"]] {
        refused(
            &run(&args),
            "a symlink to /dev/zero",
            "zero.toml is a character device",
        );
    }
    let init = bounded(
        fresh.command(&["init"], &[("KEYWAY_PASSPHRASE", PASS)]),
        None,
    );
    refused(&init, "init", "zero.toml is a character device");
    assert!(!fresh.path.exists());
    std::fs::remove_file(&zero).unwrap();
    let fifo = mkfifo(&components.join("pipe.toml"));
    refused(
        &run(&["component", "list"]),
        "a FIFO",
        "pipe.toml is a FIFO",
    );
    std::fs::remove_file(&fifo).unwrap();
    std::fs::create_dir(components.join("dir.toml")).unwrap();
    refused(
        &run(&["component", "list"]),
        "a directory",
        "dir.toml is a directory",
    );
    std::fs::remove_dir(components.join("dir.toml")).unwrap();
    // A regular file over the documented 256 KiB is skipped with a warning; the rest load.
    std::fs::write(
        components.join("big.toml"),
        format!("# {}\n", "x".repeat(256 * 1024)),
    )
    .unwrap();
    let o = run(&["component", "show", "loopback_api"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("big.toml: is larger than 256 KiB"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn passphrase_files_and_stdin_reads_are_bounded() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let fifo = mkfifo(&v.dir.path().join("pass.fifo"));
    for (path, kind) in [
        (PathBuf::from("/dev/zero"), "a character device"),
        (fifo, "a FIFO"),
    ] {
        let mut cmd = v.command(&["workspace", "list"], &[]);
        cmd.arg("--passphrase-file").arg(&path);
        refused(&bounded(cmd, None), "a passphrase file", kind);
    }
    // `--paste` reads one line of bounded length from stdin; `--field KEY=-` reads to end of
    // file, no further than the field's own limit.
    add_unreachable_oauth(&v, "crm");
    let zero = Path::new("/dev/zero");
    let login = v.command(
        &["credential", "login", "-w", "acme", "crm", "--paste"],
        &[("KEYWAY_PASSPHRASE", PASS)],
    );
    refused(
        &bounded(login, Some(zero)),
        "login --paste < /dev/zero",
        "longer than 64 KiB",
    );
    let add = v.command(
        &[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "stripe",
            "-n",
            "s",
            "-f",
            "api_key=-",
        ],
        &[("KEYWAY_PASSPHRASE", PASS)],
    );
    refused(
        &bounded(add, Some(zero)),
        "api_key=- < /dev/zero",
        "longer than 16 KiB",
    );
}

#[test]
fn import_refuses_what_is_not_an_export_file() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    let fifo = mkfifo(&v.dir.path().join("export.fifo"));
    let big = v.dir.path().join("big.kwx");
    // Sparse: the size is checked before anything is read.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    for (path, words) in [
        (PathBuf::from("/dev/zero"), "a character device"),
        (fifo, "a FIFO"),
        (v.dir.path().to_path_buf(), "a directory"),
        (big, "larger than 65536 KiB"),
    ] {
        let cmd = v.command(
            &["import", &path.to_string_lossy()],
            &[
                ("KEYWAY_PASSPHRASE", PASS),
                ("KEYWAY_EXPORT_PASSPHRASE", "export passphrase"),
            ],
        );
        refused(&bounded(cmd, None), &path.display().to_string(), words);
    }
}

#[test]
fn field_values_are_capped_at_16_kib() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let before = std::fs::metadata(&v.path).unwrap().len();
    let closed = format!("base_url=http://127.0.0.1:{}", free_port());
    let huge = v.dir.path().join("huge.txt");
    {
        // Written in pieces: a 10 MB string would swell this test process.
        use std::io::Write;
        let mut f = std::fs::File::create(&huge).unwrap();
        let chunk = vec![b'k'; 1024 * 1024];
        for _ in 0..10 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
    }
    let add = |name: &str, key: &str, stdin: Option<&Path>| {
        let key = format!("api_key={key}");
        let cmd = v.command(
            &[
                "credential",
                "add",
                "-w",
                "acme",
                "-c",
                "generic_api_key",
                "-n",
                name,
                "-f",
                &closed,
                "-f",
                &key,
                "--save-unverified",
            ],
            &[("KEYWAY_PASSPHRASE", PASS)],
        );
        bounded(cmd, stdin)
    };
    refused(
        &add("ten-mb", "-", Some(&huge)),
        "a 10 MB key from stdin",
        "16 KiB",
    );
    refused(
        &add("twenty-kb", &"k".repeat(20 * 1024), None),
        "a 20 KiB key",
        "at most 16 KiB",
    );
    assert!(
        std::fs::metadata(&v.path).unwrap().len() <= before + 64 * 1024,
        "nothing big was written"
    );
    let o = add("sixteen-kb", &"k".repeat(16 * 1024), None);
    assert_eq!(code(&o), 0, "16 KiB fits: {}", stderr(&o));
}
