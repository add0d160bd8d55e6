//! Look-alike names through the real binary: characters that hide or reorder text are refused
//! in every kind of name and in environments, and a name is one name in either Unicode spelling.

use crate::support::{code, stderr, stdout, TestVault};
use serde_json::Value;

#[test]
fn look_alike_names_are_refused_and_spellings_are_one_name() {
    let v = TestVault::new();
    assert_eq!(code(&v.keyway(&["init"])), 0);
    for bad in [
        "good\u{202E}dab",
        "zero\u{200B}width",
        "\u{FEFF}bom",
        "line\u{2028}sep",
        "para\u{2029}sep",
        "nb\u{00A0}sp",
    ] {
        let o = v.keyway(&["workspace", "add", bad]);
        assert_eq!(code(&o), 2, "{bad:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("workspace name must not contain"),
            "{}",
            stderr(&o)
        );
        let o = v.keyway(&[
            "credential",
            "add",
            "-w",
            "acme",
            "-c",
            "stripe",
            "-n",
            "x",
            "--env",
            bad,
            "-f",
            "api_key=k",
        ]);
        assert_eq!(code(&o), 2, "environment {bad:?}: {}", stderr(&o));
    }
    let nfc = "caf\u{e9}";
    let nfd = "cafe\u{301}";
    assert_eq!(code(&v.keyway(&["workspace", "add", nfc])), 0);
    let o = v.keyway(&["workspace", "add", nfd]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = v.keyway(&["flow", "list", "-w", nfd, "--json"]);
    assert_eq!(code(&o), 0, "the other spelling finds it: {}", stderr(&o));
    let o = v.keyway(&["workspace", "list", "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list.len(), 1, "{}", stdout(&o));
}
