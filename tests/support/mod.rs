//! What the integration tests share: fast KDF settings, a temp vault, running the real binary
//! (and re-running a test binary as a child process), and loopback servers for verification: a
//! PostgreSQL cluster, an API-key server (with a 500 path and a 302 to a "trap" port that
//! records whether the key reached it) and an OAuth2 provider. Everything listens on 127.0.0.1
//! only.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod http;
pub mod mariadb;
pub mod oauth;
pub mod pg;
pub mod proxy;
pub mod redis;
pub mod relay;
pub mod sshd;
pub mod tls;

use keyway::catalog::{parse_component, Catalog};
use keyway::config::VerifyConfig;
use keyway::core::schema::Component;
use keyway::core::secret::SecretFields;
use keyway::core::time::Timestamp;
use keyway::core::{Credential, Environment, RecordId};
use keyway::store::Store;
use keyway::vault::kdf;
use keyway::verify::Verifier;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Stops registered at process exit, for servers a whole test binary shares (the test harness
/// never drops statics).
static AT_EXIT: std::sync::Mutex<Vec<Box<dyn Fn() + Send>>> = std::sync::Mutex::new(Vec::new());
static AT_EXIT_HOOK: std::sync::Once = std::sync::Once::new();

extern "C" fn run_exit_stops() {
    let stops = AT_EXIT.lock().unwrap_or_else(|p| p.into_inner());
    for stop in stops.iter() {
        stop();
    }
}

/// Runs `stop` when the test binary exits.
pub fn stop_at_exit(stop: Box<dyn Fn() + Send>) {
    AT_EXIT_HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" fn with no captured state.
        unsafe {
            libc::atexit(run_exit_stops);
        }
    });
    AT_EXIT.lock().unwrap_or_else(|p| p.into_inner()).push(stop);
}

/// A value that must never show up in any reason, detail or Debug output.
pub const SENTINEL: &str = "sk_SENTINEL_7f3a9c";

pub const NOW: Timestamp = Timestamp(1_780_000_000);

pub fn credential(
    component: &str,
    public: &[(&str, &str)],
    secrets: &[(&str, &str)],
) -> Credential {
    let mut s = SecretFields::new();
    for (k, v) in secrets {
        s.insert(*k, SecretString::from(v.to_string()));
    }
    Credential {
        id: RecordId(format!("{component}-{}", public.len() + secrets.len())),
        workspace: RecordId("w".into()),
        component: component.into(),
        name: "test".into(),
        environment: Environment::Staging,
        public: public
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        secrets: s,
        created_at: NOW,
        updated_at: NOW,
        last_verification: None,
        revision: Default::default(),
        password_changed_at: None,
        pending_rotation: None,
    }
}

/// No "SENTINEL" (every test secret carries it) in an outcome's reason, detail or Debug.
pub fn assert_no_secret(o: &keyway::verify::Outcome) {
    let all = format!("{} {:?} {o:?}", o.reason, o.detail);
    assert!(!all.contains("SENTINEL"), "secret leaked: {all}");
}

/// Every form of `key` a leak could take: itself in any case, any 12 characters of it, and its
/// base64 and URL encodings (the base64 of a longer string holding it contains the encoding
/// of its middle, whatever its offset).
pub fn leaked_form(text: &str, key: &str) -> Option<String> {
    use base64::Engine;
    let lower = text.to_lowercase();
    let key_lower = key.to_lowercase();
    // Any 12 characters of it, from anywhere (keys here are ASCII).
    let mut forms: Vec<String> = (0..=key_lower.len() - 12)
        .map(|at| key_lower[at..at + 12].to_string())
        .collect();
    let url: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    forms.push(url[..16].to_lowercase());
    for offset in 0..3 {
        let padded = format!("{}{key}", "u".repeat(offset));
        let encoded = base64::engine::general_purpose::STANDARD.encode(padded);
        // Past the characters the prefix touches, 16 characters of the key alone.
        let start = (offset * 4).div_ceil(3) + 4;
        forms.push(encoded[start..start + 16].to_lowercase());
    }
    forms.into_iter().find(|f| lower.contains(f.as_str()))
}

/// A `base_url=` field for a loopback port nothing listens on: verification finds it unreachable.
pub fn closed_base_url() -> String {
    format!("base_url=http://127.0.0.1:{}", pg::free_port())
}

