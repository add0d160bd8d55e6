//! An SFTP credential added through the TUI form against the test sshd: the first save shows
//! the server's host key in the form's own dialog ("Trust this host key?"), and `y` pins it and
//! saves, verified against the pin. Every wait is for text on the emulated screen.

use super::pty::{cli, closed, spawn_with, CTRL_S, CTRL_U, ESC, PASSPHRASE, TAB};
use crate::support::sshd::{self, Sshd};

#[test]
fn a_new_sftp_credential_asks_to_trust_the_servers_host_key_then_saves_it_pinned() {
    let server = Sshd::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[kdf]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n[verify]\nconnect_timeout_secs = 5\ndeadline_secs = 30\n",
    )
    .unwrap();
    let vault = dir.path().join("vault.redb");
    cli(&vault, &config, dir.path(), &["init"]);
    cli(&vault, &config, dir.path(), &["workspace", "add", "acme"]);

    let (mut child, mut tty, screen, reader_thread, master) =
        spawn_with(&dir, &vault, &config, &[("KEYWAY_PASSPHRASE", PASSPHRASE)]);
    tty.wait_for("ws: acme");
    tty.send("/");
    tty.send("sftp");
    tty.send("\r");
    tty.wait_for("SFTP / SSH · database · 0 credential(s)");
    tty.send("a");
    tty.wait_for("New SFTP / SSH credential");
    tty.send("drop");
    tty.send(TAB); // environment: staging
    tty.send(TAB); // from URL: left empty
    tty.send(TAB);
    tty.send("127.0.0.1");
    tty.send(TAB);
    tty.send(CTRL_U);
    tty.send(&server.port.to_string());
    tty.send(TAB);
    tty.send(sshd::SSH_USER);
    tty.send(TAB);
    tty.send(sshd::SSH_PASSWORD);
    tty.send(CTRL_S);

    // No host key pinned: the dialog shows the one `ssh-keygen -lf` prints for the server.
    tty.wait_for("Trust this host key?");
    tty.wait_for(&sshd::fingerprint(&server.host_key_pub));
    assert!(
        !tty.contents().contains(sshd::SSH_PASSWORD),
        "a secret was drawn"
    );
    tty.send("y");
    tty.wait_for("Saved 'drop' (verified");
    tty.wait_for("SFTP / SSH · database · 1 credential(s)");
    tty.send(ESC);
    tty.wait_until_gone("credential(s)");
    tty.send("q");
    let status = child.wait().unwrap();
    assert!(status.success(), "keyway exited with {status:?}");
    let raw = closed(tty, master, reader_thread, &screen);
    assert!(
        !String::from_utf8_lossy(&raw).contains(sshd::SSH_PASSWORD),
        "the password was written to the terminal"
    );

    // Stored with the fingerprint pinned.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_keyway"))
        .stdin(std::process::Stdio::null())
        .arg("--vault")
        .arg(&vault)
        .arg("--config")
        .arg(&config)
        .args(["credential", "list", "--json"])
        .env("KEYWAY_PASSPHRASE", PASSPHRASE)
        .env_remove("KEYWAY_VAULT")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed[0]["status"], "verified", "{listed}");
    assert_eq!(listed[0]["fields"]["host_key"], server.host_key.as_str());
}
