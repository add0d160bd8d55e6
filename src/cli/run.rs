//! `keyway run`: start a command with a flow's (or some named) credentials in its environment,
//! as `op run`, `chamber exec` and `aws-vault exec` do. keyway stays the command's parent: it
//! passes on the signals a person or a supervisor sends it (INT, TERM, HUP, QUIT) and ends with
//! the command's own exit code (128 + the signal when the command was killed by one). What
//! fails before the command starts is keyway's own: exit 125; a command that cannot be run is
//! 126, one that is not found 127, as `env` and `timeout` do, so a command's own 1-6 are never
//! mistaken for keyway's. Nothing of keyway's own goes to stdout: the command's output is the
//! output. Secrets travel in the command's environment only, never in an argument.

use std::ffi::OsString;
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;

use super::args::RunArgs;
use super::context::runtime;
use super::context::Context;
use super::error::CliError;
use crate::audit::verify_and_record;
use crate::catalog::Catalog;
use crate::clock;
use crate::core::env::{self, EnvSpec, EnvVar};
use crate::core::expiry;
use crate::core::schema::{VerifySpec, ENV_URL};
use crate::core::snapshot::Snapshot;
use crate::core::{Credential, RecordId, Status};

/// keyway's own variables that a command never inherits: the vault passphrases are the key to
/// everything in the vault, and a session is as good as the passphrase while it lasts. The
/// command gets the credentials it was given and nothing more.
const WITHHELD: &[&str] = &[
    "KEYWAY_PASSPHRASE",
    "KEYWAY_NEW_PASSPHRASE",
    "KEYWAY_EXPORT_PASSPHRASE",
    "KEYWAY_SESSION",
];

/// The signals passed on to the command.
const FORWARDED: [i32; 4] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
];

pub fn run(ctx: &Context, args: &RunArgs) -> Result<(), CliError> {
    if args.command.is_empty() && !args.dry_run {
        return Err(CliError::Usage(
            "no command to run: write it after `--` (keyway run -w W --flow F -- CMD ARGS...), or pass --dry-run".into(),
        ));
    }
    let vars = {
        let mut store = ctx.open_store()?;
        let ids = chosen(ctx, store.snapshot(), args)?;
        resolve_rotations(ctx, &mut store, &ids)?;
        if args.verify {
            verify_first(ctx, &mut store, &ids)?;
        }
        let snapshot = store.snapshot();
        let credentials: Vec<&Credential> = ids
            .iter()
            .filter_map(|id| snapshot.credential(id))
            .collect();
        check_usable(&credentials, args.force, args.verify)?;
        variables(&ctx.catalog, &credentials, args.env_prefix.as_deref())?
        // The store, and every decrypted credential with it, is dropped here, before the
        // command starts: keyway then holds only the variables, until the spawn.
    };
    if args.dry_run {
        for v in &vars {
            say!("{}", v.name)?;
        }
        return Ok(());
    }
    let status = spawn_and_wait(&args.command, vars)?;
    match exit_code(status) {
        0 => Ok(()),
        code => Err(CliError::Child(code)),
    }
}

/// The credentials named by --flow or --credential, each once, in order.
fn chosen(ctx: &Context, s: &Snapshot, args: &RunArgs) -> Result<Vec<RecordId>, CliError> {
    let w = s.workspace_by_name(&args.workspace)?;
    let mut ids: Vec<RecordId> = Vec::new();
    if let Some(name) = &args.flow {
        let flow = s.flow_by_name(w, name)?;
        if !flow.active && !args.force {
            return Err(CliError::Refused(format!(
                "flow '{}' is inactive; activate it (keyway flow activate -w {} {}) or pass --force",
                flow.name, w.name, flow.name
            )));
        }
        for step in &flow.steps {
            if s.credential(&step.credential).is_none() {
                return Err(CliError::Refused(format!(
                    "flow '{}' has a {} step whose credential no longer exists; rebind it first",
                    flow.name, step.component
                )));
            }
            if !ids.contains(&step.credential) {
                ids.push(step.credential.clone());
            }
        }
    }
    for raw in &args.credentials {
        let c = match s.credential_by_name(w, raw, None) {
            Ok(c) => c,
            // COMPONENT=NAME, as flow steps are written, picks one of two of the same name.
            Err(e) => match raw.split_once('=') {
                Some((component, name)) if ctx.catalog.get(component).is_some() => {
                    s.credential_by_name(w, name, Some(component))?
                }
                _ => return Err(e.into()),
            },
        };
        if !ids.contains(&c.id) {
            ids.push(c.id.clone());
        }
    }
    Ok(ids)
}

