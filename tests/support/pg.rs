//! A throwaway PostgreSQL 15 cluster on 127.0.0.1: initdb in a temp dir, scram-sha-256 for TCP
//! logins, a role `etl` with a known password and a database it owns. PostgreSQL refuses to run
//! as root, so as root the cluster runs as an unprivileged system user (created if missing).
//!
//! `PgCluster::shared()` starts one cluster per test binary, stopped at process exit (the test
//! harness never drops statics, so an `atexit` hook does it). `PgCluster::start()` gives a
//! private one, stopped on Drop.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
pub const OS_USER: &str = "keyway-test";
pub const ETL_USER: &str = "etl";
pub const ETL_PASSWORD: &str = "pw_SENTINEL_etl_42";
pub const ETL_DATABASE: &str = "warehouse";

pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    run_as: Option<String>,
}

static SHARED: OnceLock<PgCluster> = OnceLock::new();

extern "C" fn stop_shared_cluster() {
    if let Some(cluster) = SHARED.get() {
        cluster.stop();
    }
}

impl PgCluster {
    /// The cluster shared by every test of this binary.
    pub fn shared() -> &'static PgCluster {
        SHARED.get_or_init(|| {
            let cluster = PgCluster::start();
            // SAFETY: registering a plain extern "C" fn with no captured state.
            unsafe {
                libc::atexit(stop_shared_cluster);
            }
            cluster
        })
    }

    /// A private cluster without TLS (like the shared one).
    pub fn start() -> PgCluster {
        PgCluster::start_with(false)
    }

    /// A private cluster that offers TLS with a self-signed certificate, which no public root
    /// vouches for: keyway must refuse it.
    pub fn start_with_self_signed_tls() -> PgCluster {
        PgCluster::start_with(true)
    }

    fn start_with(tls: bool) -> PgCluster {
        let run_as = ensure_os_user();
        let dir = unique_dir();
        std::fs::create_dir_all(&dir).expect("create cluster dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        if let Some(user) = &run_as {
            let uid = id_of(user, "-u");
            let gid = id_of(user, "-g");
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
        let ssl = if tls {
            cluster.run_program(
                "openssl",
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.crt",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            );
            // PostgreSQL refuses a key that others can read.
            std::fs::set_permissions(
                cluster.dir.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("chmod server.key");
            format!(
                "ssl = on\nssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n",
                cluster.dir.display()
            )
        } else {
            "ssl = off\n".to_string()
        };
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\n{ssl}fsync = off\n\
             synchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n",
            cluster.port,
            cluster.dir.display()
        );
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
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
fn ensure_os_user() -> Option<String> {
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

fn id_of(user: &str, flag: &str) -> u32 {
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
