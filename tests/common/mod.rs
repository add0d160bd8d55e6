//! Helpers shared by the vault and CLI tests: fast KDF settings, a temp vault, running the
//! real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyway::core::time::Timestamp;
use keyway::store::Store;
use keyway::vault::kdf;

pub const PASS: &str = "correct horse battery staple";

/// A user-defined component for a loopback API server (tests/support/http.rs).
pub const LOOPBACK_COMPONENT: &str = r#"
id = "loopback_api"
name = "Loopback API"
kind = "api_key"
icon = "L"
[[fields]]
name = "base_url"
label = "Base URL"
required = true
validate = "url"
[[fields]]
name = "api_key"
label = "API key"
secret = true
required = true
[verify]
engine = "http"
path = "/v1/me"
auth = { type = "bearer" }
detail_pointer = "/account/id"
"#;

/// The arguments of `credential add` for a loopback_api credential `name` in workspace acme,
/// followed by `rest`.
pub fn add_loopback_args<'a>(name: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "loopback_api",
        "-n",
        name,
    ];
    all.extend_from_slice(rest);
    all
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

    /// An initialised vault (through the binary) whose config adds a user component
    /// `loopback_api` (GET {base_url}/v1/me with a bearer key, detail from /account/id) and
    /// keeps verification deadlines short.
    pub fn with_loopback_component() -> TestVault {
        let v = TestVault::new();
        let components = v.dir.path().join("components");
        std::fs::create_dir_all(&components).expect("components dir");
        std::fs::write(components.join("loopback_api.toml"), LOOPBACK_COMPONENT)
            .expect("component");
        std::fs::write(
            &v.config,
            format!(
                "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 2\ndeadline_secs = 3\n[vault]\ncomponents_dir = {:?}\n",
                components.to_string_lossy()
            ),
        )
        .expect("config");
        let o = v.keyway(&["init"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        v
    }

    pub fn create(&self) -> Store {
        Store::create(
            &self.path,
            PASS.as_bytes(),
            kdf::FLOOR,
            Timestamp(1_700_000_000),
        )
        .expect("create")
    }

    pub fn open(&self) -> Store {
        Store::open(&self.path, PASS.as_bytes()).expect("open")
    }

    /// Runs the real binary against this vault with the test passphrase.
    pub fn keyway(&self, args: &[&str]) -> Output {
        self.keyway_with(args, &[("KEYWAY_PASSPHRASE", PASS)], None)
    }

    /// `credential add` of a loopback_api credential `name` in workspace acme, then `args`.
    pub fn add_loopback(&self, name: &str, args: &[&str]) -> Output {
        self.keyway(&add_loopback_args(name, args))
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
            None => cmd
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run keyway"),
        }
    }
}

/// The exit code, -1 if the process was killed by a signal.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
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

/// A command that re-runs this test binary as a child process executing the ignored test
/// `child_process` (which calls `child_main`), with its arguments in KEYWAY_CHILD_ARGS.
pub fn child_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args([
        "child_process",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("KEYWAY_CHILD_ARGS", args.join("\u{1f}"));
    cmd
}

/// The child side: opens a vault and either commits records (printing "ack NAME" after each
/// durable commit), flips the passphrase back and forth ("ack PASSPHRASE"), or holds the vault
/// open until stdin closes ("ready").
pub fn child_main() {
    use std::io::Write;
    let Ok(raw) = std::env::var("KEYWAY_CHILD_ARGS") else {
        panic!("child_process is run by other tests, with KEYWAY_CHILD_ARGS set");
    };
    let args: Vec<&str> = raw.split('\u{1f}').collect();
    let path = Path::new(args[0]);
    let pass = std::env::var("KEYWAY_PASSPHRASE").expect("passphrase");
    let out = std::io::stdout();
    let ack = |line: &str| {
        let mut lock = out.lock();
        let _ = writeln!(lock, "ack {line}");
        let _ = lock.flush();
    };
    let mut store = Store::open(path, pass.as_bytes()).expect("child opens the vault");
    match args[1] {
        "write" => {
            for i in 0.. {
                let name = format!("{}-{i}", args[2]);
                store.add_workspace(&name, Timestamp(i)).expect("commit");
                ack(&name); // only after the durable commit returned
            }
        }
        "passwd" => {
            let (a, b) = (args[2], args[3]);
            let mut current = a;
            loop {
                let next = if current == a { b } else { a };
                store
                    .change_passphrase(next.as_bytes(), kdf::FLOOR)
                    .expect("passwd");
                current = next;
                ack(current);
            }
        }
        "hold" => {
            println!("ready");
            let _ = std::io::stdout().flush();
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        }
        other => panic!("unknown child mode {other}"),
    }
}
