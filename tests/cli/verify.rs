//! "Nothing invalid is saved", through the real binary, against real loopback servers:
//! PostgreSQL and an HTTP API (a user-defined component pointed at it).

use crate::support::http::api_server;
use crate::support::pg::{PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use crate::support::{code, stderr, stdout, TestVault};
use serde_json::Value;

const API_KEY: &str = "sk_SENTINEL_cli_verify_91";

fn creds(v: &TestVault) -> Vec<Value> {
    let o = v.keyway(&["credential", "list", "--json"]);
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A vault with workspace "acme", a short verification deadline, and a user component
/// "loopback_api" whose check is GET {base_url}/v1/me with a bearer key.
fn vault() -> TestVault {
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    v
}

#[test]
fn postgres_wrong_password_is_refused_and_nothing_is_stored() {
    let pg = PgCluster::shared();
    let v = vault();
    let port = pg.port.to_string();
    let add = |password: &str, name: &str| {
        v.keyway_with(
            &[
                "credential",
                "add",
                "-w",
                "acme",
                "-c",
                "postgresql",
                "-n",
                name,
                "-f",
                "host=127.0.0.1",
                "-f",
                &format!("port={port}"),
                "-f",
                &format!("database={ETL_DATABASE}"),
                "-f",
                &format!("user={ETL_USER}"),
                "-f",
                "sslmode=disable",
                "-f",
                "password=-",
            ],
            &[("KEYWAY_PASSPHRASE", crate::support::PASS)],
            Some(&format!("{password}\n")),
        )
    };
    let o = add("wrong-password", "warehouse");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("was not saved"), "{}", stderr(&o));
    assert!(stderr(&o).contains("etl"), "{}", stderr(&o));
    assert!(creds(&v).is_empty(), "a rejected credential was stored");

    let o = add(ETL_PASSWORD, "warehouse");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("PostgreSQL"),
        "server version shown: {}",
        stdout(&o)
    );
    let list = creds(&v);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "verified");
    assert_eq!(list[0]["fields"]["password"], "********");
    assert!(!stdout(&o).contains(ETL_PASSWORD) && !stderr(&o).contains(ETL_PASSWORD));
    // Editing to a wrong password is refused and the stored one stays.
    let o = v.keyway_with(
        &[
            "credential",
            "edit",
            "-w",
            "acme",
            "warehouse",
            "-f",
            "password=-",
        ],
        &[("KEYWAY_PASSPHRASE", crate::support::PASS)],
        Some("nope\n"),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let o = v.keyway(&[
        "credential",
        "show",
        "-w",
        "acme",
        "warehouse",
        "--json",
        "--reveal",
    ]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["fields"]["password"], ETL_PASSWORD);
    // Verify and audit a healthy vault: exit 0.
    assert_eq!(
        code(&v.keyway(&["credential", "verify", "-w", "acme", "warehouse"])),
        0
    );
    assert_eq!(code(&v.keyway(&["audit"])), 0);
}

