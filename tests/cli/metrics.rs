//! `keyway audit --format prometheus` through the real binary against a loopback API: the file
//! parses as the Prometheus text format (prometheus-parse, and the format's grammar checked
//! line by line), it is replaced atomically, and it holds no secret and no field value.

use std::io::Read;
use std::os::unix::fs::MetadataExt;

use crate::support::http::api_server;
use crate::support::{closed_base_url, code, stderr, stdout, TestVault};

const KEY: &str = "sk_SENTINEL_metrics_good";

/// Workspace acme with three loopback_api credentials: good (the server's key, an expiry date
/// set), say "hi"\ (a wrong key: rejected) and gone (a port nothing listens on: unreachable).
async fn seeded() -> (TestVault, crate::support::http::ApiServer) {
    let server = api_server(KEY, None).await;
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    let base = format!("base_url={}", server.base_url());
    let good_key = format!("api_key={KEY}");
    let o = v.add_loopback(
        "good",
        &["-f", &base, "-f", &good_key, "-f", "expires_at=2031-01-01"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.add_loopback(
        "gone",
        &[
            "-f",
            &closed_base_url(),
            "-f",
            "api_key=sk_SENTINEL_gone",
            "--save-unverified",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Saved while the server still took it, then the server changes its mind: rejected at
    // the audit. (Written through the library: the binary saves nothing the server rejects.)
    let mut store = v.open();
    let catalog = keyway::catalog::Catalog::load(Some(&v.dir.path().join("components")))
        .unwrap()
        .catalog;
    let w = store
        .snapshot()
        .workspace_by_name("acme")
        .unwrap()
        .id
        .clone();
    let draft = keyway::store::CredentialDraft {
        workspace: w,
        component: "loopback_api".into(),
        name: "say \"hi\"\\".into(),
        environment: keyway::core::Environment::Production,
        changes: vec![
            (
                "base_url".into(),
                keyway::core::input::FieldValue::Plain(server.base_url()),
            ),
            (
                "api_key".into(),
                keyway::core::input::FieldValue::Plain("sk_SENTINEL_revoked".into()),
            ),
        ],
    };
    let c = store
        .prepare_credential(&catalog, draft, None, keyway::clock::now())
        .unwrap();
    store.save_credential(c).unwrap();
    drop(store);
    (v, server)
}

/// The text exposition format's grammar, line by line: comments are HELP or TYPE lines of a
/// metric name; a sample is a metric name, optional labels with escaped values, and a value,
/// with no timestamp (node_exporter's textfile collector refuses those).
fn check_grammar(text: &str) {
    let metric_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    assert!(text.ends_with('\n'), "the last line ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name, tail) = (words.next(), words.next(), words.next());
            assert!(matches!(kind, Some("HELP" | "TYPE")), "{line}");
            assert!(name.is_some_and(metric_name), "{line}");
            if kind == Some("TYPE") {
                assert_eq!(tail, Some("gauge"), "{line}");
            }
            continue;
        }
        let (name_and_labels, value) = line.rsplit_once(' ').expect("a value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let (name, labels) = match name_and_labels.split_once('{') {
            Some((n, l)) => (n, Some(l.strip_suffix('}').expect("labels close"))),
            None => (name_and_labels, None),
        };
        assert!(metric_name(name), "{line}");
        let Some(mut labels) = labels else { continue };
        while !labels.is_empty() {
            let (label, rest) = labels.split_once("=\"").expect("label=\"value\"");
            assert!(metric_name(label) && !label.contains(':'), "{line}");
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next().expect("the value closes") {
                    (_, '\\') => {
                        let (_, escaped) = chars.next().expect("an escape");
                        assert!(matches!(escaped, '\\' | '"' | 'n'), "{line}");
                    }
                    (_, '\n') => panic!("a raw line feed in {line}"),
                    (i, '"') => break i,
                    _ => {}
                }
            };
            labels = rest[end + 1..]
                .strip_prefix(',')
                .unwrap_or(&rest[end + 1..]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_file_parses_holds_every_metric_and_no_secret() {
    let (v, server) = seeded().await;
    let file = v.dir.path().join("textfile").join("keyway.prom");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let o = v.keyway(&[
        "audit",
        "--format",
        "prometheus",
        "--output",
        file.to_str().unwrap(),
    ]);
    // Two credentials are not verified: the audit says so with its exit code, as ever.
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "with --output nothing is printed");
    let text = std::fs::read_to_string(&file).unwrap();
    check_grammar(&text);
    for secret in [
        "SENTINEL",
        &server.base_url(),
        "127.0.0.1",
        crate::support::PASS,
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }

    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |metric: &str, credential: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get("credential") == Some(credential))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) => v,
                ref other => panic!("{metric} is not a gauge: {other:?}"),
            })
    };
    assert_eq!(value("keyway_credential_verified", "good"), Some(1.0));
    assert_eq!(value("keyway_credential_verified", "gone"), Some(0.0));
    let good = scrape
        .samples
        .iter()
        .find(|s| s.labels.get("credential") == Some("good"))
        .unwrap();
    for (label, expected) in [
        ("workspace", "acme"),
        ("component", "loopback_api"),
        ("environment", "staging"),
        ("status", "verified"),
    ] {
        assert_eq!(good.labels.get(label), Some(expected), "{label}");
    }
    // The user-set date of an API key is what lapses.
    assert_eq!(
        value("keyway_credential_expiry_timestamp_seconds", "good"),
        Some(1_924_992_000.0)
    );
    assert_eq!(
        value("keyway_credential_expiry_timestamp_seconds", "gone"),
        None
    );
    let last = value("keyway_credential_last_verified_timestamp_seconds", "good").unwrap();
    let now = keyway::clock::now().0 as f64;
    assert!(
        (now - last).abs() < 600.0,
        "checked by this audit: {last} vs {now}"
    );
    // The escaped name reads back as it is.
    assert!(text.contains(r#"credential="say \"hi\"\\""#), "{text}");
    let count = |status: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == "keyway_credentials" && s.labels.get("status") == Some(status))
    };
    for (status, n) in [
        ("verified", 1.0),
        ("rejected", 1.0),
        ("unreachable", 1.0),
        ("misconfigured", 0.0),
    ] {
        let sample = count(status).unwrap_or_else(|| panic!("no count for {status}"));
        assert_eq!(sample.value, prometheus_parse::Value::Gauge(n), "{status}");
    }
    assert!(scrape
        .samples
        .iter()
        .any(|s| s.metric == "keyway_audit_last_run_timestamp_seconds"));
    for metric in [
        "keyway_credential_verified",
        "keyway_credential_last_verified_timestamp_seconds",
        "keyway_credential_expiry_timestamp_seconds",
        "keyway_credentials",
        "keyway_audit_last_run_timestamp_seconds",
    ] {
        assert!(scrape.docs.contains_key(metric), "HELP for {metric}");
        assert!(
            text.contains(&format!("# TYPE {metric} gauge\n")),
            "TYPE for {metric}"
        );
    }

    // Without --output the same text goes to stdout.
    let o = v.keyway(&["audit", "--format", "prometheus", "-w", "acme"]);
    check_grammar(&stdout(&o));
    assert!(stdout(&o).contains("keyway_credentials{status=\"verified\"} 1\n"));
    // --output belongs to the metrics.
    let o = v.keyway(&["audit", "--json", "--output", file.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_is_replaced_atomically() {
    let (v, _server) = seeded().await;
    let dir = v.dir.path().join("textfile");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keyway.prom");
    std::fs::write(
        &file,
        "# an older audit\nkeyway_credentials{status=\"verified\"} 99\n",
    )
    .unwrap();
    let before = std::fs::metadata(&file).unwrap().ino();
    // A reader that opened the old file (node_exporter mid-scrape) keeps reading it whole.
    let mut reader = std::fs::File::open(&file).unwrap();
    let o = v.keyway(&[
        "audit",
        "--format",
        "prometheus",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let mut old = String::new();
    reader.read_to_string(&mut old).unwrap();
    assert_eq!(
        old,
        "# an older audit\nkeyway_credentials{status=\"verified\"} 99\n"
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_ne!(
        meta.ino(),
        before,
        "a new file was renamed into place, not the old one rewritten"
    );
    assert_eq!(
        meta.mode() & 0o777,
        0o644,
        "node_exporter's user can read it"
    );
    let new = std::fs::read_to_string(&file).unwrap();
    check_grammar(&new);
    assert!(!new.contains("an older audit"));
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["keyway.prom"]);

    // A folder that is not there: an error, and nothing is written anywhere.
    let missing = v.dir.path().join("nowhere").join("keyway.prom");
    let o = v.keyway(&[
        "audit",
        "--format",
        "prometheus",
        "--output",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write the metrics file"),
        "{}",
        stderr(&o)
    );
    assert!(!missing.parent().unwrap().exists());
}
