//! OAuth2 from the terminal through the real binary: `credential add --login` runs the device
//! grant against a loopback provider, shows the code, and saves the verified tokens;
//! `credential login` refreshes a stored credential's tokens the same way.

use crate::support::oauth::{provider, DeviceStep, CLIENT_ID, USER_CODE};
use crate::support::{code, stderr, stdout, TestVault};
use serde_json::Value;

#[test]
fn device_login_from_the_cli_saves_verified_tokens() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let p = rt.block_on(provider(
        &[DeviceStep::Pending, DeviceStep::Grant, DeviceStep::Denied],
        1,
        60,
    ));
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let mut args: Vec<String> = [
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "generic_oauth2",
        "-n",
        "crm",
        "--login",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (k, val) in p.fields() {
        args.push("-f".into());
        args.push(format!("{k}={val}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = v.keyway(&argv);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(USER_CODE),
        "the user code is shown: {}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    // The stored credential, secrets included.
    let show = || -> Value {
        let o = v.keyway(&[
            "credential",
            "show",
            "-w",
            "acme",
            "crm",
            "--json",
            "--reveal",
        ]);
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let shown = show();
    assert_eq!(shown["status"], "verified");
    assert_eq!(shown["fields"]["client_id"], CLIENT_ID);
    let token = shown["fields"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!token.is_empty());
    assert!(shown["fields"]["expires_at"].is_string(), "{shown}");
    // The next poll answer is access_denied: a login that the user refuses saves nothing new.
    let o = v.keyway(&["credential", "login", "-w", "acme", "crm"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).to_lowercase().contains("denied"),
        "{}",
        stderr(&o)
    );
    let shown = show();
    assert_eq!(shown["fields"]["access_token"], token.as_str());
    // A credential that does not exist is refused as such.
    let o = v.keyway(&["credential", "login", "-w", "acme", "nope"]);
    assert_eq!(code(&o), 1);
    // Login is for OAuth2 only: an API key is refused as a usage error. (Nothing listens on
    // the free port: the key is saved unverified.)
    let closed = crate::support::closed_base_url();
    let o = v.keyway(&[
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "generic_api_key",
        "-n",
        "plain",
        "-f",
        &closed,
        "-f",
        "api_key=k",
        "--save-unverified",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.keyway(&["credential", "login", "-w", "acme", "plain"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("login only applies to OAuth2"),
        "{}",
        stderr(&o)
    );
    drop(rt);
}

/// `keyway audit` (its summary, `--fail-on-expiring`, `expiry_state` in the JSON) counts what
/// keyway cannot renew (core::expiry's rule): an OAuth2 credential whose 1-hour access token
/// a working refresh token renews is not expiring; one whose refresh token lapses in 3 days is.
#[test]
fn audit_counts_what_keyway_cannot_renew_not_the_hourly_access_token() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let p = rt.block_on(provider(&[DeviceStep::Grant, DeviceStep::Grant], 1, 60));
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let login = |name: &str| {
        let mut args: Vec<String> = ["credential", "add", "-w", "acme", "-c", "generic_oauth2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["-n".to_string(), name.to_string(), "--login".to_string()]);
        for (k, val) in p.fields() {
            args.push("-f".into());
            args.push(format!("{k}={val}"));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = v.keyway(&argv);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    };
    let audit_json = || -> Vec<Value> {
        let o = v.keyway(&["audit", "-w", "acme", "--json"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // The provider's access tokens last an hour; this refresh token states no expiry.
    login("renewable");
    let report = audit_json();
    assert_eq!(report.len(), 1);
    assert!(
        report[0]["expires_at"].is_string(),
        "the access token's hour is recorded: {report:?}"
    );
    assert_eq!(report[0]["expiry_state"], "none", "{report:?}");
    let o = v.keyway(&["audit", "-w", "acme", "--fail-on-expiring", "14"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("0 expiring within 14 days"),
        "{}",
        stdout(&o)
    );

    // The next refresh token lapses in 3 days: that is what the user must act on.
    p.set_refresh_lifetime(serde_json::json!(3 * 86_400));
    login("lapsing");
    let report = audit_json();
    let state = |name: &str| {
        report
            .iter()
            .find(|r| r["credential"] == name)
            .map(|r| r["expiry_state"].clone())
    };
    assert_eq!(state("renewable"), Some(Value::from("none")), "{report:?}");
    assert_eq!(state("lapsing"), Some(Value::from("soon")), "{report:?}");
    let o = v.keyway(&["audit", "-w", "acme", "--fail-on-expiring", "14"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("1 expiring within 14 days"),
        "{}",
        stdout(&o)
    );
    // A window shorter than the refresh token's 3 days: nothing lapses within it.
    let o = v.keyway(&["audit", "-w", "acme", "--fail-on-expiring", "2"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    drop(rt);
}
