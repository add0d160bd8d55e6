//! redb asserts on some kinds of file damage instead of returning an error. keyway must never
//! crash on a damaged vault, so storage calls run inside `guarded`, which turns such a panic into
//! a typed `VaultError::Corrupt` and keeps the panic message off the user's terminal.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use super::VaultError;

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// True while the current thread is inside `guarded`: a panic hook installed later (the TUI's
/// terminal restorer) should leave the terminal alone, since the panic will be caught.
pub fn in_guarded_section() -> bool {
    GUARDED.with(Cell::get)
}

fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !in_guarded_section() {
                previous(info);
            }
        }));
    });
}

/// Runs a storage operation that only reads (or writes nothing but private copies); a panic
/// inside it becomes "the vault is damaged", with the file untouched.
pub fn guarded<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, VaultError>,
) -> Result<T, VaultError> {
    catching(f).unwrap_or_else(|| {
        Err(VaultError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("its storage structures are inconsistent ({what} failed)"),
        })
    })
}

/// Runs a storage operation that may write the file; a panic inside it becomes "the vault is
/// damaged", without claiming the file was left as it was.
pub fn guarded_write<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, VaultError>,
) -> Result<T, VaultError> {
    catching(f).unwrap_or_else(|| {
        Err(VaultError::DamagedWhileWriting {
            path: path.to_path_buf(),
            detail: format!("its storage structures are inconsistent ({what} failed)"),
        })
    })
}

/// `f`'s result, or None if it panicked (the panic kept off the terminal).
fn catching<T>(f: impl FnOnce() -> T) -> Option<T> {
    install_quiet_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.ok()
}
