//! SFTP / SSH verification (russh): connect, check the server's host key against the
//! credential's `host_key` fingerprint, authenticate with the password or the private key, open
//! the "sftp" subsystem on a session channel, close.
//!
//! The host key is checked before anything secret is sent. A credential without a fingerprint
//! is never authenticated on trust: the check stops at the host key and hands the server's
//! fingerprint back (`Finding::host_key_to_confirm`); the save decision (`core::save`) then
//! asks the user to confirm it (trust on first use, never silently). A fingerprint that
//! differs is rejected as "host key changed", loudly. SSH has no redirects to refuse.

use std::sync::{Arc, Mutex};

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use zeroize::Zeroizing;

use super::budget::{connect_tcp, ReadBudget};
use super::failure::NetFailure;
use super::safety;
use super::{Finding, Limits};
use crate::core::schema::is_ssh_fingerprint;
use crate::core::{Credential, TlsState};

/// The most keyway reads from an SSH server in one verification: a key exchange, a few
/// authentication answers and a channel confirmation are a few KiB; a hostile server must not
/// make the client buffer without end.
const READ_BUDGET: usize = 256 * 1024;

/// The most bcrypt rounds keyway spends opening an OpenSSH private key. ssh-keygen writes 16
/// (`-a` sets more; guides suggest 64 to 100); the key file states its own count as a u32, so
/// a crafted key could ask for 2^32 rounds, hours of CPU.
pub const MAX_KEY_KDF_ROUNDS: u32 = 1024;

/// How the credential logs in.
enum Login<'a> {
    Password(&'a str),
    Key {
        pem: &'a str,
        passphrase: Option<&'a str>,
    },
}

struct Target<'a> {
    host: &'a str,
    port: u16,
    user: &'a str,
    login: Login<'a>,
    /// The pinned fingerprint (`SHA256:...`), if the credential has one.
    host_key: Option<&'a str>,
}

impl Target<'_> {
    fn where_(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn how(&self) -> &'static str {
        match self.login {
            Login::Password(_) => "password",
            Login::Key { .. } => "private key",
        }
    }
}

fn target(credential: &Credential) -> Result<Target<'_>, Finding> {
    let host = safety::host(credential)?;
    let login = match (
        safety::optional(credential, "private_key"),
        safety::optional(credential, "password"),
    ) {
        (Some(pem), _) => Login::Key {
            pem,
            passphrase: safety::optional(credential, "private_key_passphrase"),
        },
        (None, Some(password)) => Login::Password(password),
        (None, None) => {
            return Err(Finding::misconfigured(
                "Give a password or a private key: both are empty.".into(),
            ))
        }
    };
    let host_key = safety::optional(credential, "host_key");
    if host_key.is_some_and(|pin| !is_ssh_fingerprint(pin)) {
        return Err(Finding::misconfigured(
            "The field 'host_key' must be a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:...)."
                .into(),
        ));
    }
    Ok(Target {
        host,
        port: safety::port(credential, 22)?,
        user: safety::required(credential, "user")?,
        login,
        host_key,
    })
}

/// russh's callback: accepts the host key only when it is the pinned one, and notes the
/// fingerprint it saw either way.
struct Pinning {
    pin: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Pinning {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            // A host certificate is checked by its key's fingerprint as well: the CA that
            // signed it is not something the credential names.
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256)
            }
        }
        .to_string();
        let accepted = self.pin.as_deref() == Some(fingerprint.as_str());
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint);
        }
        Ok(accepted)
    }
}

