//! While keyway holds a vault open (here: `credential login --paste` waiting for the pasted
//! address, the store unlocked and decrypted), it cannot write a core dump: RLIMIT_CORE is 0,
//! soft and hard (read from outside, in /proc/<pid>/limits), and the process is not dumpable
//! (the kernel's own answer to PR_GET_DUMPABLE, which only the process itself can ask, logged
//! at debug level).

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{add_unreachable_oauth, code, TestVault, PASS};

#[test]
fn a_process_holding_the_vault_cannot_dump_core() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    // Nothing listens on the token endpoint: saved unverified, so there is a stored OAuth2
    // credential to log in.
    add_unreachable_oauth(&v, "crm");

    // Started under `ulimit -c unlimited`: keyway lowers it itself.
    let mut cmd = v.command(
        &["credential", "login", "-w", "acme", "crm", "--paste"],
        &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_LOG", "keyway=debug")],
    );
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, which is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if libc::setrlimit(libc::RLIMIT_CORE, &unlimited) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keyway");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let waiting = line.contains("Paste that whole address");
        seen.push(line);
        if waiting {
            break;
        }
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    drop(child.stdin.take());
    let _ = child.wait();
    let all = seen.join("\n");
    assert!(
        all.contains("Paste that whole address"),
        "keyway never got to the point of waiting with the vault open: {all}"
    );
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("a core limit line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], &["0", "0"], "{core}");
    assert!(
        all.contains("core dumps off") && all.contains("dumpable=false"),
        "{all}"
    );
}
