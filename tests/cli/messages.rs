//! Each message says what is actually wrong: an unreadable KEYWAY_PASSPHRASE is not a missing
//! one, a blank first line is not an empty file, pasted garbage is not a state mismatch, and an
//! export that decrypts but holds something keyway refuses is not damaged.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;

use crate::support::{
    add_unreachable_oauth, code, keyway_exporting, stderr, stdout, write_export, TestVault, PASS,
};

#[test]
fn an_invalid_utf8_passphrase_variable_is_named_as_such() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    for var in ["KEYWAY_PASSPHRASE", "KEYWAY_NEW_PASSPHRASE"] {
        let args: &[&str] = if var == "KEYWAY_PASSPHRASE" {
            &["workspace", "list"]
        } else {
            &["passwd"]
        };
        let mut cmd = v.command(args, &[("KEYWAY_PASSPHRASE", PASS)]);
        cmd.env(var, OsStr::from_bytes(b"caf\xe9 latin-1"));
        let o = cmd.stdin(Stdio::null()).output().unwrap();
        assert_eq!(code(&o), 2, "{var}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(var) && err.contains("not valid UTF-8"),
            "{err}"
        );
        assert!(!err.contains("set KEYWAY_PASSPHRASE, pass"), "{err}");
    }
}

#[test]
fn a_passphrase_file_with_a_blank_first_line_is_not_called_empty() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    let file = v.dir.path().join("pass.txt");
    for (content, expected) in [
        (format!("\n{PASS}\n"), "first line of the passphrase file"),
        (String::new(), "is empty"),
    ] {
        std::fs::write(&file, &content).unwrap();
        let f = file.to_string_lossy().into_owned();
        let o = v.keyway_with(&["--passphrase-file", &f, "workspace", "list"], &[], None);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{content:?}: {}", stderr(&o));
    }
}

#[test]
fn pasted_garbage_is_not_a_state_mismatch() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    add_unreachable_oauth(&v, "crm");
    for garbage in ["asdf\n", "\n", "https://example.com/\n"] {
        let o = v.keyway_with(
            &["credential", "login", "-w", "acme", "crm", "--paste"],
            &[("KEYWAY_PASSPHRASE", PASS)],
            Some(garbage),
        );
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let err = stderr(&o);
        assert!(!err.contains("state mismatch"), "{garbage:?}: {err}");
        assert!(err.contains("not the address"), "{garbage:?}: {err}");
    }
    // A real address from another login still is one.
    let o = v.keyway_with(
        &["credential", "login", "-w", "acme", "crm", "--paste"],
        &[("KEYWAY_PASSPHRASE", PASS)],
        Some("http://127.0.0.1/keyway-callback?code=abc&state=other\n"),
    );
    assert!(stderr(&o).contains("state mismatch"), "{}", stderr(&o));
}

#[test]
fn an_export_that_decrypts_but_holds_something_refused_is_not_called_damaged() {
    use keyway::core::secret::SecretFields;
    use keyway::core::time::Timestamp;
    use keyway::transfer::ExportedCredential;

    let mut secrets = SecretFields::new();
    secrets.insert("api_key", secrecy::SecretString::from("sk_x"));
    let crafted = ExportedCredential {
        component: "loopback_api".into(),
        name: "billing".into(),
        environment: "bad\u{7}env".into(),
        public: [("base_url".to_string(), "http://127.0.0.1:9".to_string())].into(),
        secrets,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        history: vec![],
    };
    let v = TestVault::with_loopback_component();
    let file = v.dir.path().join("crafted.kwx");
    write_export(&file, "acme", vec![crafted]);
    let o = keyway_exporting(&v, &["import", &file.to_string_lossy(), "--no-verify"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // The entry's reason is in the import's summary on stdout.
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!said.contains("damaged or truncated"), "{said}");
    assert!(stdout(&o).contains("environment"), "{said}");
}

#[test]
fn weak_new_passphrases_are_refused_with_the_reason() {
    let fresh = TestVault::new();
    for weak in ["x", " ", "seven77"] {
        let o = fresh.keyway_with(&["init"], &[("KEYWAY_PASSPHRASE", weak)], None);
        assert_eq!(code(&o), 2, "init with {weak:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("at least 8 characters"),
            "{}",
            stderr(&o)
        );
        assert!(!fresh.path.exists(), "no vault made with {weak:?}");
    }
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let o = v.keyway_with(
        &["passwd"],
        &[("KEYWAY_PASSPHRASE", PASS), ("KEYWAY_NEW_PASSPHRASE", " ")],
        None,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("KEYWAY_NEW_PASSPHRASE"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        code(&v.keyway(&["workspace", "list"])),
        0,
        "the old one still opens"
    );
    let file = v.dir.path().join("x.kwx");
    let o = v.keyway_with(
        &["export", "-w", "acme", &file.to_string_lossy()],
        &[
            ("KEYWAY_PASSPHRASE", PASS),
            ("KEYWAY_EXPORT_PASSPHRASE", "k"),
        ],
        None,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("offline"), "says why: {}", stderr(&o));
    assert!(!file.exists());
}