pub fn verifier(connect_timeout_secs: u64, deadline_secs: u64) -> Verifier {
    Verifier::new(&VerifyConfig {
        concurrency: 16,
        connect_timeout_secs,
        deadline_secs,
        ..VerifyConfig::default()
    })
    .expect("verifier builds")
}

pub fn builtin(id: &str) -> Component {
    Catalog::builtin()
        .expect("builtin catalogue")
        .get(id)
        .unwrap_or_else(|| panic!("no builtin component {id}"))
        .clone()
}

pub const PASS: &str = "correct horse battery staple";

/// Variables that change where keyway connects or what it trusts; cleared for every run of the
/// binary, so a CI machine's proxy or CA settings cannot change what a test means.
pub const AMBIENT_NETWORK_VARS: [&str; 10] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

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
        let v = TestVault::with_loopback_config();
        let o = v.keyway(&["init"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        v
    }

    /// The config of `with_loopback_component`, no vault created yet.
    pub fn with_loopback_config() -> TestVault {
        let v = TestVault::new();
        let components = v.dir.path().join("components");
        std::fs::create_dir_all(&components).expect("components dir");
        std::fs::write(
            components.join("loopback_api.toml"),
            loopback_component_toml(),
        )
        .expect("component");
        std::fs::write(
            &v.config,
            format!(
                "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 2\ndeadline_secs = 3\n[vault]\ncomponents_dir = {:?}\n",
                components.to_string_lossy()
            ),
        )
        .expect("config");
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

    /// A new vault (made through the library) holding one empty workspace `name`.
    pub fn with_workspace(name: &str) -> TestVault {
        let v = TestVault::new();
        let mut store = v.create();
        store.add_workspace(name, Timestamp(1)).expect("workspace");
        drop(store);
        v
    }

    /// Runs the real binary against this vault with the test passphrase.
    pub fn keyway(&self, args: &[&str]) -> Output {
        self.keyway_with(args, &[("KEYWAY_PASSPHRASE", PASS)], None)
    }

    /// `credential add` of a loopback_api credential `name` in workspace acme, then `args`.
    pub fn add_loopback(&self, name: &str, args: &[&str]) -> Output {
        self.keyway(&add_loopback_args(name, args))
    }

    /// The real binary against this vault, with `env` and nothing else of the test's own
    /// keyway settings, not yet started.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyway"));
        cmd.arg("--vault")
            .arg(&self.path)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("KEYWAY_PASSPHRASE")
            .env_remove("KEYWAY_VAULT")
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"));
        // What the machine's environment says about trust and proxies is not the test's: a
        // test that needs one sets it.
        for var in AMBIENT_NETWORK_VARS {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn keyway_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(args, env);
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

/// The child side of `child_command`, in every test binary that has this module.
#[test]
#[ignore = "run as a child process by the other tests"]
fn child_process() {
    child_main();
}

/// A command that re-runs this test binary as a child process executing the ignored test
/// `support::child_process` (which calls `child_main`), with its arguments in KEYWAY_CHILD_ARGS.
pub fn child_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args([
        "support::child_process",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("KEYWAY_CHILD_ARGS", args.join("\u{1f}"));
    cmd
}

/// The child side. Modes (the first argument is the vault, the second the mode):
/// - `write PREFIX`: commits workspaces PREFIX-0, PREFIX-1, ... printing "ack NAME" after each
///   durable commit;
/// - `mixed PREFIX`: the same, and reads the vault again (a refresh) between commits;
/// - `passwd A B`: flips the passphrase between A and B, printing "ack PASSPHRASE" after each;
/// - `rekey`: re-keys the vault again and again, printing "ack rekeyed" after each;
/// - `hold`: holds the vault open until stdin closes;
/// - `hold-write`: holds a write transaction open (the write lock) until stdin closes;
/// - `count PREFIX N`: adds workspace PREFIX, then N-1 credentials in it, printing "ack NAME"
///   after each commit and "busy" when a write waited longer than the lock wait (then retried),
///   and exits; any other error is printed as "error ..." and ends it with a failure.
///
/// Each prints "open" once the vault is open (and "writing" once the write lock is held), so
/// a test can start its clock from there rather than from the spawn. `peak EXE ARGS...` instead
/// runs EXE and prints "peak KIB EXIT" from wait4: the peak memory of that grandchild alone.
pub fn child_main() {
    use std::io::Write;
    let Ok(raw) = std::env::var("KEYWAY_CHILD_ARGS") else {
        panic!("child_process is run by other tests, with KEYWAY_CHILD_ARGS set");
    };
    let args: Vec<&str> = raw.split('\u{1f}').collect();
    if args[0] == "peak" {
        return peak(&args[1..]);
    }
    if args[0] == "session-connect" {
        return session_connect(&args[1..]);
    }
    let path = Path::new(args[0]);
    let pass = std::env::var("KEYWAY_PASSPHRASE").expect("passphrase");
    let out = std::io::stdout();
    let say = |line: &str| {
        let mut lock = out.lock();
        let _ = writeln!(lock, "{line}");
        let _ = lock.flush();
    };
    let ack = |line: &str| say(&format!("ack {line}"));
    if args[1] == "hold-write" {
        let (mut vault, mut snapshot) =
            keyway::vault::Vault::open_and_load(path, pass.as_bytes()).expect("child opens");
        say("open");
        vault
            .write(&mut snapshot, |_| {
                say("writing");
                let mut sink = String::new();
                let _ = std::io::stdin().read_line(&mut sink);
                Ok::<_, keyway::vault::VaultError>(())
            })
            .expect("held write");
        return;
    }
    let mut store = Store::open(path, pass.as_bytes()).expect("child opens the vault");
    say("open");
    match args[1] {
        "write" | "mixed" => {
            for i in 0.. {
                let name = format!("{}-{i}", args[2]);
                store.add_workspace(&name, Timestamp(i)).expect("commit");
                ack(&name); // only after the durable commit returned
                if args[1] == "mixed" {
                    store.refresh().expect("refresh");
                    assert!(store.snapshot().workspace_by_name(&name).is_ok());
                }
            }
        }
        "rekey" => loop {
            store.rekey(pass.as_bytes()).expect("rekey");
            ack("rekeyed");
        },
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
        "count" => {
            let prefix = args[2];
            let n: usize = args[3].parse().expect("count");
            let catalog = Catalog::builtin().expect("catalogue");
            let w = loop {
                match store.add_workspace(prefix, Timestamp(1)) {
                    Ok(w) => break w,
                    Err(e) if e.exit_code() == 5 => say("busy"),
                    Err(e) => {
                        say(&format!("error {e}"));
                        std::process::exit(1);
                    }
                }
            };
            ack(prefix);
            for i in 1..n {
                let name = format!("{prefix}-{i}");
                let draft = keyway::store::CredentialDraft {
                    workspace: w.id.clone(),
                    component: "stripe".into(),
                    name: name.clone(),
                    environment: Environment::Staging,
                    changes: vec![(
                        "api_key".into(),
                        keyway::core::input::FieldValue::Secret(SecretString::from(format!(
                            "sk_test_{name}"
                        ))),
                    )],
                };
                let c = store
                    .prepare_credential(&catalog, draft, None, Timestamp(2))
                    .expect("prepare");
                loop {
                    match store.save_credential(c.clone()) {
                        Ok(()) => break,
                        Err(e) if e.exit_code() == 5 => say("busy"),
                        Err(e) => {
                            say(&format!("error {e}"));
                            std::process::exit(1);
                        }
                    }
                }
                ack(&name);
            }
        }
        "hold" => {
            say("ready");
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Runs `exe args...` and prints its peak resident memory (KiB) and exit code, measured with
/// wait4 from this fresh process, so the test process's own memory is not counted in.
fn peak(command: &[&str]) {
    let child = Command::new(command[0])
        .args(&command[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 writes the exit status and a full rusage struct into the pointers given;
    // the pid is our own unwaited child.
    let usage = unsafe {
        let pid = libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr());
        assert_eq!(pid, child.id() as i32, "wait4 failed");
        usage.assume_init()
    };
    std::mem::forget(child); // reaped above
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    println!("peak {} {code}", usage.ru_maxrss);
}

/// The child side of a session test: connects to the agent socket `args[0]`, asks for the key
/// with token `args[1]` for vault `args[2]` and header digest `args[3]`, and prints
/// `answer <line>` (or `answer-none` when the agent closes without a word).
fn session_connect(args: &[&str]) {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(args[0]).expect("connect");
    let request =
        serde_json::json!({"op": "key", "token": args[1], "vault_id": args[2], "header": args[3]});
    // An agent that refuses a peer closes at once: the send may then fail, which is nothing too.
    if writeln!(stream, "{request}").is_err() {
        println!("answer-none");
        return;
    }
    let mut line = String::new();
    let _ = std::io::BufReader::new(&stream).read_line(&mut line);
    if line.is_empty() {
        println!("answer-none");
    } else {
        println!("answer {}", line.trim());
    }
}

/// The one loopback API-key component of the tests: GET `path` with the key placed as `auth`
/// (a TOML inline table), the detail read from `detail_pointer`. Fields: base_url, api_key and an
/// optional account_sid (last, so forms tab through base_url then api_key).
pub fn loopback_toml(path: &str, auth: &str, detail_pointer: Option<&str>) -> String {
    let pointer = detail_pointer
        .map(|p| format!("detail_pointer = \"{p}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
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

[[fields]]
name = "account_sid"
label = "Account"

[verify]
engine = "http"
method = "GET"
path = "{path}"
auth = {auth}
ok_status = [200]
{pointer}"#
    )
}

/// A bearer key: the auth of the CLI tests' loopback component.
pub const BEARER: &str = r#"{ type = "bearer" }"#;

/// The user component file the CLI tests install: GET {base_url}/v1/me with a bearer key, the
/// detail from /account/id.
pub fn loopback_component_toml() -> String {
    loopback_toml("/v1/me", BEARER, Some("/account/id"))
}

/// The loopback component parsed, for tests that call the verifiers directly.
pub fn api_component(path: &str, auth: &str, detail_pointer: Option<&str>) -> Component {
    parse_component(
        "tests/loopback_api.toml",
        &loopback_toml(path, auth, detail_pointer),
    )
    .expect("test component parses")
}

/// Stores a generic_oauth2 credential `name` in workspace acme (which must exist) whose token,
/// auth and base URLs are a loopback port nothing listens on: its client-credentials check is
/// unreachable, so it is saved unverified, ready for `credential login --paste`.
pub fn add_unreachable_oauth(v: &TestVault, name: &str) {
    let closed = format!("http://127.0.0.1:{}", pg::free_port());
    let fields = [
        format!("base_url={closed}"),
        "client_id=c".to_string(),
        "client_secret=cs_SENTINEL_unreachable".to_string(),
        format!("token_url={closed}/token"),
        format!("auth_url={closed}/authorize"),
    ];
    let mut args = vec![
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "generic_oauth2",
        "-n",
        name,
    ];
    for f in &fields {
        args.extend(["-f", f.as_str()]);
    }
    args.push("--save-unverified");
    let o = v.keyway(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// A child process holding the vault at `path` open (`hold`) or its write lock (`hold_write`)
/// until dropped.
pub struct Holder(std::process::Child);

/// A child holding the vault open, as an open TUI would: others still read and write.
pub fn hold(path: &Path) -> Holder {
    hold_as(path, "hold", "ready")
}

/// A child holding a write transaction open (the write lock), writing nothing when dropped.
pub fn hold_write(path: &Path) -> Holder {
    hold_as(path, "hold-write", "writing")
}

fn hold_as(path: &Path, mode: &str, ready: &str) -> Holder {
    use std::io::BufRead;
    let mut child = child_command(&[&path.to_string_lossy(), mode])
        .env("KEYWAY_PASSPHRASE", PASS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the holder");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert!(
        lines.any(|l| l.map(|l| l.ends_with(ready)).unwrap_or(false)),
        "holder did not start"
    );
    Holder(child)
}

impl Drop for Holder {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = self.0.stdin.take().map(|mut s| s.write_all(b"\n"));
        let _ = self.0.wait();
    }
}

/// The passphrase of the export files tests write themselves.
pub const EXPORT_PASS: &str = "export passphrase";

/// Seals `credentials` as workspace `workspace` into a new export file `file` under
/// EXPORT_PASS: a crafted export, authentic as far as keyway can tell.
pub fn write_export(
    file: &Path,
    workspace: &str,
    credentials: Vec<keyway::transfer::ExportedCredential>,
) {
    let bytes = keyway::transfer::seal(
        workspace,
        credentials,
        EXPORT_PASS.as_bytes(),
        kdf::FLOOR,
        Timestamp(2),
    )
    .expect("seal");
    std::fs::write(file, bytes).expect("write the export");
}

/// Runs keyway with the test passphrase and EXPORT_PASS as the export passphrase.
pub fn keyway_exporting(v: &TestVault, args: &[&str]) -> Output {
    v.keyway_with(
        args,
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_EXPORT_PASSPHRASE", EXPORT_PASS),
        ],
        None,
    )
}
