//! `keyway import --from airflow|n8n|dotenv|csv` through the real binary, from fixtures written
//! as each tool documents its export (tests/fixtures/import/), with valid, rejected,
//! unreachable and unmappable entries verified against loopback servers: the shared PostgreSQL
//! cluster, and an API server standing in for Stripe (a user file overrides Stripe's base URL
//! with the loopback one, so no test request leaves the machine).

use serde_json::Value;

use crate::support::http::{api_server, ApiServer};
use crate::support::pg::{free_port, PgCluster, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use crate::support::{code, file_bytes, stderr, stdout, TestVault};

const KEY: &str = "sk_test_SENTINEL_import_good";

/// A vault whose Stripe component sends its keys to `server` (GET /v1/me, bearer).
fn vault(server: &ApiServer) -> TestVault {
    let v = TestVault::with_loopback_component();
    let stripe = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/components/stripe.toml"
    ))
    .unwrap()
    .replace("https://api.stripe.com", &server.base_url())
    .replace("/v1/balance", "/v1/me")
    .replacen("id = \"stripe\"", "id = \"stripe\"\noverride = true", 1);
    std::fs::write(v.dir.path().join("components").join("stripe.toml"), stripe).unwrap();
    v
}

/// The fixture `name` with its placeholders filled in, written into the vault's folder.
fn fixture(v: &TestVault, server: &ApiServer, name: &str) -> String {
    let pg = PgCluster::shared();
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/import/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("{{PG_PORT}}", &pg.port.to_string())
    .replace("{{PG_USER}}", ETL_USER)
    .replace("{{PG_PASSWORD_URL}}", &ETL_PASSWORD.replace('_', "%5F"))
    .replace("{{PG_PASSWORD}}", ETL_PASSWORD)
    .replace("{{PG_DATABASE}}", ETL_DATABASE)
    .replace("{{API_URL}}", &server.base_url())
    .replace("{{API_KEY}}", KEY)
    .replace("{{CLOSED_PORT}}", &free_port().to_string());
    let path = v.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The credentials of workspace `w` as (component, name, status).
fn stored(v: &TestVault, w: &str) -> Vec<(String, String, String)> {
    let o = v.keyway(&["credential", "list", "-w", w, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let mut out: Vec<_> = list
        .iter()
        .map(|c| {
            (
                c["component"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The summary's line for `entry`, which must be there.
fn line<'a>(out: &'a str, entry: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(&format!(" {entry}: ")))
        .unwrap_or_else(|| panic!("no line for {entry} in:\n{out}"))
}

fn no_secret_shown(o: &std::process::Output) {
    for text in [stdout(o), stderr(o)] {
        assert!(!text.contains("SENTINEL"), "a secret was shown:\n{text}");
        assert!(!text.contains(ETL_PASSWORD));
    }
}

/// Runs an import that leaves some entries out (exit 1) and shows no secret; its stdout.
fn import_failing(v: &TestVault, args: &[&str]) -> String {
    let o = v.keyway(args);
    assert_eq!(code(&o), 1, "some entries are not added: {}", stderr(&o));
    no_secret_shown(&o);
    stdout(&o)
}

fn triple(component: &str, name: &str, status: &str) -> (String, String, String) {
    (component.into(), name.into(), status.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn airflow_json_export_verifies_each_connection_and_reports_the_rest() {
    let server = api_server(KEY, None).await;
    let v = vault(&server);
    let file = fixture(&v, &server, "airflow-connections.json");
    let out = import_failing(&v, &["import", "--from", "airflow", &file, "-w", "etl"]);
    assert!(
        out.starts_with(&format!("Imported into workspace 'etl' from {file} (--from airflow): 2 added, 2 rejected, 2 unreachable, 1 unmappable, 0 skipped\n")),
        "{out}"
    );
    assert!(line(&out, "warehouse_old_password")
        .trim_start()
        .starts_with("rejected"));
    assert!(line(&out, "stripe_revoked")
        .trim_start()
        .starts_with("rejected"));
    assert!(line(&out, "reporting_db")
        .trim_start()
        .starts_with("unreachable"));
    assert!(line(&out, "orders_mysql")
        .trim_start()
        .starts_with("unreachable"));
    assert!(line(&out, "google_cloud_default").contains("maps to no keyway component"));
    assert!(
        !out.contains(" warehouse: "),
        "added ones only with --verbose: {out}"
    );
    // The workspace was created; what was added is verified.
    assert_eq!(
        stored(&v, "etl"),
        [
            triple("postgresql", "warehouse", "verified"),
            triple("stripe", "stripe_default", "verified"),
        ]
    );
    let o = v.keyway(&[
        "credential",
        "show",
        "-w",
        "etl",
        "warehouse",
        "--json",
        "--reveal",
    ]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["fields"]["password"], ETL_PASSWORD);
    assert_eq!(shown["fields"]["database"], ETL_DATABASE);
    assert_eq!(shown["fields"]["sslmode"], "disable");

    // Again: the names are taken now; skipping them is the user's choice, so only the failures
    // fail the run, and --json lists every entry.
    let o = v.keyway(&[
        "import",
        "--from",
        "airflow",
        &file,
        "-w",
        "etl",
        "--on-conflict",
        "skip",
        "--json",
    ]);
    assert_eq!(code(&o), 1);
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["added"], 0);
    assert_eq!(summary["skipped"], 2);
    assert_eq!(summary["unmappable"], 1);
    let entries = summary["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 7);
    assert!(entries
        .iter()
        .any(|e| e["entry"] == "warehouse" && e["outcome"] == "skipped"));
}

#[tokio::test(flavor = "multi_thread")]
async fn airflow_yaml_and_environment_uris() {
    let server = api_server(KEY, None).await;
    let v = vault(&server);
    let file = fixture(&v, &server, "airflow-connections.yaml");
    let out = import_failing(
        &v,
        &[
            "import",
            "--from",
            "airflow",
            &file,
            "-w",
            "etl",
            "--verbose",
        ],
    );
    assert!(
        out.contains(": 1 added, 0 rejected, 1 unreachable, 0 unmappable, 0 skipped"),
        "{out}"
    );
    assert!(
        out.contains("added        postgresql/warehouse"),
        "--verbose: {out}"
    );
    assert!(line(&out, "sessions_redis")
        .trim_start()
        .starts_with("unreachable"));

    let file = fixture(&v, &server, "airflow-conn.env");
    let out = import_failing(
        &v,
        &["import", "--from", "airflow", &file, "-w", "from-env"],
    );
    assert!(
        out.contains(": 2 added, 0 rejected, 1 unreachable, 0 unmappable"),
        "{out}"
    );
    assert_eq!(
        stored(&v, "from-env"),
        [
            triple("postgresql", "warehouse", "verified"),
            triple("stripe", "stripe_json", "verified"),
        ]
    );
    // The fixture's SFTP host is a closed loopback port: mapped and verified, not reachable.
    assert!(line(&out, "sftp_dropbox")
        .trim_start()
        .starts_with("unreachable"));
}

#[tokio::test(flavor = "multi_thread")]
async fn n8n_decrypted_export() {
    let server = api_server(KEY, None).await;
    let v = vault(&server);
    let file = fixture(&v, &server, "n8n-credentials.json");
    let out = import_failing(&v, &["import", "--from", "n8n", &file, "-w", "n8n"]);
    assert!(
        out.contains(": 2 added, 1 rejected, 1 unreachable, 1 unmappable, 0 skipped"),
        "{out}"
    );
    assert!(line(&out, "Stripe old account")
        .trim_start()
        .starts_with("rejected"));
    assert!(line(&out, "Orders MySQL")
        .trim_start()
        .starts_with("unreachable"));
    assert!(line(&out, "Notion account").contains("'notionApi'"));
    assert_eq!(
        stored(&v, "n8n"),
        [
            triple("postgresql", "Warehouse Postgres", "verified"),
            triple("stripe", "Stripe account", "verified"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dotenv_by_the_catalogues_names_named_after_the_file() {
    let server = api_server(KEY, None).await;
    let v = vault(&server);
    let file = fixture(&v, &server, "app.env");
    let out = import_failing(&v, &["import", "--from", "dotenv", &file, "-w", "billing"]);
    assert!(
        out.contains(": 2 added, 0 rejected, 1 unreachable, 0 unmappable, 2 skipped"),
        "{out}"
    );
    assert!(line(&out, "NODE_ENV").contains("no keyway component declares"));
    assert!(line(&out, "DATABASE_URL")
        .trim_start()
        .starts_with("unreachable"));
    assert_eq!(
        stored(&v, "billing"),
        [
            triple("postgresql", "app", "verified"),
            triple("stripe", "app", "verified"),
        ]
    );
    // From standard input, which needs a name; --no-verify saves unverified.
    let text = std::fs::read_to_string(&file).unwrap();
    let o = v.keyway_with(
        &[
            "import",
            "--from",
            "dotenv",
            "-",
            "-w",
            "copy",
            "--name",
            "piped",
            "--no-verify",
        ],
        &[("KEYWAY_PASSPHRASE", crate::support::PASS)],
        Some(&text),
    );
    // Everything that is a credential was added (unverified), the rest skipped: exit 0.
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stored(&v, "copy"),
        [
            triple("mysql", "piped", "unverified"),
            triple("postgresql", "piped", "unverified"),
            triple("stripe", "piped", "unverified"),
        ]
    );
    let o = v.keyway_with(
        &["import", "--from", "dotenv", "-", "-w", "copy"],
        &[("KEYWAY_PASSPHRASE", crate::support::PASS)],
        Some(&text),
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_with_a_header() {
    let server = api_server(KEY, None).await;
    let v = vault(&server);
    let file = fixture(&v, &server, "credentials.csv");
    let out = import_failing(&v, &["import", "--from", "csv", &file, "-w", "sheet"]);
    assert!(
        out.contains(": 2 added, 1 rejected, 1 unreachable, 1 unmappable, 0 skipped"),
        "{out}"
    );
    assert!(line(&out, "row 5 (misfiled)").contains("'host' has a value but is no field of stripe"));
    assert!(line(&out, "row 6 (orders)")
        .trim_start()
        .starts_with("unreachable"));
    assert_eq!(
        stored(&v, "sheet"),
        [
            triple("postgresql", "warehouse", "verified"),
            triple("stripe", "billing", "verified"),
        ]
    );
    let o = v.keyway(&["credential", "show", "-w", "sheet", "warehouse", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["environment"], "production");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_file_changes_nothing() {
    let server = api_server(KEY, None).await;
    let v = vault(&server);
    let before = file_bytes(&v.path);
    let good = std::fs::read_to_string(fixture(&v, &server, "airflow-connections.json")).unwrap();
    for (format, text) in [
        ("airflow", &good[..good.len() / 2]),
        (
            "n8n",
            "[{\"name\": \"x\", \"type\": \"postgres\", \"data\": {",
        ),
        ("csv", "component,name\nstripe,a,extra-cell\n"),
        ("dotenv", "STRIPE_API_KEY=\"sk_SENTINEL_unclosed\n"),
    ] {
        let file = v.dir.path().join(format!("bad.{format}"));
        std::fs::write(&file, text).unwrap();
        let o = v.keyway(&[
            "import",
            "--from",
            format,
            file.to_str().unwrap(),
            "-w",
            "new",
        ]);
        assert_eq!(code(&o), 1, "{format}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("nothing was imported"),
            "{format}: {}",
            stderr(&o)
        );
        no_secret_shown(&o);
    }
    assert_eq!(file_bytes(&v.path), before, "the vault is untouched");
    let o = v.keyway(&["workspace", "list", "--json"]);
    assert_eq!(stdout(&o).trim(), "[]", "no workspace was created");
    // --from needs the workspace.
    let o = v.keyway(&["import", "--from", "csv", "x.csv"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