/// --verify: checks every chosen credential now and records the results (with any refreshed
/// tokens), as an audit does, so the command gets what the service just accepted.
fn verify_first(
    ctx: &Context,
    store: &mut crate::store::Store,
    ids: &[RecordId],
) -> Result<(), CliError> {
    let mut items = Vec::new();
    for id in ids {
        let Some(c) = store.snapshot().credential(id) else {
            continue;
        };
        let component = ctx.catalog.get(&c.component).ok_or_else(|| {
            CliError::Refused(format!(
                "credential '{}': component '{}' is not in the catalogue, so it cannot be checked",
                c.name, c.component
            ))
        })?;
        items.push((component, id.clone()));
    }
    let verifier = ctx.verifier()?;
    verify_and_record(
        &runtime()?,
        store,
        &verifier,
        ctx.config.verify.concurrency,
        &items,
        clock::now(),
        |_| {},
    )?;
    Ok(())
}

/// A password rotation interrupted before (a crash, a kill) is settled before the command
/// gets the password: otherwise it would get the one the server may no longer take.
fn resolve_rotations(
    ctx: &Context,
    store: &mut crate::store::Store,
    ids: &[RecordId],
) -> Result<(), CliError> {
    let items: Vec<(&crate::core::schema::Component, RecordId)> = ids
        .iter()
        .filter_map(|id| {
            let c = store.snapshot().credential(id)?;
            c.pending_rotation.as_ref()?;
            Some((ctx.catalog.get(&c.component)?, id.clone()))
        })
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let verifier = ctx.verifier()?;
    let resolved =
        crate::rotate::resolve_interrupted(runtime()?.handle(), store, &verifier, &items)?;
    for (name, _) in &resolved.settled {
        note!("{name}: rotation interrupted, resolved");
    }
    for name in &resolved.in_progress {
        note!("warning: {name}: a password rotation is in progress in another keyway process; the command gets the password stored now");
    }
    Ok(())
}

/// Refuses a credential whose last verification failed (rejected or misconfigured) unless
/// --force; says on stderr what is doubtful but not refused.
fn check_usable(credentials: &[&Credential], force: bool, verified: bool) -> Result<(), CliError> {
    let now = clock::now();
    for c in credentials {
        let last = c.last_verification.as_ref();
        if c.is_failing() {
            let reason = last.map_or("", |v| v.reason.as_str());
            if !force {
                return Err(CliError::Refused(format!(
                    "credential '{}' ({}) was {} at its last verification: {reason} Fix it, or pass --force to run with it anyway.",
                    c.name,
                    c.component,
                    c.status_word()
                )));
            }
            note!(
                "warning: running with {} credential '{}' (--force)",
                c.status_word(),
                c.name
            );
        } else if verified && last.is_some_and(|v| v.status == Status::Unreachable) {
            note!(
                "warning: credential '{}' could not be checked now: {}",
                c.name,
                last.map_or("", |v| v.reason.as_str())
            );
        }
        if !verified {
            if let Some(at) = expiry::expires_at(c).filter(|at| *at <= now) {
                if c.value("access_token").is_some() {
                    note!(
                        "warning: the access token of '{}' expired at {}; pass --verify to refresh it first",
                        c.name,
                        at.rfc3339()
                    );
                }
            }
        }
    }
    Ok(())
}

