//! Every command that prints, with its standard output closed (`| head -c0`) and full
//! (`> /dev/full`): a closed pipe ends quietly with the command's own exit code; a write error is
//! one sentence on stderr and exit 1; a command that changed the vault says the change was saved
//! (it is durable before anything is printed) and the change is there.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Output, Stdio};

use crate::support::http::{api_server, ApiServer};
use crate::support::oauth::{provider, DeviceStep, Provider};
use crate::support::{code, stderr, stdout, TestVault, PASS};
use serde_json::Value;

const KEY: &str = "sk_SENTINEL_output_5d";
const EXPORT_PASS: &str = "export passphrase";

/// Where the command's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// A pipe whose reader has gone: every write fails with EPIPE.
    ClosedPipe,
    /// /dev/full: every write fails with ENOSPC.
    Full,
}

/// A pipe's write end with the read end already closed.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two fresh descriptors into the array; each is owned exactly once below.
    let (read, write) = unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    drop(read);
    write
}

fn stdout_for(sink: Sink) -> Stdio {
    match sink {
        Sink::ClosedPipe => Stdio::from(closed_pipe()),
        Sink::Full => Stdio::from(
            File::options()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full"),
        ),
    }
}

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KEYWAY_PASSPHRASE", PASS),
        ("KEYWAY_NEW_PASSPHRASE", PASS),
        ("KEYWAY_EXPORT_PASSPHRASE", EXPORT_PASS),
    ]
}

fn run_into(v: &TestVault, args: &[&str], sink: Sink) -> Output {
    v.command(args, &env())
        .stdin(Stdio::null())
        .stdout(stdout_for(sink))
        .stderr(Stdio::piped())
        .output()
        .expect("run keyway")
}

fn run(v: &TestVault, args: &[&str]) -> Output {
    v.keyway_with(args, &env(), None)
}

/// A vault with workspace acme, a verified loopback credential `base` used by the inactive flow
/// `sync`, an OAuth2 credential `crm` logged in, and an export file of the workspace.
struct World {
    _rt: tokio::runtime::Runtime,
    api: ApiServer,
    oauth: Provider,
    v: TestVault,
    export: String,
}

