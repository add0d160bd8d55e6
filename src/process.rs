//! Process-wide protections, set before anything else runs: keyway holds decrypted secrets in
//! memory for as long as a command or the TUI runs, and a core dump (a crash, a SIGQUIT, gcore)
//! would write them to disk in plaintext. So no core file is ever written (RLIMIT_CORE 0, soft and
//! hard, so nothing started later can raise it), and the process is not dumpable
//! (PR_SET_DUMPABLE 0), which also keeps other processes of the same user from attaching a
//! debugger or reading /proc/<pid>/mem.

use std::io;

/// Turns core dumps off for the rest of the process's life; returns whether the kernel now
/// reports the process as not dumpable.
pub fn forbid_core_dumps() -> io::Result<bool> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct passed by reference and nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
        return Err(io::Error::last_os_error());
    }
    not_dumpable()
}

#[cfg(target_os = "linux")]
fn not_dumpable() -> io::Result<bool> {
    // SAFETY: prctl with PR_SET_DUMPABLE / PR_GET_DUMPABLE takes plain integers.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
    }
}

#[cfg(not(target_os = "linux"))]
fn not_dumpable() -> io::Result<bool> {
    // RLIMIT_CORE 0 is what other systems offer; there is no dumpable flag to clear.
    Ok(true)
}