/// The variables of every credential, by the catalogue's declarations.
fn variables(
    catalog: &Catalog,
    credentials: &[&Credential],
    prefix: Option<&str>,
) -> Result<Vec<EnvVar>, CliError> {
    let empty = Default::default();
    let specs: Vec<(EnvSpec<'_>, &Credential)> = credentials
        .iter()
        .map(|c| {
            let component = catalog.get(&c.component);
            let spec = EnvSpec {
                component: &c.component,
                conventional: component.map_or(&empty, |comp| &comp.env),
                url_scheme: component.and_then(|comp| match comp.verify {
                    VerifySpec::Database { dbengine } => Some(dbengine.url_scheme()),
                    _ => None,
                }),
                url_marker: ENV_URL,
            };
            (spec, *c)
        })
        .collect();
    env::plan(&specs, prefix).map_err(|e| match e {
        env::EnvError::BadPrefix(_) => CliError::Usage(e.to_string()),
        env::EnvError::Ambiguous { .. } => CliError::Refused(e.to_string()),
    })
}

/// Starts the command with the variables and waits for it, passing on the signals keyway gets.
fn spawn_and_wait(command: &[OsString], vars: Vec<EnvVar>) -> Result<ExitStatus, CliError> {
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| CliError::Usage("no command to run".into()))?;
    let shown = program.to_string_lossy().into_owned();
    let mut cmd = Command::new(program);
    cmd.args(rest);
    for name in WITHHELD {
        cmd.env_remove(name);
    }
    for v in &vars {
        cmd.env(&v.name, v.value.expose_secret());
    }
    drop(vars);
    // Registered before the spawn, so a signal that arrives while the command starts is queued
    // and passed on as soon as there is a command to pass it to.
    let mut signals = signal_hook::iterator::SignalsInfo::<
        signal_hook::iterator::exfiltrator::WithOrigin,
    >::new(FORWARDED)
    .map_err(|e| CliError::Refused(format!("cannot set up signal forwarding: {e}")))?;
    let handle = signals.handle();
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            handle.close();
            return Err(not_started(&shown, &e));
        }
    };
    // std's copies of the variables go with the Command.
    drop(cmd);
    let pid = child.id() as libc::pid_t;
    // Set once the command has exited (a zombie still holding its pid), under the lock the
    // forwarder holds while it signals, so no signal can reach a process that reused the pid.
    let exited = Arc::new(Mutex::new(false));
    let forwarder = {
        let exited = exited.clone();
        std::thread::spawn(move || {
            for info in signals.forever() {
                // A signal from the terminal (Ctrl-C, a hang-up) went to the whole foreground
                // process group, the command included: passing it on would deliver it twice.
                if info.cause == signal_hook::low_level::siginfo::Cause::Kernel {
                    continue;
                }
                let guard = exited.lock().unwrap_or_else(|p| p.into_inner());
                if !*guard {
                    // SAFETY: kill takes plain integers; pid is our own unreaped child.
                    unsafe {
                        libc::kill(pid, info.signal);
                    }
                }
            }
        })
    };
    wait_exited(pid);
    *exited.lock().unwrap_or_else(|p| p.into_inner()) = true;
    handle.close();
    let _ = forwarder.join();
    let mut child = child;
    child
        .wait()
        .map_err(|e| CliError::Refused(format!("cannot wait for '{shown}': {e}")))
}

/// Blocks until the child `pid` has exited, leaving it to be reaped (WNOWAIT): until then its
/// pid cannot be reused.
fn wait_exited(pid: libc::pid_t) {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes only into `info`.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// Why the command did not start: 127 when there is no such command, 126 when it cannot be run.
fn not_started(shown: &str, e: &std::io::Error) -> CliError {
    match e.kind() {
        std::io::ErrorKind::NotFound => CliError::NotStarted {
            code: 127,
            message: format!("cannot run '{shown}': command not found"),
        },
        _ => CliError::NotStarted {
            code: 126,
            message: format!("cannot run '{shown}': {e}"),
        },
    }
}

/// The command's exit code as a shell reports it: its own, or 128 + the signal that killed it.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 125,
    }
}
