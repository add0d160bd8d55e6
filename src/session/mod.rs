//! Unlock once for a script: `keyway unlock` runs the KDF once and starts a small agent that
//! holds the vault's data key; commands that carry its token (`KEYWAY_SESSION`) get the key
//! from it and skip the KDF. The model is ssh-agent's and `bw unlock`'s:
//! - one agent per vault and user, listening on `agent-<vault id>.sock` (mode 0600) in
//!   `$XDG_RUNTIME_DIR/keyway/`, else in a folder of the user's own under the temp dir
//!   (`keyway-<uid>`, 0700; refused when it is anyone else's or open to others);
//! - the agent answers only a process of its own user (SO_PEERCRED) that presents the token,
//!   compared in constant time, and only for the header it unlocked: after `passwd` the key is
//!   refused as stale and the agent ends;
//! - it ends after its duration, on `keyway lock`, on `passwd`, when the TUI locks the vault,
//!   and on TERM;
//! - a team vault's agent holds the member's identity rather than a data key: it unwraps the
//!   key from the member's own slot in the key slots the client read, so the session follows
//!   another member's re-key, and ends (saying so) once its member was removed. Ending an agent needs no token: any process of the user may lock its vault.
//!
//! The agent is this binary again (`keyway session-agent`, hidden), started detached (its own
//! session, stdin/stdout/stderr on /dev/null once it is listening), and given the key over a
//! pipe, never in its arguments or environment.

mod agent;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::vault::SessionBinding;

pub use agent::serve;

/// The environment variable holding the session token.
pub const SESSION_VAR: &str = "KEYWAY_SESSION";

/// How long a client waits for its agent: it is local, so anything longer is an agent gone
/// wrong, and the command goes on with the passphrase.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a session could not be used (the command then asks for the passphrase).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no session agent is running for this vault (it ended, or was never started here)")]
    NoAgent,
    #[error("the session agent refused: {0}")]
    Refused(String),
    #[error("the session folder {path} {reason}")]
    UnsafeFolder { path: String, reason: String },
    #[error("cannot reach the session agent: {0}")]
    Io(#[from] std::io::Error),
    /// The session's member has no slot in the team vault any more: the agent ended.
    #[error("the session agent says: {0}")]
    Removed(String),
}

/// The most a request to the agent may hold: a team vault's key slots (about 1 KB a member).
pub(crate) const MAX_REQUEST: u64 = 1024 * 1024;

/// One request to an agent: a line of JSON.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    /// The data key, for a client holding the token and the vault's current header.
    Key {
        token: String,
        vault_id: String,
        header: String,
    },
    /// A team vault's data key, unwrapped by the agent's member identity from its own slot in
    /// `slots` (hex of the key-slot record as the client read it).
    Slot {
        token: String,
        vault_id: String,
        slots: String,
    },
    /// End the agent.
    Lock,
}

/// An agent's answer: a line of JSON.
#[derive(Serialize, Deserialize)]
struct Response {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The agent's member was removed from the team vault (the agent has ended).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    removed: bool,
}

/// What `keyway unlock` hands the agent over its stdin.
#[derive(Serialize, Deserialize)]
pub struct AgentStart {
    pub socket: PathBuf,
    pub vault_id: String,
    /// Hex of the header digest and of the data key.
    pub header: String,
    pub key: String,
    pub token: String,
    pub seconds: u64,
    /// A team vault's session: the member's identity (`AGE-SECRET-KEY-1...`), which unwraps
    /// the data key from the member's own slot, whatever re-key came since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

impl Drop for AgentStart {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
        zeroize::Zeroize::zeroize(&mut self.token);
        if let Some(identity) = self.identity.as_mut() {
            zeroize::Zeroize::zeroize(identity);
        }
    }
}