pub(crate) async fn verify_sftp(limits: Limits, credential: &Credential) -> Finding {
    let t = match target(credential) {
        Ok(t) => t,
        Err(f) => return f,
    };
    // The key is opened before connecting: a key that cannot be read, or a wrong passphrase,
    // is the credential's problem, and no server needs to be asked about it.
    let key = match &t.login {
        Login::Key { pem, passphrase } => match open_private_key(pem, *passphrase).await {
            Ok(key) => Some(Arc::new(key)),
            Err(f) => return f,
        },
        Login::Password(_) => None,
    };
    let where_ = t.where_();
    let tcp = match connect_tcp(t.host, t.port, &where_, limits).await {
        Ok(tcp) => tcp,
        Err(f) => return f,
    };
    let seen = Arc::new(Mutex::new(None));
    let handler = Pinning {
        pin: t.host_key.map(str::to_string),
        seen: seen.clone(),
    };
    let config = Arc::new(client::Config {
        inactivity_timeout: Some(limits.deadline),
        ..client::Config::default()
    });
    let session = client::connect_stream(config, ReadBudget::new(tcp, READ_BUDGET), handler).await;
    let server_key = seen.lock().ok().and_then(|s| s.clone());
    let mut session = match session {
        Ok(session) => session,
        Err(russh::Error::UnknownKey) => return host_key_finding(&t, server_key),
        Err(e) => return transport_failure(&e, &where_, limits),
    };
    let result = authenticate_and_open_sftp(&mut session, &t, key).await;
    // The answer is in: a failed goodbye changes nothing about the credential.
    let _ = session
        .disconnect(Disconnect::ByApplication, "keyway verification done", "en")
        .await;
    let fingerprint = server_key.unwrap_or_default();
    match result {
        Ok(()) => Finding::verified(
            format!(
                "Logged in to {where_} as '{}' ({}) and opened SFTP; host key {fingerprint} as pinned.",
                t.user,
                t.how()
            ),
            Some("SFTP".to_string()),
        ),
        Err(f) => f,
    }
    // The session is encrypted and the server proved the pinned host key: that is SSH's
    // equivalent of a checked certificate.
    .over(TlsState::Verified)
}

/// Decodes (and decrypts) the OpenSSH or PEM private key with russh's own reader. bcrypt's
/// key derivation is deliberately slow, so it runs off the async threads: on a thread of its
/// own rather than tokio's blocking pool, because a runtime waits for its blocking tasks when
/// it is dropped, and a key that takes long to open must not hold a command past its deadline.
async fn open_private_key(pem: &str, passphrase: Option<&str>) -> Result<PrivateKey, Finding> {
    if let Some(rounds) = openssh_kdf_rounds(pem) {
        if rounds > MAX_KEY_KDF_ROUNDS {
            return Err(Finding::misconfigured(format!(
                "The private key asks for {rounds} bcrypt rounds to open it; keyway spends at most {MAX_KEY_KDF_ROUNDS} (ssh-keygen writes 16; re-encrypt it with ssh-keygen -p -a 100). Nothing was sent to the server."
            )));
        }
    }
    let pem = Zeroizing::new(pem.to_string());
    let passphrase = passphrase.map(|p| Zeroizing::new(p.to_string()));
    let given = passphrase.is_some();
    let decoded = off_the_runtime(move || {
        let opened =
            russh::keys::decode_secret_key(&pem, passphrase.as_deref().map(|p| p.as_str()));
        // Tells a wrong passphrase from a key that cannot be read at all: an encrypted key
        // read without one says it is encrypted.
        let encrypted = opened.is_err()
            && matches!(
                russh::keys::decode_secret_key(&pem, None),
                Err(russh::keys::Error::KeyIsEncrypted)
            );
        (opened, encrypted)
    })
    .await;
    match decoded {
        Ok((Ok(key), _)) => Ok(key),
        Ok((Err(_), true)) if given => Err(Finding::rejected(
            "The private_key_passphrase does not open the private key: the passphrase is wrong. Nothing was sent to the server."
                .into(),
        )),
        Ok((Err(_), true)) => Err(Finding::misconfigured(
            "The private key is encrypted: set private_key_passphrase.".into(),
        )),
        Ok((Err(_), false)) => Err(Finding::misconfigured(
            "The field 'private_key' is not an SSH private key keyway can read (OpenSSH or PEM format)."
                .into(),
        )),
        Err(_) => Err(Finding::misconfigured(
            "The private key could not be read (its decoder stopped).".into(),
        )),
    }
}

/// The bcrypt rounds an encrypted OpenSSH private key states (read with ssh-key, which russh
/// uses, without decrypting anything); None for any other key.
fn openssh_kdf_rounds(pem: &str) -> Option<u32> {
    let key = russh::keys::ssh_key::PrivateKey::from_openssh(pem.trim()).ok()?;
    match key.kdf() {
        russh::keys::ssh_key::Kdf::Bcrypt { rounds, .. } => Some(*rounds),
        _ => None,
    }
}

/// Runs `work` on a thread of its own and awaits its answer; the caller's deadline still
/// answers if it takes too long, and nothing then waits for the thread.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::sync::oneshot::error::RecvError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.await
}

