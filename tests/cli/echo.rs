//! A service that echoes the key it was sent, in every form a leak could take, through the real
//! binary: nothing of the key reaches `credential add`, `credential list --json`, `audit
//! --json` or `show`; and the key is stored as it is sent, without the whitespace of a paste.

use crate::support::http::{echo_server, ECHO_MODES};
use crate::support::{code, loopback_toml, stderr, stdout, TestVault, BEARER};
use serde_json::Value;

/// The key, longer than a detail, pasted with whitespace around it.
const KEY: &str =
    "SENTINEL-9f3a7c/Zq81Yx72Wv63Ut54Sr45Qp36On27Ml18Kj09Ih98Gf87Ed76Cb65Az54Yx43Wv32";

/// Every form of KEY a leak could take (see tests/verify/hostile.rs, which checks the same at
/// the verifier).
fn assert_no_leak(what: &str, text: &str) {
    if let Some(form) = crate::support::leaked_form(text, KEY) {
        panic!("{what} leaks the key as {form:?}:\n{text}");
    }
}

#[test]
fn an_echoed_key_reaches_no_output_in_any_form() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let echo = rt.block_on(echo_server());
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let modes = ECHO_MODES;
    // One component per way of echoing; the catalogue's loopback component is `loopback_api`.
    let components = v.dir.path().join("components");
    for mode in modes {
        let toml = loopback_toml(&format!("/echo/{mode}"), BEARER, Some("/account/id"))
            .replace("id = \"loopback_api\"", &format!("id = \"echo_{mode}\""))
            .replace(
                "name = \"Loopback API\"",
                &format!("name = \"Echo {mode}\""),
            );
        std::fs::write(components.join(format!("echo_{mode}.toml")), toml).unwrap();
    }
    let base = format!("base_url=http://{echo}");
    let key = format!("api_key=  {KEY}  ");
    for mode in modes {
        let component = format!("echo_{mode}");
        let o = v.keyway(&[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            &component,
            "-n",
            mode,
            "-f",
            &base,
            "-f",
            &key,
        ]);
        assert_eq!(code(&o), 0, "{mode}: {}", stderr(&o));
        assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
        assert_no_leak(
            &format!("add {mode}"),
            &format!("{}{}", stdout(&o), stderr(&o)),
        );
    }
    for args in [
        vec!["credential", "list", "--json"],
        vec!["audit", "--json"],
        vec!["audit"],
    ] {
        let o = v.keyway(&args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_no_leak(&args.join(" "), &format!("{}{}", stdout(&o), stderr(&o)));
    }
    for mode in modes {
        for json in [false, true] {
            let mut args = vec!["credential", "show", "-w", "acme", mode];
            if json {
                args.push("--json");
            }
            let o = v.keyway(&args);
            assert_eq!(code(&o), 0, "{}", stderr(&o));
            assert_no_leak(&args.join(" "), &format!("{}{}", stdout(&o), stderr(&o)));
        }
    }
    // The one trimming rule: what was stored is what was sent, the key without the spaces.
    let o = v.keyway(&[
        "credential",
        "show",
        "-w",
        "acme",
        "plain",
        "--json",
        "--reveal",
    ]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["fields"]["api_key"], KEY);
    assert_eq!(
        shown["detail"],
        Value::Null,
        "a detail that held the key is dropped"
    );
    drop(rt);
}
