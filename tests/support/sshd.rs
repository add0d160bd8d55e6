//! A throwaway OpenSSH server on 127.0.0.1: `/usr/sbin/sshd -D -e -f CONFIG` with a config, a
//! host key and an authorized_keys of its own in a temp dir, on a private port. It runs as root
//! (sshd must, to switch to the login user), with its own privilege separation directory
//! (/run/sshd, which the package's service would make) and user. The login user `keyway-ssh`
//! is created for the tests with a known password; it gets only SFTP (`ForceCommand
//! internal-sftp`), and its key is an ed25519 key encrypted with a passphrase (ssh-keygen -N).
//!
//! Ready when sshd says "Server listening on" and a connection reads its SSH banner (never a
//! fixed wait). `Sshd::shared()` is started once per test binary and stopped at exit.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::pg::{free_port, id_of};

pub const SSH_USER: &str = "keyway-ssh";
pub const SSH_PASSWORD: &str = "pw_SENTINEL_ssh_42";
pub const KEY_PASSPHRASE: &str = "pp_SENTINEL_key_7";

pub struct Sshd {
    pub port: u16,
    /// The host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:...`).
    pub host_key: String,
    /// The host key's public half, for a test to run `ssh-keygen -lf` on itself.
    pub host_key_pub: PathBuf,
    /// The login user's private key (OpenSSH format, encrypted with KEY_PASSPHRASE).
    pub client_key: String,
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Sshd {
    /// The server shared by every test of this binary.
    pub fn shared() -> &'static Sshd {
        static SERVER: OnceLock<&'static Sshd> = OnceLock::new();
        SERVER.get_or_init(|| {
            let kept: &'static Sshd = Box::leak(Box::new(Sshd::start()));
            super::stop_at_exit(Box::new(|| kept.stop()));
            kept
        })
    }

    pub fn start() -> Sshd {
        ensure_users();
        let dir = unique_dir();
        std::fs::create_dir_all(&dir).expect("sshd dir");
        // The login user reads authorized_keys through this directory.
        set_mode(&dir, 0o755);
        let host_key = dir.join("host_ed25519");
        keygen(&host_key, "");
        let client_key = dir.join("client_ed25519");
        keygen(&client_key, KEY_PASSPHRASE);
        let authorized = dir.join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).expect("authorized_keys");
        // sshd reads it as the login user, and it must be theirs alone.
        std::os::unix::fs::chown(
            &authorized,
            Some(id_of(SSH_USER, "-u")),
            Some(id_of(SSH_USER, "-g")),
        )
        .expect("chown authorized_keys");
        set_mode(&authorized, 0o600);
        // Privilege separation: Debian's sshd wants /run/sshd, root's and not writable by
        // others; the package's service makes it, which a machine that never ran it lacks.
        std::fs::create_dir_all("/run/sshd").expect("privsep dir");
        set_mode(Path::new("/run/sshd"), 0o755);
        let port = free_port();
        let config = dir.join("sshd_config");
        // StrictModes no: the files are the user's with owner-only modes, but they sit under
        // the world-writable /tmp, which StrictModes refuses whatever the files' own modes.
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
                 AuthorizedKeysFile {}\nUsePAM no\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin no\n\
                 StrictModes no\nAllowUsers {SSH_USER}\nSubsystem sftp internal-sftp\n\
                 ForceCommand internal-sftp\nLogLevel VERBOSE\nMaxStartups 200\n\
                 MaxAuthTries 6\n",
                host_key.display(),
                dir.join("sshd.pid").display(),
                authorized.display(),
            ),
        )
        .expect("sshd_config");
        let mut child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start /usr/sbin/sshd");
        let stderr = child.stderr.take().expect("sshd stderr");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // Reads the log to its end, so sshd never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.push_str(&line);
                log.push('\n');
                if line.contains("Server listening on") {
                    let _ = ready_tx.send(Ok(()));
                }
            }
            let _ = ready_tx.send(Err(log));
        });
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("sshd exited before it was ready:\n{log}"),
            Err(_) => panic!("sshd was not listening within 60 s"),
        }
        wait_for_banner(port);
        Sshd {
            port,
            host_key: fingerprint(&host_key.with_extension("pub")),
            host_key_pub: host_key.with_extension("pub"),
            client_key: std::fs::read_to_string(&client_key).expect("client key"),
            dir,
            child: Mutex::new(Some(child)),
        }
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

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects and reads the server's identification line ("SSH-2.0-OpenSSH_..."), within 60 s.
fn wait_for_banner(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut banner = [0u8; 8];
    loop {
        let read = TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            s.read_exact(&mut banner)
        });
        if read.is_ok() && banner.starts_with(b"SSH-2.0") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sshd on port {port} did not send its banner within 60 s"
        );
        // Between tries only: readiness is the banner read, not this pause.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh ed25519 key pair at `path` (and `path`.pub), encrypted with `passphrase` if any.
pub fn keygen(path: &Path, passphrase: &str) {
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "keyway-test",
            "-f",
        ])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fingerprint `ssh-keygen -lf` prints for a public key file ("256 SHA256:... comment
/// (ED25519)": its second word).
pub fn fingerprint(public_key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public_key)
        .output()
        .expect("run ssh-keygen -lf");
    assert!(out.status.success(), "ssh-keygen -lf failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_string()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// sshd's privilege separation user (the package makes it) and the login user with its
/// password, once per test binary; another binary may be doing the same at once.
fn ensure_users() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if !user_exists("sshd") {
            let _ = Command::new("useradd")
                .args(["--system", "--no-create-home", "--home-dir", "/run/sshd"])
                .args(["--shell", "/usr/sbin/nologin", "sshd"])
                .output();
            assert!(user_exists("sshd"), "could not create sshd's privsep user");
        }
        if !user_exists(SSH_USER) {
            // No home and no shell: the server gives this user SFTP only.
            let _ = Command::new("useradd")
                .args(["--no-create-home", "--shell", "/usr/sbin/nologin", SSH_USER])
                .output();
            assert!(
                user_exists(SSH_USER),
                "could not create the login user {SSH_USER}"
            );
        }
        // Another test binary setting the same password may hold /etc/shadow's lock: chpasswd
        // then says so and exits, and is asked again, for up to a minute.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut chpasswd = Command::new("chpasswd")
                .stdin(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("run chpasswd");
            use std::io::Write;
            chpasswd
                .stdin
                .take()
                .expect("chpasswd stdin")
                .write_all(format!("{SSH_USER}:{SSH_PASSWORD}\n").as_bytes())
                .expect("write chpasswd");
            if chpasswd.wait().expect("chpasswd").success() {
                break;
            }
            assert!(Instant::now() < deadline, "chpasswd kept failing");
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

fn unique_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "keyway-sshd-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
