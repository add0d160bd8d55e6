//! SFTP / SSH verification against a real OpenSSH server on 127.0.0.1 (see
//! tests/support/sshd.rs): the host key pinned, changed or not yet known; password and
//! encrypted-key logins; SFTP opened; unreachable, silent and hostile servers.

use std::time::{Duration, Instant};

use crate::support::pg::free_port;
use crate::support::sshd::{self, Sshd, KEY_PASSPHRASE, SSH_PASSWORD, SSH_USER};
use crate::support::{assert_no_secret, builtin, credential, verifier, NOW};
use keyway::core::{Credential, Status};
use keyway::verify::Outcome;

fn sftp(port: u16, host_key: Option<&str>, secrets: &[(&str, &str)]) -> Credential {
    let port = port.to_string();
    let mut public = vec![
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("user", SSH_USER),
    ];
    if let Some(pin) = host_key {
        public.push(("host_key", pin));
    }
    credential("sftp", &public, secrets)
}

async fn check(c: &Credential) -> Outcome {
    verifier(5, 30).verify(&builtin("sftp"), c, NOW).await
}

#[tokio::test]
async fn a_password_login_with_the_pinned_host_key_opens_sftp() {
    let server = Sshd::shared();
    let o = check(&sftp(
        server.port,
        Some(&server.host_key),
        &[("password", SSH_PASSWORD)],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("opened SFTP"), "{}", o.reason);
    assert!(o.reason.contains(&server.host_key), "{}", o.reason);
    assert_eq!(o.host_key_to_confirm, None);
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_wrong_password_is_rejected() {
    let server = Sshd::shared();
    let o = check(&sftp(
        server.port,
        Some(&server.host_key),
        &[("password", "pw_SENTINEL_wrong")],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("rejected the password"), "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn an_encrypted_private_key_logs_in_with_its_passphrase() {
    let server = Sshd::shared();
    let pin = Some(server.host_key.as_str());
    let key = server.client_key.as_str();
    assert!(
        key.contains("BEGIN OPENSSH PRIVATE KEY"),
        "ssh-keygen's format"
    );
    let o = check(&sftp(
        server.port,
        pin,
        &[
            ("private_key", key),
            ("private_key_passphrase", KEY_PASSPHRASE),
        ],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert!(o.reason.contains("private key"), "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn an_encrypted_key_without_its_passphrase_or_with_a_wrong_one_sends_nothing() {
    let server = Sshd::shared();
    let pin = Some(server.host_key.as_str());
    let key = server.client_key.as_str();
    let o = check(&sftp(server.port, pin, &[("private_key", key)])).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason.contains("set private_key_passphrase"),
        "{}",
        o.reason
    );
    let o = check(&sftp(
        server.port,
        pin,
        &[
            ("private_key", key),
            ("private_key_passphrase", "pp_SENTINEL_not_it"),
        ],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.contains("passphrase is wrong"), "{}", o.reason);
    assert!(o.reason.contains("Nothing was sent"), "{}", o.reason);
    assert_eq!(o.tls, None, "no connection was made");
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_rejected() {
    let server = Sshd::shared();
    let dir = tempfile::tempdir().unwrap();
    let stranger = dir.path().join("stranger");
    sshd::keygen(&stranger, "");
    let key = std::fs::read_to_string(&stranger).unwrap();
    let o = check(&sftp(
        server.port,
        Some(&server.host_key),
        &[("private_key", &key)],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("did not accept the private key"),
        "{}",
        o.reason
    );
}

#[tokio::test]
async fn a_changed_host_key_is_rejected_loudly_before_anything_is_sent() {
    let server = Sshd::shared();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other_host");
    sshd::keygen(&other, "");
    let pinned = sshd::fingerprint(&other.with_extension("pub"));
    let o = check(&sftp(
        server.port,
        Some(&pinned),
        &[("password", SSH_PASSWORD)],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(o.reason.starts_with("Host key changed!"), "{}", o.reason);
    assert!(
        o.reason.contains(&pinned) && o.reason.contains(&server.host_key),
        "{}",
        o.reason
    );
    assert!(o.reason.contains("Nothing was sent"), "{}", o.reason);
    assert_eq!(
        o.host_key_to_confirm, None,
        "a changed key is not offered for trust"
    );
    assert_no_secret(&o);
}

#[tokio::test]
async fn no_pinned_host_key_shows_the_one_ssh_keygen_prints_and_sends_nothing() {
    let server = Sshd::shared();
    let o = check(&sftp(server.port, None, &[("password", SSH_PASSWORD)])).await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    // `ssh-keygen -lf` on the server's public host key, run here, not a stored value.
    let printed = sshd::fingerprint(&server.host_key_pub);
    assert!(printed.starts_with("SHA256:"), "{printed}");
    assert_eq!(o.host_key_to_confirm.as_deref(), Some(printed.as_str()));
    assert!(o.reason.contains(&printed), "{}", o.reason);
    assert!(o.reason.contains("nothing was sent"), "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let o = check(&sftp(free_port(), None, &[("password", SSH_PASSWORD)])).await;
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("refused"), "{}", o.reason);
}

#[tokio::test]
async fn silent_server_is_unreachable_within_deadline_plus_one_second() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let deadline = 2;
    let started = Instant::now();
    let o = verifier(1, deadline)
        .verify(
            &builtin("sftp"),
            &sftp(port, None, &[("password", SSH_PASSWORD)]),
            NOW,
        )
        .await;
    let took = started.elapsed();
    held.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(o.reason.contains("deadline"), "{}", o.reason);
    assert!(took <= Duration::from_secs(deadline + 1), "took {took:?}");
}

#[tokio::test]
async fn a_server_that_is_not_ssh_is_unreachable() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let o = check(&sftp(port, None, &[("password", "pw_SENTINEL_x")])).await;
    served.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert_no_secret(&o);
}

#[tokio::test]
async fn a_hostile_server_that_streams_without_end_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // A banner, then well-formed SSH_MSG_IGNORE packets without end where the key
                // exchange should be: each one a client must read and skip (RFC 4253 11.2),
                // so only a read budget stops them before the deadline does.
                let _ = socket.write_all(b"SSH-2.0-hostile\r\n").await;
                let data = vec![b'x'; 1000];
                let payload_len = 1 + 4 + data.len(); // type, string length, data
                let padding = 8 - (4 + 1 + payload_len) % 8;
                let padding = if padding < 4 { padding + 8 } else { padding };
                let mut packet = Vec::new();
                packet.extend_from_slice(&((1 + payload_len + padding) as u32).to_be_bytes());
                packet.push(padding as u8);
                packet.push(2); // SSH_MSG_IGNORE
                packet.extend_from_slice(&(data.len() as u32).to_be_bytes());
                packet.extend_from_slice(&data);
                packet.extend(std::iter::repeat_n(0u8, padding));
                let chunk = packet.repeat(64);
                while socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    let o = check(&sftp(port, None, &[("password", "pw_SENTINEL_hostile")])).await;
    served.abort();
    assert_eq!(o.status, Status::Unreachable, "{}", o.reason);
    assert!(
        !o.reason.contains("deadline"),
        "cut off, not timed out: {}",
        o.reason
    );
    assert!(
        o.reason.contains("more than a verification needs"),
        "{}",
        o.reason
    );
    assert_no_secret(&o);
}

/// An OpenSSH private key file with its bcrypt rounds rewritten: the envelope is
/// "openssh-key-v1\0", string cipher, string kdf name, string kdf options (string salt,
/// uint32 rounds), ...; the rounds are the four bytes after the salt.
fn with_kdf_rounds(pem: &str, rounds: u32) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let mut bytes = b64.decode(body).unwrap();
    let u32_at = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let mut at = b"openssh-key-v1\0".len();
    for _ in 0..2 {
        at += 4 + u32_at(&bytes, at) as usize; // cipher name, kdf name
    }
    at += 4; // the kdf options' length
    at += 4 + u32_at(&bytes, at) as usize; // the salt
    assert_eq!(
        u32_at(&bytes, at),
        16,
        "ssh-keygen's default rounds where expected"
    );
    bytes[at..at + 4].copy_from_slice(&rounds.to_be_bytes());
    let encoded = b64.encode(&bytes);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn a_key_asking_for_endless_bcrypt_rounds_is_refused_before_any_work() {
    let server = Sshd::shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted");
    sshd::keygen(&path, "pp_SENTINEL_rounds");
    let crafted = with_kdf_rounds(&std::fs::read_to_string(&path).unwrap(), u32::MAX);
    // Without the cap this would spend hours of CPU (then the deadline answers, but the
    // command's runtime waits for it at exit).
    let o = check(&sftp(
        server.port,
        Some(&server.host_key),
        &[
            ("private_key", &crafted),
            ("private_key_passphrase", "pp_SENTINEL_rounds"),
        ],
    ))
    .await;
    assert_eq!(o.status, Status::Misconfigured, "{}", o.reason);
    assert!(
        o.reason.contains(&format!("{} bcrypt rounds", u32::MAX)),
        "{}",
        o.reason
    );
    assert!(o.reason.contains("Nothing was sent"), "{}", o.reason);
    assert_eq!(o.tls, None, "no connection was made");
    assert_no_secret(&o);
    // The same key at a sane count opens and logs in? It is not authorized on the server, so
    // it gets as far as being refused there: the cap is what stopped the crafted one.
    let sane = with_kdf_rounds(&std::fs::read_to_string(&path).unwrap(), 16);
    let o = check(&sftp(
        server.port,
        Some(&server.host_key),
        &[
            ("private_key", &sane),
            ("private_key_passphrase", "pp_SENTINEL_rounds"),
        ],
    ))
    .await;
    assert_eq!(o.status, Status::Rejected, "{}", o.reason);
    assert!(
        o.reason.contains("did not accept the private key"),
        "{}",
        o.reason
    );
}

/// The TUI's fields are one line: a key pasted there arrives with its line breaks dropped, and
/// is stored in core::pem's canonical form (the one rule the CLI and the TUI save through).
/// That stored value must be a key russh opens and the server takes.
#[tokio::test]
async fn a_key_pasted_on_one_line_as_the_tui_leaves_it_still_logs_in() {
    use keyway::core::pem::{normalise, PemKind};
    let server = Sshd::shared();
    let one_line: String = server
        .client_key
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    assert!(!one_line.contains('\n'));
    let stored = normalise(PemKind::SshPrivateKey, &one_line).expect("a key keyway reads");
    let o = check(&sftp(
        server.port,
        Some(&server.host_key),
        &[
            ("private_key", &stored),
            ("private_key_passphrase", KEY_PASSPHRASE),
        ],
    ))
    .await;
    assert_eq!(o.status, Status::Verified, "{}", o.reason);
    assert_no_secret(&o);
}
