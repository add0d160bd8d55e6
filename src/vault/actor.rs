//! Who a process writes as: the `changed_by` of every record it writes, so that a conflict can
//! say who changed a record since it was read, and from which host.

use std::ffi::CStr;

/// Names the writer instead of `user@host` (a shared login, a container whose host name says
/// nothing, a test); also the default name of a team vault's first member.
pub const WRITER_VAR: &str = "KEYWAY_MEMBER";

/// `user@host (via)`, e.g. `alice@ops1 (keyway credential edit)` or `alice@ops1 (tui)`.
/// An unusable `KEYWAY_MEMBER` is refused by the faces before anything is written
/// (`writer_name`); here it falls back to `user@host`.
pub fn changed_by(via: &str) -> String {
    let writer = writer_name().unwrap_or_else(|_| default_writer());
    format!("{writer} ({via})")
}

/// The name this process's changes carry: `KEYWAY_MEMBER` if set, else `user@host`. A
/// `KEYWAY_MEMBER` with no `@` names the user only and keeps this host (`alice` writes as
/// `alice@ops-1`), so a conflict still says which host the change came from. An
/// unusable `KEYWAY_MEMBER` is an error saying why: its parentheses or comma would be read as
/// the parts of a `changed_by` (see `core::Author`).
pub fn writer_name() -> Result<String, String> {
    let Some(value) = std::env::var_os(WRITER_VAR) else {
        return Ok(default_writer());
    };
    let value = value
        .into_string()
        .map_err(|_| format!("{WRITER_VAR} is not UTF-8"))?;
    crate::core::names::check_name(WRITER_VAR, &value).map_err(|why| {
        format!("{why} ({WRITER_VAR} names who your changes are by, e.g. alice@ops-1)")
    })?;
    if let Some(c) = value.chars().find(|c| matches!(c, ',' | '(' | ')')) {
        return Err(format!(
            "{WRITER_VAR} name must not contain '{c}' (it names who your changes are by, e.g. alice@ops-1)"
        ));
    }
    Ok(with_host(value, &host()))
}

/// `alice` → `alice@HOST`; `alice@ops-1` as it is.
fn with_host(name: String, host: &str) -> String {
    if name.contains('@') {
        name
    } else {
        format!("{name}@{host}")
    }
}

fn default_writer() -> String {
    format!("{}@{}", user(), host())
}

/// The login name of this process's user: the password database's, else $USER, else the uid.
fn user() -> String {
    // SAFETY: getuid cannot fail. getpwuid_r writes into the buffers we pass and sets `found`
    // to `entry` (or null); the name it points at lives in `buf`, read before `buf` drops.
    unsafe {
        let uid = libc::getuid();
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let mut buf = vec![0 as libc::c_char; 4096];
        let rc = libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found);
        if rc == 0 && !found.is_null() && !entry.pw_name.is_null() {
            if let Ok(name) = CStr::from_ptr(entry.pw_name).to_str() {
                if !name.is_empty() {
                    return name.to_string();
                }
            }
        }
        std::env::var("USER").unwrap_or_else(|_| format!("uid{uid}"))
    }
}

fn host() -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: gethostname writes at most `len` bytes into `buf`; the last byte stays 0, so the
    // string is terminated even if the name was cut.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len() - 1) };
    if rc != 0 {
        return "localhost".to_string();
    }
    // SAFETY: terminated above.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    match name.to_str() {
        Ok(n) if !n.is_empty() => n.to_string(),
        _ => "localhost".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_user_host_and_command() {
        let who = super::changed_by("keyway credential edit");
        let (user_host, via) = who.split_once(' ').unwrap();
        assert_eq!(via, "(keyway credential edit)");
        let (user, host) = user_host.split_once('@').unwrap();
        assert!(!user.is_empty() && !host.is_empty(), "{who}");
    }

    #[test]
    fn a_writer_named_without_a_host_keeps_this_one() {
        assert_eq!(super::with_host("alice".into(), "ops-1"), "alice@ops-1");
        assert_eq!(
            super::with_host("alice@ops-2".into(), "ops-1"),
            "alice@ops-2"
        );
    }
}
