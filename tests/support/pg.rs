//! A throwaway PostgreSQL 15 cluster on 127.0.0.1: initdb in a temp dir, scram-sha-256 for TCP
//! logins, a role `etl` with a known password and a database it owns. PostgreSQL refuses to run
//! as root, so as root the cluster runs as an unprivileged system user (created if missing).
//!
//! `PgCluster::shared()` starts one cluster per test binary, stopped at process exit (the test
//! harness never drops statics, so an `atexit` hook does it; `until_exit` does the same for any
//! cluster a test binary shares). `PgCluster::start()` gives a private one, stopped on Drop;
//! `PgCluster::start_tls` one that offers TLS with a certificate from a test CA (tls.rs), and
//! optionally requires client certificates.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
pub const OS_USER: &str = "keyway-test";
pub const ETL_USER: &str = "etl";
pub const ETL_PASSWORD: &str = "pw_SENTINEL_etl_42";
pub const ETL_DATABASE: &str = "warehouse";

/// How a TLS cluster is set up (see `PgCluster::start_tls`).
pub struct PgTls {
    pub server: super::tls::Issued,
    /// PEM of the CA whose client certificates the server requires.
    pub client_ca: Option<String>,
}

pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    run_as: Option<String>,
}

static SHARED: OnceLock<&'static PgCluster> = OnceLock::new();

/// Clusters kept until the test binary exits, stopped then by `stop_clusters_at_exit`.
static AT_EXIT: Mutex<Vec<&'static PgCluster>> = Mutex::new(Vec::new());
static AT_EXIT_HOOK: Once = Once::new();

extern "C" fn stop_clusters_at_exit() {
    let clusters = AT_EXIT.lock().unwrap_or_else(|p| p.into_inner());
    for cluster in clusters.iter() {
        cluster.stop();
    }
}

