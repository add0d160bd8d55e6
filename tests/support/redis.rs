//! Throwaway redis-server processes on 127.0.0.1, configured by a file of their own: ACL users
//! with known passwords (or none at all), optionally TLS with a certificate from a test CA.
//! A server is ready when it prints "Ready to accept connections" (read from its log on
//! stdout, never a fixed wait); stopped on Drop, or at exit for the shared ones.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::pg::free_port;

/// The default user's password on `RedisServer::with_acl` (requirepass).
pub const DEFAULT_PASSWORD: &str = "pw_SENTINEL_redis_default";
pub const ACL_USER: &str = "etl";
pub const ACL_PASSWORD: &str = "pw_SENTINEL_redis_etl";

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// The shared server with passwords: the default user's and the ACL user `etl`'s.
    pub fn with_acl() -> &'static RedisServer {
        static SERVER: OnceLock<&'static RedisServer> = OnceLock::new();
        SERVER.get_or_init(|| {
            RedisServer::start(&format!(
                "user default on >{DEFAULT_PASSWORD} ~* &* +@all\n\
                 user {ACL_USER} on >{ACL_PASSWORD} ~* &* +@all\n"
            ))
            .until_exit()
        })
    }

    /// The shared server without any password (the default user is `nopass`).
    pub fn open() -> &'static RedisServer {
        static SERVER: OnceLock<&'static RedisServer> = OnceLock::new();
        SERVER.get_or_init(|| RedisServer::start("").until_exit())
    }

    /// A private server whose only port speaks TLS with `server`'s certificate; passwords as
    /// `with_acl`.
    pub fn start_tls(server: &super::tls::Issued) -> RedisServer {
        let dir = unique_dir();
        std::fs::create_dir_all(&dir).expect("redis dir");
        let cert = dir.join("server.crt");
        let key = dir.join("server.key");
        std::fs::write(&cert, &server.cert_pem).expect("cert");
        std::fs::write(&key, &server.key_pem).expect("key");
        RedisServer::start_in(
            dir,
            &format!(
                "user default on >{DEFAULT_PASSWORD} ~* &* +@all\n\
                 tls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\ntls-auth-clients no\n",
                cert.display(),
                key.display(),
                cert.display()
            ),
            true,
        )
    }

    fn start(extra: &str) -> RedisServer {
        let dir = unique_dir();
        std::fs::create_dir_all(&dir).expect("redis dir");
        RedisServer::start_in(dir, extra, false)
    }

    fn start_in(dir: PathBuf, extra: &str, tls: bool) -> RedisServer {
        let port = free_port();
        let ports = if tls {
            format!("port 0\ntls-port {port}\n")
        } else {
            format!("port {port}\n")
        };
        let config = dir.join("redis.conf");
        std::fs::write(
            &config,
            format!(
                "bind 127.0.0.1\n{ports}daemonize no\nlogfile \"\"\nsave \"\"\nappendonly no\n\
                 dir {}\n{extra}",
                dir.display()
            ),
        )
        .expect("redis.conf");
        let mut child = Command::new("redis-server")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let stdout = child.stdout.take().expect("redis stdout");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // Reads the log to its end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                log.push_str(&line);
                log.push('\n');
                if line.contains("Ready to accept connections") {
                    let _ = ready_tx.send(Ok(()));
                }
            }
            let _ = ready_tx.send(Err(log));
        });
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("redis-server exited before it was ready:\n{log}"),
            Err(_) => panic!("redis-server was not ready within 60 s"),
        }
        RedisServer {
            port,
            dir,
            child: Mutex::new(Some(child)),
        }
    }

    fn until_exit(self) -> &'static RedisServer {
        let kept: &'static RedisServer = Box::leak(Box::new(self));
        super::stop_at_exit(Box::new(|| kept.stop()));
        kept
    }

    /// Stops the server at once and removes its files. Safe to call twice.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unique_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "keyway-redis-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
