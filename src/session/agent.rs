//! The session agent itself (`keyway session-agent`, started by `keyway unlock`): it reads its
//! key and token from stdin, listens on its socket, says "ready" on stdout, lets go of
//! stdin/stdout/stderr, and answers until it ends (module docs of `session`).

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use subtle::ConstantTimeEq;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

use super::{AgentStart, Request, Response};

/// A client gets this long to send its request; the agent serves one at a time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The key, on a heap page locked in memory where RLIMIT_MEMLOCK allows (so it is never
/// swapped out), unlocked and zeroed on drop.
struct LockedKey {
    key: Box<Zeroizing<[u8; 32]>>,
    locked: bool,
}

impl LockedKey {
    fn new(raw: [u8; 32]) -> LockedKey {
        let key = Box::new(Zeroizing::new(raw));
        let ptr = key.as_ptr() as *const libc::c_void;
        // SAFETY: mlock reads no memory; ptr and the length describe the boxed array.
        let locked = unsafe { libc::mlock(ptr, 32) } == 0;
        if !locked {
            tracing::debug!(
                "the key could not be locked in memory: {}",
                std::io::Error::last_os_error()
            );
        }
        LockedKey { key, locked }
    }
}

impl Drop for LockedKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut **self.key);
        if self.locked {
            // SAFETY: the same region mlock locked.
            unsafe { libc::munlock(self.key.as_ptr() as *const libc::c_void, 32) };
        }
    }
}

/// What a request did to the agent.
enum After {
    Continue,
    End,
}

/// Runs the agent; returns when it ends. Errors before "ready" go to the stdout pipe that
/// `keyway unlock` reads, as `error <sentence>`.
pub fn serve() -> Result<(), String> {
    let line = read_start_line().map_err(|e| format!("cannot read the agent's start: {e}"))?;
    let mut start: AgentStart = serde_json::from_slice(&line)
        .map_err(|_| "the agent's start is not keyway's protocol".to_string())?;
    drop(line);
    let decoded = Zeroizing::new(hex::decode(&start.key).unwrap_or_default());
    // The hex would otherwise stay in ordinary memory for the agent's whole life, beside the
    // locked page that is meant to be the key's only home.
    zeroize::Zeroize::zeroize(&mut start.key);
    let mut raw: [u8; 32] = decoded
        .as_slice()
        .try_into()
        .map_err(|_| "the agent's key is malformed".to_string())?;
    let key = LockedKey::new(raw);
    zeroize::Zeroize::zeroize(&mut raw);
    // A team vault's session: the member's identity, kept for the agent's life (age zeroizes
    // it on drop); its text is wiped at once.
    let identity = match start.identity.take() {
        None => None,
        Some(mut text) => {
            let parsed = text.parse::<age::x25519::Identity>();
            zeroize::Zeroize::zeroize(&mut text);
            Some(parsed.map_err(|_| "the agent's identity is malformed".to_string())?)
        }
    };

    // A socket left by an agent that was killed is replaced; `unlock` has ended a live one.
    let _ = std::fs::remove_file(&start.socket);
    let listener = std::os::unix::net::UnixListener::bind(&start.socket)
        .map_err(|e| format!("cannot listen on {}: {e}", start.socket.display()))?;
    std::fs::set_permissions(&start.socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot set the mode of {}: {e}", start.socket.display()))?;
    let inode = std::fs::metadata(&start.socket).map(|m| m.ino()).ok();
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot set up the socket: {e}"))?;

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready {}", std::process::id());
        let _ = out.flush();
    }
    detach();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the agent's runtime: {e}"))?;
    runtime.block_on(run(listener, &start, &key, identity.as_ref()));
    // Remove the socket only if it is still ours (a new agent may have replaced it).
    if std::fs::metadata(&start.socket).map(|m| m.ino()).ok() == inode {
        let _ = std::fs::remove_file(&start.socket);
    }
    Ok(())
}

