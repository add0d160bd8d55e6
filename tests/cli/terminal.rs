//! No escape sequence from outside reaches the terminal: not through an error message, a user
//! component file, a TOML error quoting the offending line, a provider's device-login answer, a
//! token it issued (revealed later), or an import's plan lines. The text still shows, with each
//! hidden or control character written out visibly (`\u{1b}`).

use std::process::Output;

use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::support::http::serve;
use crate::support::{code, keyway_exporting, stderr, stdout, write_export, TestVault};

/// Bytes a terminal acts on: ESC, BEL, CSI as a C1 control (UTF-8 C2 9B), and RLO (U+202E).
fn assert_clean(what: &str, o: &Output) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
            "{what}: raw ESC/BEL on {stream}: {text:?}"
        );
        for seq in ["\u{9b}", "\u{202e}"] {
            assert!(
                !text.contains(seq),
                "{what}: raw {seq:?} on {stream}: {text:?}"
            );
        }
    }
}

#[test]
fn an_argument_in_an_error_message_is_shown_escaped() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    let o = v.keyway(&["credential", "show", "-w", "\u{1b}]0;PWNED\u{7}", "x"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_clean("credential show -w ESC", &o);
    assert!(
        stderr(&o).contains("\\u{1b}]0;PWNED\\u{7}"),
        "the name still shows: {}",
        stderr(&o)
    );
}

#[test]
fn user_component_files_and_toml_errors_are_shown_escaped() {
    let v = TestVault::with_loopback_component();
    let components = v.dir.path().join("components");
    let hostile = crate::support::loopback_toml("/v1/me", crate::support::BEARER, None)
        .replace("id = \"loopback_api\"", "id = \"hostile\"")
        .replace(
            "name = \"Loopback API\"",
            "name = \"Evil\\u202Elipa\"\ndescription = \"cleared\\u001b[2J\\u009b31m\"",
        );
    std::fs::write(components.join("hostile.toml"), hostile).unwrap();
    for args in [
        vec!["component", "list"],
        vec!["component", "list", "--json"],
        vec!["component", "show", "hostile"],
        vec!["component", "show", "hostile", "--json"],
    ] {
        let o = v.keyway(&args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_clean(&format!("{args:?}"), &o);
    }
    let o = v.keyway(&["component", "show", "hostile"]);
    assert!(stdout(&o).contains("Evil\\u{202e}lipa"), "{}", stdout(&o));
    assert!(stdout(&o).contains("cleared\\u{1b}[2J"), "{}", stdout(&o));
    // JSON keeps the exact value, escaped.
    let o = v.keyway(&["component", "show", "hostile", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["name"], "Evil\u{202e}lipa");

    // A raw ESC in a TOML file: the error quotes nothing a terminal acts on.
    std::fs::write(
        components.join("broken.toml"),
        "id = \"x\u{1b}]0;PWNED\u{7}\n",
    )
    .unwrap();
    let o = v.keyway(&["component", "list"]);
    assert_clean("a broken component file", &o);
    let config = std::fs::read_to_string(&v.config).unwrap();
    std::fs::write(
        &v.config,
        format!("{config}[ui]\nauto_lock_minutes = \"\u{1b}]0;PWNED\u{7}\"\n"),
    )
    .unwrap();
    let o = v.keyway(&["workspace", "list"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_clean("a broken config file", &o);
}

/// A device login whose provider answers with escape sequences in the user code and the
/// complete verification address, and issues an access token holding a C1 CSI.
async fn hostile_provider() -> std::net::SocketAddr {
    const TOKEN: &str = "at_\u{9b}31mred";
    let router = Router::new()
        .route(
            "/device/code",
            post(|| async {
                Json(json!({
                    "device_code": "dc-1",
                    "user_code": "AB\u{1b}]0;PWNED\u{7}CD",
                    "verification_uri": "https://device.example/activate",
                    "verification_uri_complete": "https://device.example/activate?c=\u{1b}[2J",
                    "expires_in": 60,
                    "interval": 1,
                }))
            }),
        )
        .route(
            "/token",
            post(|| async {
                Json(json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600}))
            }),
        )
        .route(
            "/userinfo",
            get(|headers: axum::http::HeaderMap| async move {
                let sent = headers
                    .get("authorization")
                    .map(|v| v.as_bytes().to_vec())
                    .unwrap_or_default();
                if sent == format!("Bearer {TOKEN}").as_bytes() {
                    Json(json!({"sub": "u\u{1b}[31m"})).into_response()
                } else {
                    axum::http::StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        );
    serve(router).await
}

#[test]
fn a_hostile_providers_codes_and_tokens_are_shown_escaped() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(hostile_provider());
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let url = |path: &str| format!("http://{addr}{path}");
    let fields = [
        format!("base_url={}", url("")),
        "client_id=c".to_string(),
        format!("token_url={}", url("/token")),
        format!("device_authorization_url={}", url("/device/code")),
    ];
    let mut args = vec![
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "generic_oauth2",
        "-n",
        "crm",
        "--login",
    ];
    for f in &fields {
        args.extend(["-f", f.as_str()]);
    }
    let o = v.keyway(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_clean("credential add --login", &o);
    assert!(
        stderr(&o).contains("AB\\u{1b}]0;PWNED\\u{7}CD"),
        "the code still shows: {}",
        stderr(&o)
    );
    for args in [
        vec!["credential", "show", "-w", "acme", "crm", "--reveal"],
        vec![
            "credential",
            "show",
            "-w",
            "acme",
            "crm",
            "--reveal",
            "--json",
        ],
        vec!["credential", "list"],
        vec!["audit"],
        vec!["audit", "--json"],
    ] {
        let o = v.keyway(&args);
        assert_clean(&format!("{args:?}"), &o);
    }
    let o = v.keyway(&["credential", "show", "-w", "acme", "crm", "--reveal"]);
    assert!(stdout(&o).contains("at_\\u{9b}31mred"), "{}", stdout(&o));
    let o = v.keyway(&[
        "credential",
        "show",
        "-w",
        "acme",
        "crm",
        "--reveal",
        "--json",
    ]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["fields"]["access_token"], "at_\u{9b}31mred");
    drop(rt);
}

#[test]
fn an_imports_plan_lines_are_shown_escaped() {
    use keyway::core::secret::SecretFields;
    use keyway::core::time::Timestamp;
    use keyway::core::{Status, Verification};
    use keyway::transfer::ExportedCredential;

    let mut secrets = SecretFields::new();
    secrets.insert("api_key", secrecy::SecretString::from("sk_x"));
    let crafted = ExportedCredential {
        component: "loopback_api".into(),
        name: "bad\u{1b}]0;PWNED\u{7}name".into(),
        environment: "staging".into(),
        public: [("base_url".to_string(), "http://127.0.0.1:9".to_string())].into(),
        secrets,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        history: vec![Verification {
            status: Status::Verified,
            reason: "ok\u{1b}]0;PWNED\u{7}\u{1b}[2J".into(),
            detail: Some("\u{9b}31m".into()),
            latency_ms: None,
            at: Timestamp(1),
            run: None,
            tls: None,
        }],
    };
    let v = TestVault::with_loopback_component();
    let file = v.dir.path().join("crafted.kwx");
    write_export(&file, "acme\u{1b}[2J", vec![crafted]);
    let o = keyway_exporting(&v, &["import", &file.to_string_lossy(), "--no-verify"]);
    assert_clean("import of a crafted file", &o);
    assert!(stderr(&o).contains("\\u{1b}"), "{}", stderr(&o));
}

#[test]
fn table_columns_line_up_by_display_width() {
    use unicode_width::UnicodeWidthStr;
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    for name in ["東京チーム", "ab", "café-ops", "x\u{1b}y"] {
        let o = v.keyway(&["workspace", "add", name]);
        // The control character is refused as a name; the others make rows.
        assert_eq!(
            code(&o),
            if name.contains('\u{1b}') { 2 } else { 0 },
            "{}",
            stderr(&o)
        );
    }
    let o = v.keyway(&["workspace", "list"]);
    let out = stdout(&o);
    let columns: Vec<usize> = out
        .lines()
        .map(|l| {
            let at = l
                .find("CREDENTIALS")
                .or_else(|| l.find(|c: char| c.is_ascii_digit()))
                .expect("a count");
            l[..at].width()
        })
        .collect();
    assert_eq!(columns.len(), 4, "{out}");
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "{columns:?}\n{out}"
    );
}