#[test]
fn http_keys_are_verified_before_saving_and_audited() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let base = format!("base_url={}", server.base_url());
    let v = vault();
    let add = |name: &str, key: &str, extra: &[&str]| {
        let key_arg = format!("api_key={key}");
        let mut args = vec!["-f", &base, "-f", &key_arg];
        args.extend(extra);
        v.add_loopback(name, &args)
    };
    let o = add("wrong", "sk_wrong", &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(creds(&v).is_empty());
    let o = add("prod", API_KEY, &["--env", "production"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("acct_42"), "{}", stdout(&o));
    assert!(!stdout(&o).contains(API_KEY) && !stderr(&o).contains(API_KEY));

    // Unreachable: refused unless --save-unverified, then stored with that status.
    let closed = crate::support::closed_base_url();
    let unreachable = |extra: &[&str]| {
        let mut args = vec!["-f", &closed, "-f", "api_key=sk_x"];
        args.extend(extra);
        v.add_loopback("later", &args)
    };
    let o = unreachable(&[]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("--save-unverified"), "{}", stderr(&o));
    assert_eq!(creds(&v).len(), 1);
    let o = unreachable(&["--save-unverified"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    let later = list.iter().find(|c| c["name"] == "later").unwrap();
    assert_eq!(later["status"], "unverified");

    // The audit re-verifies everything, flags the unverified one and exits 1.
    let o = v.keyway(&["audit", "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let report: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report.len(), 2);
    for key in [
        "component",
        "credential",
        "environment",
        "status",
        "reason",
        "latency_ms",
        "verified_at",
    ] {
        assert!(report[0].get(key).is_some(), "audit JSON lacks {key}");
    }
    let prod = report.iter().find(|r| r["credential"] == "prod").unwrap();
    assert_eq!(prod["status"], "verified");
    assert_eq!(prod["environment"], "production");
    let later = report.iter().find(|r| r["credential"] == "later").unwrap();
    assert_eq!(later["status"], "unreachable");
    // Results are recorded on the credentials. The audit found what the save did, so its check
    // joins the saved result's entry as a run of two rather than adding one.
    let o = v.keyway(&["credential", "show", "-w", "acme", "prod", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    let history = shown["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{shown}");
    assert_eq!(history[0]["checks"], 2, "{shown}");
    assert!(history[0]["first_at"].as_str().unwrap() <= history[0]["at"].as_str().unwrap());
    let o = v.keyway(&["credential", "show", "-w", "acme", "prod"]);
    assert!(stdout(&o).contains("[2 checks since "), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("accepted the key. (acct_42)"),
        "{}",
        stdout(&o)
    );
    // The table form names the reason.
    let o = v.keyway(&["audit", "--workspace", "acme"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("unreachable"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("1 verified, 1 not verified"),
        "{}",
        stdout(&o)
    );
    drop(rt);
}

#[test]
fn field_errors_name_the_field() {
    let v = vault();
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "-c",
                "postgresql",
                "-f",
                "host=db",
                "-f",
                "port=70000",
                "-f",
                "user=u",
                "-f",
                "password=p",
            ],
            "port",
        ),
        (
            &[
                "-c",
                "stripe",
                "-f",
                "base_url=api.stripe.com",
                "-f",
                "api_key=k",
            ],
            "base_url",
        ),
        (
            &["-c", "stripe", "-f", "colour=red", "-f", "api_key=k"],
            "colour",
        ),
        (
            &["-c", "postgresql", "-f", "host=db", "-f", "user=u"],
            "password",
        ),
    ];
    for (extra, field) in cases {
        let mut args = vec!["credential", "add", "-w", "acme", "-n", "x"];
        args.extend(extra);
        let o = v.keyway(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("field '{field}'")),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = v.keyway(&[
        "credential",
        "add",
        "-w",
        "acme",
        "-n",
        "x",
        "-c",
        "stripe",
        "-f",
        "api_key",
    ]);
    assert_eq!(code(&o), 2);
    let o = v.keyway(&[
        "credential",
        "add",
        "-w",
        "acme",
        "-n",
        "x",
        "-c",
        "nosuch",
        "-f",
        "a=b",
    ]);
    assert_eq!(code(&o), 2);
    assert!(creds(&v).is_empty());
}

#[test]
fn audits_report_expiry_and_can_fail_on_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let base = format!("base_url={}", server.base_url());
    let v = vault();
    let soon = keyway::clock::now().0 + 3 * 86_400;
    let soon = keyway::core::time::Timestamp(soon).rfc3339();
    let key = format!("api_key={API_KEY}");
    let expires = format!("expires_at={soon}");
    let o = v.add_loopback("k", &["-f", &base, "-f", &key, "-f", &expires]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.add_loopback(
        "bad-date",
        &["-f", &base, "-f", &key, "-f", "expires_at=soonish"],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // Verified, expiring in 3 days: within the default 14-day window, so flagged...
    let o = v.keyway(&["audit", "--json"]);
    assert_eq!(
        code(&o),
        0,
        "expiry alone does not fail a plain audit: {}",
        stderr(&o)
    );
    let report: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report[0]["expiry_state"], "soon");
    assert_eq!(report[0]["expires_at"], soon.as_str());
    let secs = report[0]["expires_in_secs"].as_i64().unwrap();
    assert!((3 * 86_400 - 120..=3 * 86_400).contains(&secs), "{secs}");
    // ...and --fail-on-expiring makes cron notice.
    assert_eq!(code(&v.keyway(&["audit", "--fail-on-expiring", "7"])), 1);
    assert_eq!(code(&v.keyway(&["audit", "--fail-on-expiring", "1"])), 0);
    let o = v.keyway(&["audit"]);
    assert!(stdout(&o).contains("expires in"), "{}", stdout(&o));
    drop(rt);
}

#[test]
fn a_credential_whose_component_is_gone_fails_the_audit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(api_server(API_KEY, None));
    let base = format!("base_url={}", server.base_url());
    let v = vault();
    let key = format!("api_key={API_KEY}");
    assert_eq!(code(&v.add_loopback("kept", &["-f", &base, "-f", &key])), 0);
    let file = v.dir.path().join("components").join("loopback_api.toml");
    let healthy = std::fs::read_to_string(&file).unwrap();
    for (how, content) in [
        ("removed", None),
        ("broken", Some("id = \"loopback_api\"\nname = ")),
    ] {
        match content {
            None => std::fs::remove_file(&file).unwrap(),
            Some(text) => std::fs::write(&file, text).unwrap(),
        }
        let o = v.keyway(&["audit"]);
        assert_eq!(code(&o), 1, "{how}: {}{}", stdout(&o), stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("kept") && out.contains("misconfigured"),
            "{how}: {out}"
        );
        assert!(out.contains("not in the catalogue"), "{how}: {out}");
        assert!(out.contains("0 verified, 1 not verified"), "{how}: {out}");
        let o = v.keyway(&["audit", "--json"]);
        assert_eq!(code(&o), 1, "{how}: {}", stderr(&o));
        let report: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report.len(), 1, "{how}: {report:?}");
        assert_eq!(report[0]["credential"], "kept");
        assert_eq!(report[0]["status"], "misconfigured");
        let o = v.keyway(&["credential", "verify", "-w", "acme", "kept"]);
        assert_eq!(code(&o), 1, "{how}: {}{}", stdout(&o), stderr(&o));
        assert!(!stdout(&o).contains("No credentials to verify"), "{how}");
        assert!(
            stdout(&o).contains("misconfigured"),
            "{how}: {}",
            stdout(&o)
        );
    }
    // The stored result is what the last real check found: nothing was recorded for a check
    // that could not be made, and with the definition back the audit passes again.
    std::fs::write(&file, healthy).unwrap();
    let o = v.keyway(&["audit"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = v.keyway(&["credential", "show", "-w", "acme", "kept", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    let history = shown["history"].as_array().unwrap();
    assert!(history.iter().all(|h| h["status"] == "verified"), "{shown}");
    drop(rt);
}

/// The save rule is the TUI's (core::save): saved unverified, a credential keeps what the check
/// found, its reason (marked "Saved unverified"), latency and detail.
#[test]
fn saved_unverified_records_the_checks_reason_latency_and_detail() {
    let v = vault();
    let closed = crate::support::closed_base_url();
    let add = |extra: &[&str]| {
        let mut args = vec!["-f", &closed, "-f", "api_key=sk_x"];
        args.extend(extra);
        v.add_loopback("later", &args)
    };
    let refused = add(&[]);
    assert_eq!(code(&refused), 1);
    let saved = add(&["--save-unverified"]);
    assert_eq!(code(&saved), 0, "{}", stderr(&saved));
    let o = v.keyway(&["credential", "show", "-w", "acme", "later", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["status"], "unverified");
    let reason = shown["reason"].as_str().unwrap();
    let found = reason
        .strip_prefix("Saved unverified: ")
        .unwrap_or_else(|| panic!("not marked: {reason}"));
    assert!(
        stderr(&refused).contains(found),
        "the check's own reason, as the refusal gave it: {reason} / {}",
        stderr(&refused)
    );
    assert!(shown["latency_ms"].is_u64(), "{shown}");
    assert!(shown["detail"].is_null(), "{shown}");
    let newest = &shown["history"][0];
    for key in ["status", "reason", "latency_ms", "detail"] {
        assert_eq!(newest[key], shown[key], "history's {key}");
    }
}
