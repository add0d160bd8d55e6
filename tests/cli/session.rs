//! `keyway unlock` / `keyway lock` through the real binary: one line on stdout and back at once
//! (the agent holds none of unlock's pipes), commands with the token skip the KDF (told by the
//! debug line every derivation logs), without it or with a wrong token the passphrase is
//! needed, the socket is 0600 in a 0700 folder, the agent answers no other user even through
//! an open socket, and it ends on `lock`, on `passwd` and after its duration.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{child_command, code, stderr, stdout, TestVault, PASS};

/// What every derivation logs at debug level (vault::kdf::derive).
const KDF_LINE: &str = "kdf: deriving a key from a passphrase";

/// A vault with workspace acme, and a private runtime folder for its sessions.
fn vault() -> (TestVault, PathBuf) {
    let v = TestVault::new();
    drop(v.create());
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let runtime = v.dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    (v, runtime)
}

/// Runs keyway with `env` and the runtime folder, failing (not hanging) when it has not ended
/// within a generous deadline, as it would if an agent kept its stdout open.
fn keyway(v: &TestVault, runtime: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut env = env.to_vec();
    let runtime_text = runtime.to_string_lossy().into_owned();
    env.push(("XDG_RUNTIME_DIR", &runtime_text));
    let child = v
        .command(args, &env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("keyway {args:?} did not end: is its output held open?"))
        .unwrap()
}

/// `keyway unlock --for DURATION`: its token and the agent's pid.
fn unlock(v: &TestVault, runtime: &Path, duration: &str) -> (String, u32) {
    unlock_with(v, runtime, duration, PASS)
}

/// `unlock` with the passphrase `pass`.
fn unlock_with(v: &TestVault, runtime: &Path, duration: &str, pass: &str) -> (String, u32) {
    let o = keyway(
        v,
        runtime,
        &["unlock", "--for", duration],
        &[("KEYWAY_PASSPHRASE", pass)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let token = out
        .trim()
        .strip_prefix("export KEYWAY_SESSION=")
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(token.starts_with("kws_") && token.len() > 40, "{token}");
    let pid = stderr(&o)
        .split("agent pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {}", stderr(&o)));
    (token, pid)
}

/// Whether the process `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
    }
}