impl PgCluster {
    /// The cluster shared by every test of this binary.
    pub fn shared() -> &'static PgCluster {
        SHARED.get_or_init(|| PgCluster::start().until_exit())
    }

    /// Keeps this cluster running until the test binary exits, for tests to share.
    pub fn until_exit(self) -> &'static PgCluster {
        let kept: &'static PgCluster = Box::leak(Box::new(self));
        AT_EXIT_HOOK.call_once(|| {
            // SAFETY: registering a plain extern "C" fn with no captured state.
            unsafe {
                libc::atexit(stop_clusters_at_exit);
            }
        });
        AT_EXIT.lock().unwrap_or_else(|p| p.into_inner()).push(kept);
        kept
    }

    /// A private cluster without TLS (like the shared one).
    pub fn start() -> PgCluster {
        PgCluster::start_with(None)
    }

    /// A cluster that logs every statement (`log_statement = all`) to its server log, shared
    /// by the tests of this binary that read the log.
    pub fn logging() -> &'static PgCluster {
        static LOGGING: OnceLock<&'static PgCluster> = OnceLock::new();
        LOGGING.get_or_init(|| {
            let cluster = PgCluster::start_with(None);
            cluster.superuser_sql("ALTER SYSTEM SET log_statement = 'all'");
            cluster.superuser_sql("SELECT pg_reload_conf()");
            cluster.until_exit()
        })
    }

    /// Runs SQL as the superuser over the cluster's Unix socket; its output (unaligned, tuples
    /// only). Panics when it fails.
    pub fn superuser_sql(&self, sql: &str) -> String {
        let out = self
            .psql_command()
            .args([
                "-h",
                path_str(&self.dir),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A login role `name` with `password` that owns no database (it logs in to `postgres`).
    pub fn create_role(&self, name: &str, password: &str) {
        self.superuser_sql(&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"));
    }

    /// What pg_authid holds as the role's password (its SCRAM verifier).
    pub fn stored_verifier(&self, role: &str) -> String {
        self.superuser_sql(&format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"
        ))
    }

    /// Whether `user` logs in over TCP with `password` (psql, as a client would).
    pub fn logs_in(&self, user: &str, password: &str) -> bool {
        self.psql_command()
            .args(["-h", "127.0.0.1", "-U", user, "-d", "postgres", "-w"])
            .args(["-c", "SELECT 1"])
            .env("PGPASSWORD", password)
            .env("PGSSLMODE", "disable")
            .output()
            .expect("run psql")
            .status
            .success()
    }

    /// The server's log so far.
    pub fn server_log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("server.log")).unwrap_or_default())
            .into_owned()
    }

    /// psql for this cluster (as the unprivileged user when we are root), quiet, stopping at
    /// the first error.
    fn psql_command(&self) -> Command {
        let binary = format!("{PG_BIN}/psql");
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", &binary]);
                c
            }
            None => Command::new(binary),
        };
        cmd.current_dir(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-qAtX",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .env_remove("PGPASSWORD")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// A private cluster that offers TLS with `tls.server` (a certificate from a test CA, see
    /// tls.rs); with `tls.client_ca`, TCP logins must come over TLS with a client certificate
    /// that CA issued, for the user its CN names (pg_hba.conf: `hostssl ... cert`).
    pub fn start_tls(tls: &PgTls) -> PgCluster {
        PgCluster::start_with(Some(tls))
    }

    fn start_with(tls: Option<&PgTls>) -> PgCluster {
        let run_as = ensure_os_user();
        let dir = unique_dir();
        std::fs::create_dir_all(&dir).expect("create cluster dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let owner = run_as
            .as_ref()
            .map(|user| (id_of(user, "-u"), id_of(user, "-g")));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown cluster dir");
        }
        let cluster = PgCluster {
            port: free_port(),
            dir,
            run_as,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ],
        );
        // The server reads its files as the cluster's user; it refuses a key others can read.
        let private_file = |name: &str, text: &str| {
            let path = cluster.dir.join(name);
            std::fs::write(&path, text).expect("write TLS file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("chmod TLS file");
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown TLS file");
            }
        };
        let ssl = match tls {
            None => "ssl = off\n".to_string(),
            Some(tls) => {
                private_file("server.crt", &tls.server.cert_pem);
                private_file("server.key", &tls.server.key_pem);
                let mut ssl = format!(
                    "ssl = on\nssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n",
                    cluster.dir.display()
                );
                if let Some(ca) = &tls.client_ca {
                    private_file("client_ca.crt", ca);
                    ssl.push_str(&format!(
                        "ssl_ca_file = '{}/client_ca.crt'\n",
                        cluster.dir.display()
                    ));
                }
                ssl
            }
        };
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\n{ssl}fsync = off\n\
             synchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n",
            cluster.port,
            cluster.dir.display()
        );
        append(&data.join("postgresql.conf"), &conf);
        let tcp = match tls {
            Some(PgTls {
                client_ca: Some(_), ..
            }) => "hostssl all all 127.0.0.1/32 cert",
            _ => "host all all 127.0.0.1/32 scram-sha-256",
        };
        std::fs::write(
            data.join("pg_hba.conf"),
            format!("local all all trust\n{tcp}\n"),
        )
        .expect("write pg_hba.conf");
        let log = cluster.dir.join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        let port = cluster.port.to_string();
        cluster.run(
            "psql",
            &[
                "-h",
                path_str(&cluster.dir),
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("CREATE ROLE {ETL_USER} LOGIN PASSWORD '{ETL_PASSWORD}'"),
                "-c",
                &format!("CREATE DATABASE {ETL_DATABASE} OWNER {ETL_USER}"),
            ],
        );
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a PostgreSQL binary (as the unprivileged user when we are root); panics with its
    /// output on failure, since a test without its cluster cannot say anything useful.
    fn run(&self, program: &str, args: &[&str]) {
        self.run_program(&format!("{PG_BIN}/{program}"), args);
    }

    fn run_program(&self, binary: &str, args: &[&str]) {
        let program = binary;
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", binary]);
                c
            }
            None => Command::new(binary),
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run postgres tool");
        assert!(
            out.status.success(),
            "{program} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new, empty database owned by `etl`, with a name no other test uses.
    pub fn new_database(&self, prefix: &str) -> String {
        static DATABASES: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {name} OWNER {ETL_USER}"),
        );
        name
    }

    /// Runs `sql` as the superuser (a database administrator) in `database`; its output
    /// (unaligned, tuples only). Panics when psql fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self.tool_output(
            "psql",
            &[
                "-d",
                database,
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        );
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `pg_dump` of `database`: every table's bytes as a backup holds them.
    pub fn pg_dump(&self, database: &str) -> Vec<u8> {
        let out = self.tool_output("pg_dump", &["-d", database]);
        assert!(
            out.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Restores a plain `pg_dump --no-owner` script into `database` as the role `etl` (psql over
    /// the cluster's socket, stopping at the first error), so its tables belong to the role a
    /// team vault URL logs in as. The script comes on stdin: the cluster's OS user need not be
    /// able to read the file it came from.
    pub fn restore_as_etl(&self, database: &str, dump: &[u8]) {
        use std::io::Write;
        let binary = format!("{PG_BIN}/psql");
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", &binary]);
                c
            }
            None => Command::new(&binary),
        };
        let mut child = cmd
            .args(["-h", path_str(&self.dir), "-p", &self.port.to_string()])
            .args([
                "-U",
                ETL_USER,
                "-d",
                database,
                "-qX",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .args(["-f", "-"])
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("psql's stdin");
        // Written from a thread: psql's output pipes must be drained while it reads.
        let dump = dump.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&dump));
        let out = child.wait_with_output().expect("wait for psql");
        writer
            .join()
            .expect("the dump writer")
            .expect("write the dump to psql");
        assert!(
            out.status.success(),
            "restoring the dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A client tool as the superuser over the cluster's Unix socket.
    fn tool_output(&self, program: &str, args: &[&str]) -> std::process::Output {
        let binary = format!("{PG_BIN}/{program}");
        let port = self.port.to_string();
        let socket_dir = self.dir.to_string_lossy().into_owned();
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", &binary]);
                c
            }
            None => Command::new(&binary),
        };
        cmd.args(["-h", &socket_dir, "-p", &port, "-U", "postgres"])
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run a PostgreSQL client tool")
    }

    /// The URL of a team vault in `database` on this cluster (loopback, so sslmode=disable is
    /// allowed).
    pub fn vault_url(&self, database: &str) -> String {
        format!(
            "postgresql://{ETL_USER}@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// Stops the server as an administrator would for a restart (`pg_ctl stop -m fast`:
    /// sessions are ended, the files kept), waiting until it is down. `start_server` brings it
    /// back. Only for a private cluster: the shared one serves other tests.
    pub fn stop_server(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", path_str(&data), "-m", "fast", "-w", "stop"],
        );
    }

    /// Starts the server `stop_server` stopped, on the same port, waiting until it accepts
    /// connections.
    pub fn start_server(&self) {
        let data = self.data();
        let log = self.dir.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server at once and removes its files. Safe to call twice.
    pub fn stop(&self) {
        if self.data().exists() {
            let binary = format!("{PG_BIN}/pg_ctl");
            let data = self.data();
            let args = ["-D", path_str(&data), "-m", "immediate", "-w", "stop"];
            let _ = match &self.run_as {
                Some(user) => Command::new("runuser")
                    .args(["-u", user, "--", &binary])
                    .args(args)
                    .output(),
                None => Command::new(&binary).args(args).output(),
            };
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// As root: the system user the cluster runs as, created on first use.
pub fn ensure_os_user() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let exists = || {
        Command::new("id")
            .args(["-u", OS_USER])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !exists() {
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                OS_USER,
            ])
            .output();
        // A parallel test binary may have created it first; only its existence matters.
        assert!(exists(), "could not create the OS user {OS_USER}");
    }
    Some(OS_USER.to_string())
}

pub fn id_of(user: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, user]).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}

fn unique_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "keyway-pg-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ))
}

/// A port that was free a moment ago (the kernel picks it; the race window is tiny).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open postgresql.conf");
    f.write_all(text.as_bytes())
        .expect("append postgresql.conf");
}