fn world() -> World {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(api_server(KEY, None));
    let oauth = rt.block_on(provider(&[DeviceStep::Grant; 8], 1, 60));
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&run(&v, &["workspace", "add", "acme"])), 0);
    let base = format!("base_url={}", api.base_url());
    let key = format!("api_key={KEY}");
    let o = v.add_loopback("base", &["-f", &base, "-f", &key]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(
        &v,
        &[
            "flow",
            "add",
            "-w",
            "acme",
            "-n",
            "sync",
            "--step",
            "loopback_api=base",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut add = vec![
        "credential".to_string(),
        "add".into(),
        "-w".into(),
        "acme".into(),
        "-c".into(),
        "generic_oauth2".into(),
        "-n".into(),
        "crm".into(),
        "--login".into(),
    ];
    for (k, val) in oauth.fields() {
        add.push("-f".into());
        add.push(format!("{k}={val}"));
    }
    let o = run(&v, &add.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let export = v.dir.path().join("acme.kwx").to_string_lossy().into_owned();
    assert_eq!(code(&run(&v, &["export", "-w", "acme", &export])), 0);
    World {
        _rt: rt,
        api,
        oauth,
        v,
        export,
    }
}

/// One command that prints: its arguments (`{t}` is replaced by a tag unique to each run, so
/// a command that creates something creates a new one each time), and, for a command that
/// changes the vault, a check that the change is there.
struct Case {
    args: &'static [&'static str],
    changed: Option<fn(&World, &str) -> bool>,
}

fn workspace_names(w: &World) -> Vec<String> {
    let o = run(&w.v, &["workspace", "list", "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap_or_default();
    list.iter()
        .filter_map(|x| x["name"].as_str().map(str::to_string))
        .collect()
}

fn credential_names(w: &World) -> Vec<String> {
    let o = run(&w.v, &["credential", "list", "-w", "acme", "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap_or_default();
    list.iter()
        .filter_map(|x| x["name"].as_str().map(str::to_string))
        .collect()
}

fn flow_names(w: &World) -> Vec<String> {
    let o = run(&w.v, &["flow", "list", "-w", "acme", "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap_or_default();
    list.iter()
        .filter_map(|x| x["name"].as_str().map(str::to_string))
        .collect()
}

fn history_len(w: &World, name: &str) -> usize {
    let o = run(&w.v, &["credential", "show", "-w", "acme", name, "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    shown["history"].as_array().map_or(0, |h| h.len())
}

const CASES: &[Case] = &[
    Case {
        args: &["workspace", "add", "ws-{t}"],
        changed: Some(|w, t| workspace_names(w).contains(&format!("ws-{t}"))),
    },
    Case {
        args: &["workspace", "rename", "ws-{t}", "renamed-{t}"],
        changed: Some(|w, t| workspace_names(w).contains(&format!("renamed-{t}"))),
    },
    Case {
        args: &["workspace", "rm", "renamed-{t}"],
        changed: Some(|w, t| !workspace_names(w).contains(&format!("renamed-{t}"))),
    },
    Case {
        args: &["workspace", "list"],
        changed: None,
    },
    Case {
        args: &["workspace", "list", "--json"],
        changed: None,
    },
    Case {
        args: &["component", "list"],
        changed: None,
    },
    Case {
        args: &["component", "list", "--json"],
        changed: None,
    },
    Case {
        args: &["component", "show", "stripe"],
        changed: None,
    },
    Case {
        args: &["component", "show", "stripe", "--json"],
        changed: None,
    },
    Case {
        args: &["credential", "list"],
        changed: None,
    },
    Case {
        args: &["credential", "list", "--json"],
        changed: None,
    },
    Case {
        args: &["credential", "show", "-w", "acme", "base"],
        changed: None,
    },
    Case {
        args: &["credential", "show", "-w", "acme", "base", "--json"],
        changed: None,
    },
    Case {
        // {api} is the loopback API's base URL.
        args: &[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "loopback_api",
            "-n",
            "key-{t}",
            "-f",
            "base_url={api}",
            "-f",
            "api_key={key}",
        ],
        changed: Some(|w, t| credential_names(w).contains(&format!("key-{t}"))),
    },
    Case {
        args: &[
            "credential",
            "edit",
            "-w",
            "acme",
            "key-{t}",
            "--rename",
            "edited-{t}",
        ],
        changed: Some(|w, t| credential_names(w).contains(&format!("edited-{t}"))),
    },
    Case {
        args: &["credential", "verify", "-w", "acme", "edited-{t}"],
        changed: None,
    },
    Case {
        args: &["credential", "verify", "-w", "acme", "--all", "--json"],
        changed: None,
    },
    Case {
        args: &["credential", "login", "-w", "acme", "crm"],
        changed: Some(|w, _| history_len(w, "crm") >= 2),
    },
    Case {
        args: &["credential", "rm", "-w", "acme", "edited-{t}"],
        changed: Some(|w, t| !credential_names(w).contains(&format!("edited-{t}"))),
    },
    Case {
        args: &[
            "flow",
            "add",
            "-w",
            "acme",
            "-n",
            "flow-{t}",
            "--step",
            "loopback_api=base",
        ],
        changed: Some(|w, t| flow_names(w).contains(&format!("flow-{t}"))),
    },
    Case {
        args: &["flow", "activate", "-w", "acme", "flow-{t}"],
        changed: None,
    },
    Case {
        args: &["flow", "deactivate", "-w", "acme", "flow-{t}"],
        changed: None,
    },
    Case {
        args: &[
            "flow",
            "rebind",
            "-w",
            "acme",
            "flow-{t}",
            "--step",
            "loopback_api=base",
        ],
        changed: None,
    },
    Case {
        args: &["flow", "list"],
        changed: None,
    },
    Case {
        args: &["flow", "list", "--json"],
        changed: None,
    },
    Case {
        args: &[
            "flow",
            "promote",
            "-w",
            "acme",
            "flow-{t}",
            "--to",
            "staging-{t}",
            "--step",
            "loopback_api=base",
        ],
        changed: Some(|w, t| flow_names(w).contains(&format!("flow-{t}-staging-{t}"))),
    },
    Case {
        args: &["flow", "rm", "-w", "acme", "flow-{t}"],
        changed: Some(|w, t| !flow_names(w).contains(&format!("flow-{t}"))),
    },
    Case {
        args: &["audit"],
        changed: None,
    },
    Case {
        args: &["audit", "--json"],
        changed: None,
    },
    Case {
        args: &["export", "-w", "acme", "{dir}/export-{t}.kwx"],
        changed: Some(|w, t| w.v.dir.path().join(format!("export-{t}.kwx")).exists()),
    },
    Case {
        args: &["import", "{export}", "-w", "imported-{t}"],
        changed: Some(|w, t| workspace_names(w).contains(&format!("imported-{t}"))),
    },
    Case {
        args: &["audit", "--format", "prometheus"],
        changed: None,
    },
    Case {
        args: &["passwd"],
        changed: None,
    },
    // Re-keyed, and the vault still opens with its passphrase.
    Case {
        args: &["rekey"],
        changed: Some(|w, _| workspace_names(w).contains(&"acme".to_string())),
    },
];

fn expand(w: &World, arg: &str, tag: &str) -> String {
    arg.replace("{t}", tag)
        .replace("{api}", &w.api.base_url())
        .replace("{key}", KEY)
        .replace("{dir}", &w.v.dir.path().to_string_lossy())
        .replace("{export}", &w.export)
}

fn check(w: &World, case: &Case, sink: Sink) {
    let tag = match sink {
        Sink::ClosedPipe => "p",
        Sink::Full => "f",
    };
    let args: Vec<String> = case.args.iter().map(|a| expand(w, a, tag)).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run_into(&w.v, &argv, sink);
    let err = stderr(&o);
    assert!(
        !err.contains("panicked") && code(&o) != 101,
        "{argv:?} into {sink:?} panicked: {err}"
    );
    match sink {
        Sink::ClosedPipe => {
            assert_eq!(code(&o), 0, "{argv:?} into a closed pipe: {err}");
            assert!(
                !err.contains("keyway:"),
                "{argv:?}: a closed pipe is not an error: {err}"
            );
        }
        Sink::Full => {
            assert_eq!(code(&o), 1, "{argv:?} into /dev/full: {err}");
            let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("keyway:")).collect();
            assert_eq!(lines.len(), 1, "{argv:?}: one sentence: {err}");
            assert!(
                lines[0].contains("No space left on device"),
                "{argv:?}: {err}"
            );
            if case.changed.is_some() {
                assert!(
                    lines[0].contains("was saved"),
                    "{argv:?}: the change is durable and said to be: {err}"
                );
            }
        }
    }
    if let Some(changed) = case.changed {
        assert!(
            changed(w, tag),
            "{argv:?} into {sink:?}: the change is there"
        );
    }
}

#[test]
fn every_output_command_survives_a_closed_pipe_and_a_full_disk() {
    let w = world();
    for sink in [Sink::ClosedPipe, Sink::Full] {
        for case in CASES {
            check(&w, case, sink);
        }
        // init, on a vault path of its own.
        let fresh = TestVault::new();
        let o = run_into(&fresh, &["init"], sink);
        assert!(!stderr(&o).contains("panicked"), "init: {}", stderr(&o));
        let expected = if sink == Sink::Full { 1 } else { 0 };
        assert_eq!(code(&o), expected, "init into {sink:?}: {}", stderr(&o));
        assert!(fresh.path.exists(), "init into {sink:?} created the vault");
        // Help and version are clap's own output: they must fail on a full disk too (clap
        // ignores the error and exits 0), and end quietly on a closed pipe.
        for args in [
            &["--help"][..],
            &["credential", "add", "--help"],
            &["--version"],
        ] {
            let o = run_into(&fresh, args, sink);
            assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
            assert_eq!(code(&o), expected, "{args:?} into {sink:?}: {}", stderr(&o));
            if sink == Sink::Full {
                assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
            }
        }
    }
    // The OAuth2 provider really was asked: the logins above went through.
    assert!(w.oauth.token_requests() >= 2);
    // And the vault is as healthy as before.
    let o = run(&w.v, &["audit"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}