/// The host key was not the pinned one, or there was no pin.
fn host_key_finding(t: &Target<'_>, server_key: Option<String>) -> Finding {
    let where_ = t.where_();
    let Some(server_key) = server_key else {
        return Finding::unreachable(format!(
            "{where_} ended the SSH handshake before showing its host key."
        ));
    };
    match t.host_key {
        None => Finding {
            host_key_to_confirm: Some(server_key.clone()),
            ..Finding::misconfigured(format!(
                "The SSH server at {where_} presents the host key {server_key}, and the credential pins none yet; nothing was sent. Check that it is the server's (ssh-keygen -lf on the server's host key) before trusting it."
            ))
        },
        Some(pinned) => Finding::rejected(format!(
            "Host key changed! The credential pins {pinned} for {where_}, but the server presents {server_key}: someone may be in the middle, or the server was reinstalled. Nothing was sent. Only if you know the change is genuine, set host_key to the new fingerprint."
        )),
    }
}

async fn authenticate_and_open_sftp(
    session: &mut Handle<Pinning>,
    t: &Target<'_>,
    key: Option<Arc<PrivateKey>>,
) -> Result<(), Finding> {
    let where_ = t.where_();
    let lost = |e: russh::Error| {
        Finding::unreachable(format!(
            "{where_} ended the SSH session while keyway logged in ({}).",
            ssh_error_words(&e)
        ))
    };
    let auth = match (&t.login, key) {
        (Login::Key { .. }, Some(key)) => {
            // RSA keys sign with the best hash the server offers (rsa-sha2-512/256).
            let hash = session
                .best_supported_rsa_hash()
                .await
                .map_err(lost)?
                .flatten();
            session
                .authenticate_publickey(t.user, PrivateKeyWithHashAlg::new(key, hash))
                .await
                .map_err(lost)?
        }
        (Login::Password(password), _) => session
            .authenticate_password(t.user, *password)
            .await
            .map_err(lost)?,
        (Login::Key { .. }, None) => {
            return Err(Finding::misconfigured(
                "The private key could not be read.".into(),
            ))
        }
    };
    if !auth.success() {
        return Err(Finding::rejected(match t.login {
            Login::Password(_) => format!(
                "The SSH server at {where_} rejected the password for user '{}'.",
                t.user
            ),
            Login::Key { .. } => format!(
                "The SSH server at {where_} did not accept the private key for user '{}'.",
                t.user
            ),
        }));
    }
    let channel = session.channel_open_session().await.map_err(|e| {
        Finding::rejected(format!(
            "Logged in to {where_} as '{}', but the server refused a session channel ({}).",
            t.user,
            ssh_error_words(&e)
        ))
    })?;
    let mut channel = channel;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(lost)?;
    let answer = loop {
        match channel.wait().await {
            Some(ChannelMsg::Success) => break Ok(()),
            Some(ChannelMsg::Failure) | Some(ChannelMsg::Close) | Some(ChannelMsg::Eof) | None => {
                break Err(Finding::rejected(format!(
                    "Logged in to {where_} as '{}', but the server does not offer SFTP to this user.",
                    t.user
                )))
            }
            // Window adjustments and the like: not the answer yet.
            Some(_) => continue,
        }
    };
    let _ = channel.close().await;
    answer
}

/// A failure before the host key was shown or accepted: the network, or a server that does not
/// speak SSH.
fn transport_failure(e: &russh::Error, where_: &str, limits: Limits) -> Finding {
    match e {
        russh::Error::IO(io) if super::budget::spent(io) => Finding::unreachable(format!(
            "{where_} sent more than a verification needs ({} KiB) without finishing the SSH handshake: keyway stopped reading (a hostile or broken server).",
            READ_BUDGET / 1024
        )),
        russh::Error::IO(io) => {
            NetFailure::from_chain(io).finding(where_, limits.connect_timeout.as_secs())
        }
        russh::Error::NoCommonAlgo { .. } | russh::Error::UnknownAlgo => {
            Finding::misconfigured(format!(
                "The SSH server at {where_} offers no key exchange, cipher or host key type keyway supports."
            ))
        }
        _ => Finding::unreachable(format!(
            "{where_} did not complete an SSH handshake ({}).",
            ssh_error_words(e)
        )),
    }
}

/// A few words for a russh error: its own fixed wording, never anything the server sent.
fn ssh_error_words(e: &russh::Error) -> &'static str {
    match e {
        russh::Error::Version => "not an SSH server",
        russh::Error::Disconnect | russh::Error::HUP => "connection closed",
        russh::Error::ConnectionTimeout | russh::Error::InactivityTimeout => "timed out",
        russh::Error::WrongServerSig => "the host key's signature did not verify",
        russh::Error::ChannelOpenFailure(_) => "channel refused",
        russh::Error::PacketSize(_) => "a packet too large",
        russh::Error::IO(_) => "connection lost",
        _ => "protocol error",
    }
}
