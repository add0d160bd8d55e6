//! Helpers shared by the vault and CLI tests: fast KDF settings, a temp vault, running the
//! real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyway::core::time::Timestamp;
use keyway::store::Store;
use keyway::vault::kdf::{KdfParams, FLOOR_ITERATIONS, FLOOR_MEMORY_KIB};

pub const PASS: &str = "correct horse battery staple";

pub fn fast_kdf() -> KdfParams {
    KdfParams {
        memory_kib: FLOOR_MEMORY_KIB,
        iterations: FLOOR_ITERATIONS,
        parallelism: 1,
    }
}

pub struct TestVault {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub config: PathBuf,
}

impl TestVault {
    pub fn new() -> TestVault {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vault").join("vault.redb");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n",
        )
        .expect("config");
        TestVault { dir, path, config }
    }

    pub fn create(&self) -> Store {
        Store::create(&self.path, PASS.as_bytes(), fast_kdf(), Timestamp(1_700_000_000)).expect("create")
    }

    pub fn open(&self) -> Store {
        Store::open(&self.path, PASS.as_bytes()).expect("open")
    }

    /// Runs the real binary against this vault with the test passphrase.
    pub fn keyway(&self, args: &[&str]) -> Output {
        self.keyway_with(args, &[("KEYWAY_PASSPHRASE", PASS)], None)
    }

    pub fn keyway_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyway"));
        cmd.arg("--vault")
            .arg(&self.path)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("KEYWAY_PASSPHRASE")
            .env_remove("KEYWAY_VAULT")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        match stdin {
            Some(text) => {
                use std::io::Write;
                cmd.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = cmd.spawn().expect("spawn keyway");
                if let Some(mut s) = child.stdin.take() {
                    let _ = s.write_all(text.as_bytes());
                }
                child.wait_with_output().expect("wait keyway")
            }
            None => cmd.stdin(std::process::Stdio::null()).output().expect("run keyway"),
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn file_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).expect("read file")
}

/// Path of an example binary built by `cargo test` next to the test executables.
pub fn example_bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("current exe");
    dir.pop(); // deps
    dir.pop(); // debug
    dir.join("examples").join(name)
}