/// The start line `keyway unlock` writes (it holds the data key), read from descriptor 0
/// without std's stdin, whose buffer of its own would keep a copy that nothing wipes. The
/// buffer is sized up front, so it never moves (and leaves a copy behind) while it fills.
fn read_start_line() -> std::io::Result<Zeroizing<Vec<u8>>> {
    use std::os::fd::FromRawFd;
    const MOST: usize = 8192;
    // SAFETY: descriptor 0 is open for the process's life; ManuallyDrop never closes it.
    let mut stdin = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
    let mut line = Zeroizing::new(Vec::with_capacity(MOST));
    let mut byte = Zeroizing::new([0u8; 1]);
    while line.len() < MOST {
        match stdin.read(&mut *byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(line)
}

/// Lets go of the terminal and of the pipes `unlock` gave: stdin, stdout and stderr become
/// /dev/null, so `eval "$(keyway unlock)"` returns, and the agent holds no folder busy.
fn detach() {
    let _ = std::env::set_current_dir("/");
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in [0, 1, 2] {
            // SAFETY: dup2 onto the standard descriptors, from a descriptor we hold open.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

async fn run(
    listener: std::os::unix::net::UnixListener,
    start: &AgentStart,
    key: &LockedKey,
    identity: Option<&age::x25519::Identity>,
) {
    let Ok(listener) = tokio::net::UnixListener::from_std(listener) else {
        return;
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(start.seconds);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    loop {
        let accepted = tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        // Only a process of this user, whatever the socket's mode says.
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == me => {}
            _ => continue,
        }
        let answered =
            tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, start, key, identity)).await;
        if let Ok(After::End) = answered {
            return;
        }
    }
}

/// A team vault's data key from the member's own slot in `slots` (hex), for an answer; the
/// agent ends when the member has no slot any more (it was removed).
fn own_slot(identity: &age::x25519::Identity, slots: &str) -> (Response, After) {
    let refused = |error: String, removed: bool| Response {
        ok: false,
        key: None,
        error: Some(error),
        removed,
    };
    let Ok(bytes) = hex::decode(slots) else {
        return (
            refused("the key slots sent are not hex".into(), false),
            After::Continue,
        );
    };
    match crate::vault::key_from_own_slot(&bytes, identity) {
        Ok(raw) => (
            Response {
                ok: true,
                key: Some(hex::encode(*raw)),
                error: None,
                removed: false,
            },
            After::Continue,
        ),
        Err(crate::vault::keyslot::SlotError::NotAMember) => (
            refused(
                "you were removed from the team vault: this session's identity has no key slot in it any more, so the session has ended".into(),
                true,
            ),
            After::End,
        ),
        Err(e) => (
            refused(format!("the team vault's key slots do not open: {e:?}"), false),
            After::Continue,
        ),
    }
}

async fn answer(
    stream: tokio::net::UnixStream,
    start: &AgentStart,
    key: &LockedKey,
    identity: Option<&age::x25519::Identity>,
) -> After {
    let (read, mut write) = stream.into_split();
    let mut line = Zeroizing::new(String::new());
    let mut reader = tokio::io::BufReader::new(read).take(super::MAX_REQUEST);
    if reader.read_line(&mut line).await.is_err() {
        return After::Continue;
    }
    let refuse = |error: &str| Response {
        ok: false,
        key: None,
        error: Some(error.to_string()),
        removed: false,
    };
    let (response, after) = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Lock) => (
            Response {
                ok: true,
                key: None,
                error: None,
                removed: false,
            },
            After::End,
        ),
        Ok(Request::Slot {
            token,
            vault_id,
            slots,
        }) => {
            let token_ok: bool = token.as_bytes().ct_eq(start.token.as_bytes()).into();
            match identity {
                _ if !token_ok => (refuse("wrong session token"), After::Continue),
                _ if vault_id != start.vault_id => {
                    (refuse("this session is for another vault"), After::Continue)
                }
                None => (
                    refuse("this session is for a file vault, not a team vault"),
                    After::Continue,
                ),
                Some(identity) => own_slot(identity, &slots),
            }
        }
        Ok(Request::Key {
            token,
            vault_id,
            header,
        }) => {
            let token_ok: bool = token.as_bytes().ct_eq(start.token.as_bytes()).into();
            if !token_ok {
                (refuse("wrong session token"), After::Continue)
            } else if vault_id != start.vault_id {
                (refuse("this session is for another vault"), After::Continue)
            } else if header != start.header {
                // The passphrase changed: this key will never be the vault's again.
                (
                    refuse("the vault's passphrase changed since this session began"),
                    After::End,
                )
            } else {
                (
                    Response {
                        ok: true,
                        key: Some(hex::encode(**key.key)),
                        error: None,
                        removed: false,
                    },
                    After::Continue,
                )
            }
        }
        Err(_) => (refuse("not keyway's protocol"), After::Continue),
    };
    let mut text = Zeroizing::new(serde_json::to_string(&response).unwrap_or_default());
    if let Some(k) = response.key {
        let mut k = k;
        zeroize::Zeroize::zeroize(&mut k);
    }
    text.push('\n');
    let _ = write.write_all(text.as_bytes()).await;
    after
}