/// Waits (a generous deadline, polling the process table) for the agent to end.
fn wait_ended(pid: u32, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ended(pid) {
        assert!(Instant::now() < deadline, "the agent did not end {why}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn socket_of(v: &TestVault, runtime: &Path) -> PathBuf {
    let binding = keyway::vault::session_binding(&v.path, &Default::default()).unwrap();
    runtime
        .join("keyway")
        .join(format!("agent-{}.sock", binding.vault_id))
}

#[test]
fn a_session_skips_the_kdf_and_nothing_else_does() {
    use std::os::unix::fs::PermissionsExt;
    let (v, runtime) = vault();
    let (token, pid) = unlock(&v, &runtime, "10m");
    let socket = socket_of(&v, &runtime);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(mode(&runtime.join("keyway")), 0o700);

    // With the token and no passphrase at all: the command works, and no key is derived.
    let with_session = [("KEYWAY_SESSION", token.as_str()), ("KEYWAY_LOG", "debug")];
    let o = keyway(
        &v,
        &runtime,
        &["workspace", "list", "--json"],
        &with_session,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("\"acme\""), "{}", stdout(&o));
    assert!(!stderr(&o).contains(KDF_LINE), "{}", stderr(&o));
    // A write through the session too.
    let o = keyway(&v, &runtime, &["workspace", "add", "beta"], &with_session);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // The same command with the passphrase derives, so the line's absence above means something.
    let with_passphrase = [("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_LOG", "debug")];
    let o = keyway(&v, &runtime, &["workspace", "list"], &with_passphrase);
    assert_eq!(code(&o), 0);
    assert_eq!(stderr(&o).matches(KDF_LINE).count(), 1, "{}", stderr(&o));

    // Without the token, or with a wrong one, the passphrase is needed.
    let o = keyway(&v, &runtime, &["workspace", "list"], &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let wrong = format!("kws_{}", "0".repeat(64));
    let o = keyway(
        &v,
        &runtime,
        &["workspace", "list"],
        &[("KEYWAY_SESSION", &wrong)],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("wrong session token"), "{}", stderr(&o));
    let o = keyway(
        &v,
        &runtime,
        &["workspace", "list"],
        &[
            ("KEYWAY_SESSION", &wrong),
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_LOG", "debug"),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains(KDF_LINE));
    // Changing the passphrase takes the passphrase itself, never a session's token.
    let o = keyway(
        &v,
        &runtime,
        &["passwd"],
        &[
            ("KEYWAY_SESSION", &token),
            ("KEYWAY_NEW_PASSPHRASE", "a brand new passphrase"),
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // A wrong token does not end the session for the right one.
    assert!(!ended(pid));
    let o = keyway(
        &v,
        &runtime,
        &["workspace", "list"],
        &[("KEYWAY_SESSION", &token)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // Another command through the same session (tests/cli/run.rs checks that `keyway run`
    // hands its command neither the token nor the passphrase).
    let o = keyway(
        &v,
        &runtime,
        &["credential", "list", "-w", "acme"],
        &[("KEYWAY_SESSION", &token)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = keyway(&v, &runtime, &["lock"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    wait_ended(pid, "on lock");
}

#[test]
fn the_agent_ends_on_lock_on_passwd_and_after_its_time() {
    let (v, runtime) = vault();
    let (token, pid) = unlock(&v, &runtime, "10m");
    let o = keyway(&v, &runtime, &["lock"], &[]);
    assert_eq!(
        code(&o),
        0,
        "lock needs no token or passphrase: {}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("Ended the session"), "{}", stdout(&o));
    wait_ended(pid, "on lock");
    assert!(!socket_of(&v, &runtime).exists(), "its socket is removed");
    let o = keyway(
        &v,
        &runtime,
        &["workspace", "list"],
        &[("KEYWAY_SESSION", &token)],
    );
    assert_eq!(code(&o), 2, "the token is of no use now: {}", stderr(&o));
    let o = keyway(&v, &runtime, &["lock"], &[]);
    assert!(
        stdout(&o).contains("No session was running"),
        "{}",
        stdout(&o)
    );

    // A new passphrase ends the session that holds the key under the old one.
    let (_, pid) = unlock(&v, &runtime, "10m");
    let new = "another long passphrase";
    let o = keyway(
        &v,
        &runtime,
        &["passwd"],
        &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_NEW_PASSPHRASE", new)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    wait_ended(pid, "on passwd");
    // And a new data key ends it too.
    let (_, pid) = unlock_with(&v, &runtime, "10m", new);
    let o = keyway(&v, &runtime, &["rekey"], &[("KEYWAY_PASSPHRASE", new)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    wait_ended(pid, "on rekey");

    // And after its duration, by itself.
    let (_, pid) = unlock_with(&v, &runtime, "1s", new);
    wait_ended(pid, "after its --for");
    for bad in ["0s", "25h", "soon"] {
        let o = keyway(
            &v,
            &runtime,
            &["unlock", "--for", bad],
            &[("KEYWAY_PASSPHRASE", new)],
        );
        assert_eq!(code(&o), 2, "--for {bad}: {}", stderr(&o));
    }
}

#[test]
fn another_user_gets_nothing_even_through_an_open_socket() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let Some(user) = crate::support::pg::ensure_os_user() else {
        eprintln!("not root: cannot run a process as another user here");
        return;
    };
    let (v, runtime) = vault();
    let (token, pid) = unlock(&v, &runtime, "10m");
    let socket = socket_of(&v, &runtime);
    let binding = keyway::vault::session_binding(&v.path, &Default::default()).unwrap();
    let header = hex::encode(binding.header);
    // As if the folders and the socket had been opened up by mistake.
    for p in [
        v.dir.path(),
        runtime.as_path(),
        &runtime.join("keyway"),
        &socket,
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let ask = |uid: Option<u32>| {
        let socket = socket.to_string_lossy();
        let mut cmd = child_command(&[
            "session-connect",
            &socket,
            &token,
            &binding.vault_id,
            &header,
        ]);
        if let Some(uid) = uid {
            let gid = crate::support::pg::id_of(&user, "-g");
            cmd.uid(uid).gid(gid);
        }
        let o = cmd.output().unwrap();
        // The test harness prints its own words before the child's on the same line.
        let out = stdout(&o);
        assert!(
            out.contains("answer"),
            "the child said: {out}{}",
            stderr(&o)
        );
        out.find("answer")
            .map(|at| out[at..].lines().next().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    // The same user with the token gets the key: the helper itself works.
    assert!(ask(None).contains("\"ok\":true"), "{}", ask(None));
    // Another user with the right token gets nothing at all.
    let uid = crate::support::pg::id_of(&user, "-u");
    let answer = ask(Some(uid));
    assert_eq!(answer, "answer-none", "uid {uid}");
    assert!(!ended(pid), "the agent goes on for its own user");
    std::fs::set_permissions(
        runtime.join("keyway"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let o = keyway(&v, &runtime, &["lock"], &[]);
    assert_eq!(code(&o), 0);
    wait_ended(pid, "on lock");
}

/// Every readable, writable region of `pid`'s memory (heap, stack, anonymous maps), or None
/// where this test may not read it (a non-root user: the agent is not dumpable, which is
/// itself the protection).
fn writable_memory(pid: u32) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut all = Vec::new();
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !perms.starts_with("rw") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (start, end) = (
            u64::from_str_radix(start, 16).unwrap(),
            u64::from_str_radix(end, 16).unwrap(),
        );
        let mut region = vec![0; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut region).is_ok() {
            all.extend_from_slice(&region);
        }
    }
    Some(all)
}

#[test]
fn the_agent_keeps_the_data_key_only_in_its_locked_page_never_as_text() {
    use std::io::{BufRead, Write};
    let (v, runtime) = vault();
    let (token, pid) = unlock(&v, &runtime, "10m");
    // A command through the session, so the agent has answered a request too.
    let o = keyway(
        &v,
        &runtime,
        &["workspace", "list"],
        &[("KEYWAY_SESSION", &token)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The key as the agent hands it out (hex), asked for over its socket as a client does.
    let binding = keyway::vault::session_binding(&v.path, &Default::default()).unwrap();
    let mut stream = std::os::unix::net::UnixStream::connect(socket_of(&v, &runtime)).unwrap();
    let request = serde_json::json!({
        "op": "key",
        "token": token,
        "vault_id": binding.vault_id,
        "header": hex::encode(binding.header),
    });
    writeln!(stream, "{request}").unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut answer)
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let key_hex = answer["key"].as_str().expect("the agent's key").to_string();
    assert_eq!(key_hex.len(), 64);
    drop(stream);

    match writable_memory(pid) {
        Some(memory) => {
            assert!(memory.len() > 4096, "read the agent's memory");
            let found = memory
                .windows(key_hex.len())
                .filter(|w| *w == key_hex.as_bytes())
                .count();
            assert_eq!(
                found, 0,
                "the data key lies in the agent's ordinary memory as hex {found} time(s)"
            );
            // The token is still there, so the scan reads what the agent holds.
            assert!(memory.windows(token.len()).any(|w| w == token.as_bytes()));
        }
        None => eprintln!("not root: the agent's memory cannot be read, which is the protection"),
    }
    assert_eq!(code(&keyway(&v, &runtime, &["lock"], &[])), 0);
    wait_ended(pid, "on lock");
}