/// The folder of this user's agent sockets, created (0700) if missing and checked: it must be
/// a real folder of this user's that no one else can enter.
pub fn socket_dir() -> Result<PathBuf, SessionError> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(runtime) => PathBuf::from(runtime).join("keyway"),
        None => std::env::temp_dir().join(format!("keyway-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(SessionError::Io(e)),
    }
    let unsafe_folder = |reason: &str| SessionError::UnsafeFolder {
        path: dir.display().to_string(),
        reason: reason.to_string(),
    };
    // symlink_metadata: a link planted where the folder should be is refused, not followed.
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() {
        return Err(unsafe_folder("is not a folder"));
    }
    if meta.uid() != uid {
        return Err(unsafe_folder(&format!(
            "belongs to another user (uid {}); keyway keeps its session sockets only in a folder of yours",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(unsafe_folder(&format!(
            "can be entered by other users (mode {:o}); run chmod 700 on it",
            meta.mode() & 0o777
        )));
    }
    Ok(dir)
}

/// Where the agent of the vault `vault_id` listens.
pub fn socket_path(vault_id: &str) -> Result<PathBuf, SessionError> {
    Ok(socket_dir()?.join(format!("agent-{vault_id}.sock")))
}

/// A new session token: 256 random bits.
pub fn new_token() -> String {
    format!(
        "kws_{}",
        hex::encode(crate::vault::crypto::random_bytes::<32>())
    )
}

fn exchange(socket: &Path, request: &Request) -> Result<Response, SessionError> {
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(SessionError::NoAgent)
        }
        Err(e) => return Err(SessionError::Io(e)),
    };
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = Zeroizing::new(serde_json::to_string(request).unwrap_or_default());
    line.push('\n');
    (&stream).write_all(line.as_bytes())?;
    let mut answer = Zeroizing::new(String::new());
    BufReader::new(&stream).take(4096).read_line(&mut answer)?;
    if answer.is_empty() {
        return Err(SessionError::Refused(
            "it closed the connection (this process is not of its user)".into(),
        ));
    }
    serde_json::from_str(&answer)
        .map_err(|_| SessionError::Refused("its answer is not keyway's protocol".into()))
}

/// The data key of the vault bound by `binding`, from its agent, for `token`.
pub fn fetch_key(
    binding: &SessionBinding,
    token: &str,
) -> Result<Zeroizing<[u8; 32]>, SessionError> {
    let socket = socket_path(&binding.vault_id)?;
    let request = match &binding.slots {
        Some(slots) => Request::Slot {
            token: token.to_string(),
            vault_id: binding.vault_id.clone(),
            slots: hex::encode(slots),
        },
        None => Request::Key {
            token: token.to_string(),
            vault_id: binding.vault_id.clone(),
            header: hex::encode(binding.header),
        },
    };
    let answer = exchange(&socket, &request)?;
    if answer.removed {
        return Err(SessionError::Removed(
            answer
                .error
                .unwrap_or_else(|| "its member was removed".into()),
        ));
    }
    if !answer.ok {
        return Err(SessionError::Refused(
            answer.error.unwrap_or_else(|| "no reason given".into()),
        ));
    }
    let hex_key = Zeroizing::new(answer.key.unwrap_or_default());
    let bytes = Zeroizing::new(hex::decode(hex_key.as_str()).unwrap_or_default());
    let raw: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SessionError::Refused("its key is malformed".into()))?;
    Ok(Zeroizing::new(raw))
}

/// Ends the agent of the vault `vault_id`, if one runs; says whether one did.
pub fn end_agent(vault_id: &str) -> Result<bool, SessionError> {
    let socket = socket_path(vault_id)?;
    match exchange(&socket, &Request::Lock) {
        Ok(_) => Ok(true),
        Err(SessionError::NoAgent) => {
            // A socket left by an agent that was killed: nothing listens on it.
            let _ = std::fs::remove_file(&socket);
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Ends the agent of the vault at `path` (its header names it), if one runs: what `passwd`
/// and the TUI's lock do. Failures are only logged: the caller's own work is done.
pub fn end_agent_of(path: &Path) {
    match crate::vault::session_binding(path, &crate::vault::Options::default())
        .map(|b| end_agent(&b.vault_id))
    {
        Ok(Ok(true)) => tracing::debug!("session agent ended"),
        Ok(Ok(false)) => {}
        Ok(Err(e)) => tracing::warn!("could not end the session agent: {e}"),
        Err(e) => tracing::debug!("no vault header to end a session agent for: {e}"),
    }
}

/// The mode of a socket file (for `keyway unlock`'s check and the tests).
pub fn mode_of(path: &Path) -> std::io::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}
