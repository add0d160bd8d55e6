//! Shared loopback servers for the verification tests and benchmarks: a PostgreSQL cluster, an
//! API-key server (with a 500 path and a 302 to a "trap" port that records whether the key
//! reached it) and an OAuth2 provider. Everything listens on 127.0.0.1 only.
#![allow(dead_code)] // each test binary uses a different part of this file

pub mod http;
pub mod oauth;
pub mod pg;

use std::collections::BTreeMap;

use keyway::catalog::{parse_component, Catalog, Component};
use keyway::config::VerifyConfig;
use keyway::core::secret::SecretFields;
use keyway::core::time::Timestamp;
use keyway::core::{Credential, Environment, RecordId};
use keyway::verify::Verifier;
use secrecy::SecretString;

/// A value that must never show up in any reason, detail or Debug output.
pub const SENTINEL: &str = "sk_SENTINEL_7f3a9c";

pub const NOW: Timestamp = Timestamp(1_780_000_000);

pub fn credential(
    component: &str,
    public: &[(&str, &str)],
    secrets: &[(&str, &str)],
) -> Credential {
    let mut s = SecretFields::new();
    for (k, v) in secrets {
        s.insert(*k, SecretString::from(v.to_string()));
    }
    Credential {
        id: RecordId(format!("{component}-{}", public.len() + secrets.len())),
        workspace: RecordId("w".into()),
        component: component.into(),
        name: "test".into(),
        environment: Environment::Staging,
        public: public
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        secrets: s,
        created_at: NOW,
        updated_at: NOW,
        last_verification: None,
    }
}

/// No "SENTINEL" (every test secret carries it) in an outcome's reason, detail or Debug.
pub fn assert_no_secret(o: &keyway::verify::Outcome) {
    let all = format!("{} {:?} {o:?}", o.reason, o.detail);
    assert!(!all.contains("SENTINEL"), "secret leaked: {all}");
}

/// A `base_url=` field for a loopback port nothing listens on: verification finds it unreachable.
pub fn closed_base_url() -> String {
    format!("base_url=http://127.0.0.1:{}", pg::free_port())
}

pub fn verifier(connect_timeout_secs: u64, deadline_secs: u64) -> Verifier {
    Verifier::new(&VerifyConfig {
        concurrency: 16,
        connect_timeout_secs,
        deadline_secs,
    })
    .expect("verifier builds")
}

pub fn builtin(id: &str) -> Component {
    Catalog::builtin()
        .expect("builtin catalogue")
        .get(id)
        .unwrap_or_else(|| panic!("no builtin component {id}"))
        .clone()
}

/// A test-only API-key component: GET `path` with the key placed as `auth` (TOML inline table).
pub fn api_component(path: &str, auth: &str, detail_pointer: Option<&str>) -> Component {
    let pointer = detail_pointer
        .map(|p| format!("detail_pointer = \"{p}\"\n"))
        .unwrap_or_default();
    let text = format!(
        r#"
id = "loopback_api"
name = "Loopback API"
kind = "api_key"
icon = "L"

[[fields]]
name = "base_url"
label = "Base URL"
required = true
validate = "url"

[[fields]]
name = "account_sid"
label = "Account"

[[fields]]
name = "api_key"
label = "Key"
secret = true
required = true

[verify]
engine = "http"
method = "GET"
path = "{path}"
auth = {auth}
ok_status = [200]
{pointer}"#
    );
    parse_component("tests/loopback_api.toml", &text).expect("test component parses")
}
