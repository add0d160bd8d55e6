//! Flows through the real binary: scoping refusals, the active-flow rules, the delete guard,
//! rebinding and promotion.

use crate::support::{code, stderr, stdout, TestVault};
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::{Environment, Status, Verification};
use keyway::store::CredentialDraft;
use serde_json::Value;
use std::process::Output;

/// Workspaces acme and globex; acme holds stripe/st-staging (staging), stripe/st-live
/// (production), postgresql/pg-staging (staging), postgresql/pg-a and pg-b (production) and
/// github/gh-bad (rejected); globex holds stripe/theirs.
fn seeded() -> TestVault {
    let v = TestVault::new();
    let mut store = v.create();
    let catalog = keyway::catalog::Catalog::builtin().unwrap();
    let acme = store.add_workspace("acme", Timestamp(1)).unwrap();
    let globex = store.add_workspace("globex", Timestamp(1)).unwrap();
    let creds = [
        (
            &acme,
            "stripe",
            "st-staging",
            Environment::Staging,
            Status::Verified,
        ),
        (
            &acme,
            "stripe",
            "st-live",
            Environment::Production,
            Status::Verified,
        ),
        (
            &acme,
            "postgresql",
            "pg-staging",
            Environment::Staging,
            Status::Verified,
        ),
        (
            &acme,
            "postgresql",
            "pg-a",
            Environment::Production,
            Status::Verified,
        ),
        (
            &acme,
            "postgresql",
            "pg-b",
            Environment::Production,
            Status::Verified,
        ),
        (
            &acme,
            "github",
            "gh-bad",
            Environment::Staging,
            Status::Rejected,
        ),
        (
            &globex,
            "stripe",
            "theirs",
            Environment::Staging,
            Status::Verified,
        ),
    ];
    for (w, component, name, env, status) in creds {
        let changes = match component {
            "postgresql" => vec![
                ("host".to_string(), FieldValue::Plain("db".into())),
                ("user".to_string(), FieldValue::Plain("etl".into())),
                ("password".to_string(), FieldValue::Plain("pw".into())),
            ],
            _ => vec![("api_key".to_string(), FieldValue::Plain("k".into()))],
        };
        let draft = CredentialDraft {
            workspace: w.id.clone(),
            component: component.into(),
            name: name.into(),
            environment: env,
            changes,
        };
        let mut c = store
            .prepare_credential(&catalog, draft, None, Timestamp(2))
            .unwrap();
        c.record_verification(Verification {
            status,
            reason: "seeded".into(),
            detail: None,
            latency_ms: Some(1),
            at: Timestamp(3),
            run: None,
            tls: None,
        });
        store.save_credential(c).unwrap();
    }
    v
}

/// `keyway flow add -w acme -n NAME [--active] --step STEP ...`.
fn add_flow(v: &TestVault, name: &str, active: bool, steps: &[&str]) -> Output {
    let mut args = vec!["flow", "add", "-w", "acme", "-n", name];
    if active {
        args.push("--active");
    }
    for step in steps {
        args.extend(["--step", step]);
    }
    v.keyway(&args)
}

fn flows(v: &TestVault) -> Vec<Value> {
    let o = v.keyway(&["flow", "list", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn steps_only_use_the_flows_workspace_and_component() {
    let v = seeded();
    let o = add_flow(&v, "x", false, &["stripe=theirs"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("belongs to workspace 'globex'"),
        "{}",
        stderr(&o)
    );
    let o = add_flow(&v, "x", false, &["postgresql=st-staging"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("is a stripe credential and cannot be used for postgresql"),
        "{}",
        stderr(&o)
    );
    let o = add_flow(&v, "x", false, &["nosuch=a"]);
    assert_eq!(code(&o), 2);
    let o = add_flow(&v, "x", false, &["stripe"]);
    assert_eq!(code(&o), 2);
    assert!(flows(&v).is_empty());
}

#[test]
fn active_flows_need_working_credentials_and_guard_their_credentials() {
    let v = seeded();
    let o = add_flow(&v, "sync", true, &["stripe=st-staging", "github=gh-bad"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("cannot be active") && stderr(&o).contains("rejected"),
        "{}",
        stderr(&o)
    );
    // Inactive is allowed, and the failing step is marked.
    let o = add_flow(&v, "sync", false, &["stripe=st-staging", "github=gh-bad"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = flows(&v);
    assert_eq!(list[0]["active"], false);
    assert_eq!(list[0]["steps"][1]["failing"], true);
    assert_eq!(list[0]["steps"][0]["failing"], false);
    assert!(stdout(&v.keyway(&["flow", "list"])).contains("(!)"));
    // Activation is refused until the failing step is rebound.
    assert_eq!(
        code(&v.keyway(&["flow", "activate", "-w", "acme", "sync"])),
        1
    );
    let o = v.keyway(&[
        "flow",
        "rebind",
        "-w",
        "acme",
        "sync",
        "--step",
        "github=st-live",
    ]);
    assert_eq!(
        code(&o),
        1,
        "a stripe credential cannot serve the github step"
    );
    assert_eq!(code(&v.keyway(&["flow", "rm", "-w", "acme", "sync"])), 0);
    let o = add_flow(
        &v,
        "billing",
        true,
        &["stripe=st-staging", "postgresql=pg-staging"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The delete guard names the flow.
    let o = v.keyway(&["credential", "rm", "-w", "acme", "st-staging"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("'billing'"), "{}", stderr(&o));
    // Deactivated, the credential can go.
    assert_eq!(
        code(&v.keyway(&["flow", "deactivate", "-w", "acme", "billing"])),
        0
    );
    assert_eq!(
        code(&v.keyway(&["credential", "rm", "-w", "acme", "st-staging"])),
        0
    );
}

#[test]
fn promotion_rebinds_to_production_credentials() {
    let v = seeded();
    let o = add_flow(
        &v,
        "billing",
        true,
        &["stripe=st-staging", "postgresql=pg-staging"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Two production PostgreSQL credentials: keyway asks which.
    let o = v.keyway(&["flow", "promote", "-w", "acme", "billing"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("'pg-a'") && stderr(&o).contains("'pg-b'"),
        "{}",
        stderr(&o)
    );
    let o = v.keyway(&[
        "flow",
        "promote",
        "-w",
        "acme",
        "billing",
        "--step",
        "postgresql=pg-b",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = flows(&v);
    assert_eq!(list.len(), 2, "the staging flow is kept");
    let prod = list
        .iter()
        .find(|f| f["name"] == "billing-production")
        .unwrap();
    assert_eq!(prod["environment"], "production");
    assert_eq!(prod["active"], true);
    assert_eq!(
        prod["steps"][0]["credential"], "st-live",
        "picked automatically"
    );
    assert_eq!(prod["steps"][1]["credential"], "pg-b");
    // A flow with a component that has no production credential.
    let o = add_flow(&v, "gh", false, &["github=gh-bad"]);
    assert_eq!(code(&o), 0);
    let o = v.keyway(&["flow", "promote", "-w", "acme", "gh"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("no production credential"),
        "{}",
        stderr(&o)
    );
    // --move replaces the staging flow.
    let o = v.keyway(&[
        "flow",
        "promote",
        "-w",
        "acme",
        "billing-production",
        "--to",
        "staging",
        "--move",
        "--step",
        "postgresql=pg-staging",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let names: Vec<String> = flows(&v)
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"billing-production".to_string()));
    assert_eq!(names.len(), 3);
}
