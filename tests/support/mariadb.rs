//! A throwaway MariaDB server on 127.0.0.1: `mariadb-install-db` into a temp dir (real grant
//! tables: logins are checked, never `--skip-grant-tables`), a user `etl` with a known password
//! allowed to use the database `warehouse` but not `payroll`. mariadbd refuses to run as root,
//! so as root it runs as the tests' unprivileged system user (see pg.rs).
//!
//! `MariaDb::shared()` starts one plain server per test binary (no TLS: `--skip-ssl`), stopped
//! at process exit; `MariaDb::start_tls` a private one that offers TLS with a certificate from a
//! test CA (tls.rs), stopped on Drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::pg::{ensure_os_user, free_port, id_of};

pub const ETL_USER: &str = "etl";
pub const ETL_PASSWORD: &str = "pw_SENTINEL_maria_42";
pub const ETL_DATABASE: &str = "warehouse";
/// A database that exists but `etl` has no grant on.
pub const FORBIDDEN_DATABASE: &str = "payroll";
/// A database `etl` has a grant on but that does not exist.
pub const MISSING_DATABASE: &str = "ghost";

pub struct MariaDb {
    pub port: u16,
    dir: PathBuf,
    server: std::sync::Mutex<Option<Child>>,
}

static SHARED: OnceLock<&'static MariaDb> = OnceLock::new();

impl MariaDb {
    /// The plain server shared by every test of this binary.
    pub fn shared() -> &'static MariaDb {
        SHARED.get_or_init(|| {
            let kept: &'static MariaDb = Box::leak(Box::new(MariaDb::start(None)));
            super::stop_at_exit(Box::new(|| kept.stop()));
            kept
        })
    }

    /// A private server offering TLS with `server` (a certificate from a test CA).
    pub fn start_tls(server: &super::tls::Issued) -> MariaDb {
        MariaDb::start(Some(server))
    }

    fn start(tls: Option<&super::tls::Issued>) -> MariaDb {
        let run_as = ensure_os_user();
        let dir = unique_dir();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create server dir");
        let owner = run_as
            .as_ref()
            .map(|user| (id_of(user, "-u"), id_of(user, "-g")));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown server dir");
        }
        // A temp dir of its own: a starting mariadbd clears what looks like its leftover
        // temporary tables in its tmpdir, which in a shared /tmp are another server's.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("server tmp dir");
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).expect("chown tmp dir");
        }
        let as_user = |program: &str| {
            let mut c = match &run_as {
                Some(user) => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", user, "--", program]);
                    c
                }
                None => Command::new(program),
            };
            c.env("TMPDIR", &tmp);
            c
        };
        let data = dir.join("data");
        let out = as_user("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ])
            .current_dir(&dir)
            .output()
            .expect("run mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut ssl = vec!["--skip-ssl".to_string()];
        if let Some(issued) = tls {
            let file = |name: &str, text: &str| {
                let path = dir.join(name);
                std::fs::write(&path, text).expect("write TLS file");
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown");
                }
                path
            };
            ssl = vec![
                format!(
                    "--ssl-cert={}",
                    file("server.crt", &issued.cert_pem).display()
                ),
                format!(
                    "--ssl-key={}",
                    file("server.key", &issued.key_pem).display()
                ),
            ];
        }
        let port = free_port();
        let server = as_user("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                "--max-connections=200",
            ])
            .args(&ssl)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let db = MariaDb {
            port,
            dir,
            server: std::sync::Mutex::new(Some(server)),
        };
        db.wait_until_ready();
        db.sql(&format!(
            "CREATE USER '{ETL_USER}'@'%' IDENTIFIED BY '{ETL_PASSWORD}';\
             CREATE DATABASE {ETL_DATABASE}; CREATE DATABASE {FORBIDDEN_DATABASE};\
             GRANT ALL ON {ETL_DATABASE}.* TO '{ETL_USER}'@'%';\
             GRANT ALL ON {MISSING_DATABASE}.* TO '{ETL_USER}'@'%';"
        ));
        db
    }

    /// Waits (up to a minute: a loaded machine is slow) until the server answers on its
    /// socket, failing at once with its log if it exited.
    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ping = Command::new("mariadb-admin")
                .arg("--no-defaults")
                .arg(format!("--socket={}", self.dir.join("sock").display()))
                .args(["-uroot", "--connect-timeout=5", "ping"])
                .output()
                .expect("run mariadb-admin");
            if ping.status.success() {
                return;
            }
            let exited = self
                .server
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!("mariadbd did not start:\n{}", self.log());
            }
            // Polling the server's own answer, not racing a delay against it.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// Runs SQL as the server's root user over its Unix socket; panics with the error.
    pub fn sql(&self, sql: &str) {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .args(["-uroot", "-e", sql])
            .output()
            .expect("run mariadb");
        assert!(
            out.status.success(),
            "SQL failed: {sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server at once and removes its files. Safe to call twice.
    pub fn stop(&self) {
        if let Some(mut child) = self.server.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // runuser passes the signal on to mariadbd; the pid file names mariadbd itself.
            if let Some(pid) = std::fs::read_to_string(self.dir.join("pid"))
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
            {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unique_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "keyway-maria-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ))
}
