//! The terminal UI: `keyway` with no subcommand. The folders show the boundary:
//! - `app/`: the pure app (one action type, the shared state, the navigation stack, `update`
//!   and `render`), which knows nothing of terminals, files or sockets;
//! - `screens/<name>/`: one home per screen, owning its state, key tables, update, view and
//!   unit tests;
//! - `widgets/`: drawing helpers the screens share;
//! - `runtime/`: the I/O: one tokio event loop feeding actions to `update`, the effect runner
//!   (the store, the verifier pool, the login tasks), the terminal, the remembered state.
//!
//! Entry points: `run(Options)` inside a tokio runtime, or `run_blocking(Options)`, which builds
//! one. `update`, `render`, the state and the actions are public so tests drive them directly.

pub mod app;
pub mod runtime;
pub mod screens;
pub mod widgets;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::vault::VaultError;
use crate::verify::Verifier;

pub use app::action::{Action, Clock, Effect, RequestId};
pub use app::frame::render;
pub use app::state::{State, StateInit};
pub use app::update::update;
pub use widgets::theme::Theme;

/// What the UI needs from the caller.
pub struct Options {
    pub vault: PathBuf,
    pub config: Config,
    pub catalog: Catalog,
    /// A passphrase to unlock (or create) the vault with instead of asking; for tests and
    /// scripted demos. None: the Unlock screen asks.
    pub passphrase: Option<SecretString>,
    /// Where the last workspace is remembered. None: `tui-state.json` in the platform state dir.
    pub state_file: Option<PathBuf>,
    /// A team vault's database password, typed at a prompt before the UI took the terminal
    /// (else PGPASSWORD, else the passfile).
    pub db_password: Option<SecretString>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuiError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("cannot start the verifiers: {0}")]
    Verifier(#[from] crate::verify::SetupError),
    #[error("cannot start the verifiers: {0}")]
    Pool(#[from] crate::verify::pool::PoolError),
}

impl TuiError {
    fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> TuiError {
        TuiError::Terminal(std::io::Error::other(e))
    }

    /// Same codes as the CLI: vault problems keep theirs, anything else is 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            TuiError::Vault(v) => v.exit_code(),
            // A verify.extra_ca_file that cannot be used is the configuration's fault, as in
            // the CLI.
            TuiError::Verifier(e) if e.is_config() => 2,
            TuiError::Terminal(_) | TuiError::Verifier(_) | TuiError::Pool(_) => 1,
        }
    }
}

/// Runs the terminal UI until the user quits. Must be called inside a tokio runtime (the
/// blocking pool runs the KDF and the vault writes). The terminal is restored on every way
/// out, including a panic.
pub async fn run(opts: Options) -> Result<(), TuiError> {
    let verifier = Arc::new(
        Verifier::with_audit(&opts.config.verify, &opts.config.audit)
            .map_err(TuiError::Verifier)?,
    );
    // Before the terminal is taken over, while stderr still shows.
    for warning in verifier.warnings() {
        eprintln!(
            "warning: {}",
            crate::core::text::for_terminal(warning, false)
        );
    }
    let auto_lock = match opts.config.ui.auto_lock_minutes {
        0 => None,
        m => Some(Duration::from_secs(m.saturating_mul(60))),
    };
    let mut state = State::new(StateInit {
        vault_exists: opts.vault.exists() || crate::vault::is_team_vault(&opts.vault),
        vault_path: opts.vault.clone(),
        catalog: opts.catalog.clone(),
        theme: Theme::from_env(),
        auto_lock,
        clock: Clock::now(),
    });
    state.shared.expiry_warning_days = opts.config.audit.expiry_warning_days;
    state.shared.reveal_for = Duration::from_secs(opts.config.ui.reveal_secs);
    let (edges, channels) = runtime::effects::Edges::new(
        opts.vault,
        opts.config,
        opts.catalog,
        opts.state_file,
        verifier,
        opts.db_password,
    )?;
    let mut guard = runtime::terminal::enter()?;
    let outcome =
        runtime::event_loop::run(&mut guard.terminal, state, edges, channels, opts.passphrase)
            .await;
    // Leave the alternate screen before the caller prints anything.
    drop(guard);
    let mut state = outcome?;
    match state.shared.fatal.take() {
        Some(e) => Err(TuiError::Vault(e)),
        None => Ok(()),
    }
}

/// `run` on a fresh multi-threaded tokio runtime, for a synchronous `main`.
pub fn run_blocking(opts: Options) -> Result<(), TuiError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(opts))
}
