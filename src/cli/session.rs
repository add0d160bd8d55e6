//! `keyway unlock` and `keyway lock`: a session for scripts (see `crate::session`).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::context::Context;
use super::error::CliError;
use crate::session::{self, AgentStart};

/// The longest session `unlock` starts: a working day, not a standing key.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

pub fn unlock(ctx: &Context, duration: &str) -> Result<(), CliError> {
    let length = humantime::parse_duration(duration).map_err(|e| {
        CliError::Usage(format!(
            "--for '{duration}' is not a duration such as 15m, 1h or 90s ({e})"
        ))
    })?;
    if length.is_zero() || length > LONGEST {
        return Err(CliError::Usage(format!(
            "--for must be more than nothing and at most {}",
            humantime::format_duration(LONGEST)
        )));
    }
    // Always with the passphrase: a session is never extended by another session.
    let store = ctx.open_store_by_passphrase()?;
    let key = zeroize::Zeroizing::new(*store.vault().data_key().raw());
    let binding = store.vault().session_binding();
    // A team vault's agent holds the member's identity, to follow a re-key (session/mod.rs).
    let identity = store.vault().member_identity().map(|identity| {
        use secrecy::ExposeSecret;
        identity.to_string().expose_secret().to_string()
    });
    drop(store);
    let socket = session::socket_path(&binding.vault_id).map_err(session_error)?;
    // One agent per vault: a new unlock replaces the old one.
    session::end_agent(&binding.vault_id).map_err(session_error)?;
    let token = session::new_token();
    let start = AgentStart {
        socket: socket.clone(),
        vault_id: binding.vault_id.clone(),
        header: hex::encode(binding.header),
        key: hex::encode(*key),
        token: token.clone(),
        seconds: length.as_secs().max(1),
        identity,
    };
    drop(key);
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Refused(format!("cannot find keyway's own program: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("session-agent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in [
        "KEYWAY_PASSPHRASE",
        "KEYWAY_NEW_PASSPHRASE",
        "KEYWAY_EXPORT_PASSPHRASE",
        session::SESSION_VAR,
    ] {
        cmd.env_remove(var);
    }
    // SAFETY: setsid is async-signal-safe and touches nothing but the child's own process.
    unsafe {
        cmd.pre_exec(|| {
            // Its own session: no terminal whose hang-up or Ctrl-C would end it.
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| CliError::Refused(format!("cannot start the session agent: {e}")))?;
    {
        let mut line = zeroize::Zeroizing::new(serde_json::to_string(&start).unwrap_or_default());
        line.push('\n');
        drop(start);
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| CliError::Refused("cannot talk to the session agent".into()))?;
        stdin
            .write_all(line.as_bytes())
            .map_err(|e| CliError::Refused(format!("cannot start the session agent: {e}")))?;
    }
    let mut ready = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).take(4096).read_line(&mut ready);
    }
    let Some(pid) = ready.trim().strip_prefix("ready ") else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(CliError::Refused(format!(
            "the session agent did not start{}",
            match ready.trim() {
                "" => String::new(),
                why => format!(": {why}"),
            }
        )));
    };
    let mode = session::mode_of(&socket).unwrap_or(0);
    if mode != 0o600 {
        let _ = session::end_agent(&binding.vault_id);
        return Err(CliError::Refused(format!(
            "the session socket {} has mode {mode:o}, not 600; the session was ended",
            socket.display()
        )));
    }
    // The agent is in a session of its own; it is not waited for.
    drop(child);
    say!("export {}={token}", session::SESSION_VAR)?;
    note!(
        "keyway: session for {} for {} (agent pid {pid}); `keyway lock` ends it",
        ctx.vault_path.display(),
        humantime::format_duration(length)
    );
    Ok(())
}

pub fn lock(ctx: &Context) -> Result<(), CliError> {
    let binding = crate::vault::session_binding(&ctx.vault_path, &ctx.vault_options())?;
    if session::end_agent(&binding.vault_id).map_err(session_error)? {
        done!("Ended the session of {}", ctx.vault_path.display())?;
    } else {
        say!("No session was running for {}", ctx.vault_path.display())?;
    }
    Ok(())
}

fn session_error(e: session::SessionError) -> CliError {
    CliError::Refused(e.to_string())
}
