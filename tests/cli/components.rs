//! User component files that could redirect credentials: a file reusing a built-in id is
//! refused unless it says `override = true`, and then every command says so; two files with one
//! id are both refused; a folder or file others can write to stops every command; no message
//! ever quotes a file's contents (a symlink to /etc/shadow).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{code, stderr, stdout, TestVault};
use serde_json::Value;

const STRIPE: &str = include_str!("../../assets/components/stripe.toml");
const TRAP: &str = "https://collector.example/steal";

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn stripe_default(v: &TestVault) -> String {
    let o = v.keyway(&["component", "show", "stripe", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    shown["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "base_url")
        .unwrap()["default"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn overriding_a_builtin_needs_override_and_is_said_by_every_command() {
    let v = TestVault::with_loopback_component();
    let components = v.dir.path().join("components");
    let file = components.join("stripe.toml");
    let evil = STRIPE.replace("https://api.stripe.com", TRAP);
    std::fs::write(&file, &evil).unwrap();
    let o = v.keyway(&["component", "list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("reuses the built-in component id 'stripe'")
            && stderr(&o).contains("override = true"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        stripe_default(&v),
        "https://api.stripe.com",
        "the built-in stays"
    );

    std::fs::write(&file, format!("override = true\n{evil}")).unwrap();
    assert_eq!(stripe_default(&v), TRAP);
    let mut fresh = TestVault::new();
    fresh.config = v.config.clone();
    for args in [
        vec!["workspace", "list"],
        vec!["component", "list"],
        vec!["credential", "list", "--json"],
        vec!["audit"],
    ] {
        let o = v.keyway(&args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("component 'stripe' is defined by your file")
                && err.contains(&file.display().to_string()),
            "{args:?}: {err}"
        );
    }
    let o = fresh.keyway(&["init"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is defined by your file"),
        "init: {}",
        stderr(&o)
    );
    let o = v.keyway(&["component", "show", "stripe"]);
    assert!(
        stdout(&o).contains("replaces keyway's built-in definition"),
        "{}",
        stdout(&o)
    );
    let o = v.keyway(&["component", "show", "stripe", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["overrides_builtin"], true);
    assert_eq!(shown["source"], file.display().to_string());
    let o = v.keyway(&["component", "show", "loopback_api", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        shown["overrides_builtin"], false,
        "a new id overrides nothing"
    );
}

#[test]
fn two_user_files_with_one_id_are_both_refused() {
    let v = TestVault::with_loopback_component();
    let components = v.dir.path().join("components");
    let one = crate::support::loopback_toml("/v1/me", crate::support::BEARER, None)
        .replace("id = \"loopback_api\"", "id = \"twin\"");
    std::fs::write(components.join("a.toml"), &one).unwrap();
    std::fs::write(components.join("b.toml"), one.replace("/v1/me", "/v2/me")).unwrap();
    let o = v.keyway(&["component", "show", "twin"]);
    assert_eq!(code(&o), 2, "neither is loaded: {}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.matches("component id 'twin' is defined by more than one file")
            .count()
            == 2,
        "{err}"
    );
    assert!(err.contains("a.toml") && err.contains("b.toml"), "{err}");
    // The others still load.
    assert_eq!(code(&v.keyway(&["component", "show", "loopback_api"])), 0);
}

#[test]
fn a_folder_or_file_others_can_write_to_stops_every_command() {
    let v = TestVault::with_loopback_component();
    let components = v.dir.path().join("components");
    let file = components.join("loopback_api.toml");
    for (what, path, mode, why) in [
        ("folder", &components, 0o777, "writable by everyone"),
        ("folder", &components, 0o775, "writable by its group"),
        ("file", &file, 0o666, "writable by everyone"),
        ("file", &file, 0o620, "writable by its group"),
    ] {
        chmod(path, mode);
        let mut fresh = TestVault::new();
        fresh.config = v.config.clone();
        for (vault, args) in [
            (&v, vec!["workspace", "list"]),
            (&v, vec!["component", "list"]),
            (&fresh, vec!["init"]),
        ] {
            let o = vault.keyway(&args);
            assert_eq!(code(&o), 2, "{what} {mode:o} {args:?}: {}", stderr(&o));
            let err = stderr(&o);
            assert!(err.contains(why) && err.contains("chmod go-w"), "{err}");
            assert!(stdout(&o).is_empty());
        }
        chmod(path, if what == "folder" { 0o755 } else { 0o644 });
    }
    assert_eq!(code(&v.keyway(&["component", "list"])), 0);
}

#[test]
fn a_symlink_to_a_secret_file_never_has_its_contents_printed() {
    let v = TestVault::with_loopback_component();
    let components = v.dir.path().join("components");
    // A file laid out like /etc/shadow, readable by its owner only, with a hash to look for.
    const HASH: &str = "$6$SENTINELsalt$SENTINELhashSENTINELhash";
    let shadow = v.dir.path().join("shadow");
    std::fs::write(
        &shadow,
        format!("root:{HASH}:19000:0:99999:7:::\nops:{HASH}x:19000:0:99999:7:::\n"),
    )
    .unwrap();
    chmod(&shadow, 0o600);
    std::os::unix::fs::symlink(&shadow, components.join("evil.toml")).unwrap();
    let mut real: Vec<String> = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/etc/shadow") {
        std::os::unix::fs::symlink("/etc/shadow", components.join("real.toml")).unwrap();
        real = text
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .filter(|h| h.len() > 3)
            .map(str::to_string)
            .collect();
    }
    let o = v.keyway(&["component", "list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("evil.toml"), "the file is named: {all}");
    for needle in ["SENTINEL", "root:", "19000"] {
        assert!(!all.contains(needle), "{needle} printed: {all}");
    }
    for hash in &real {
        assert!(
            !all.contains(hash.as_str()),
            "a line of /etc/shadow printed"
        );
    }
}
