use secrecy::ExposeSecret;

use super::dotenv::parse_lines;
use super::*;

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

/// The built-in catalogue without `id`: an entry mapped to a component this keyway lacks (a
/// user file removed) is unmappable, named.
fn catalog_without(id: &str) -> Catalog {
    Catalog::from_components(
        catalog()
            .all()
            .iter()
            .filter(|c| c.id != id)
            .cloned()
            .collect(),
    )
}

/// Each entry as (label, component or the outcome word, its fields as NAME=value).
fn summary(entries: &[Entry]) -> Vec<(String, String, Vec<String>)> {
    entries
        .iter()
        .map(|e| match &e.mapped {
            Mapped::Credential(d) => (
                e.label.clone(),
                format!("{}:{}", d.component, d.name),
                d.fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.expose_secret()))
                    .collect(),
            ),
            Mapped::Unmappable(why) => (e.label.clone(), format!("unmappable: {why}"), vec![]),
            Mapped::NotACredential(_) => (e.label.clone(), "not a credential".into(), vec![]),
        })
        .collect()
}

fn find<'a>(
    s: &'a [(String, String, Vec<String>)],
    label: &str,
) -> &'a (String, String, Vec<String>) {
    s.iter()
        .find(|(l, ..)| l == label)
        .unwrap_or_else(|| panic!("no entry {label} in {s:?}"))
}

#[test]
fn dotenv_syntax_and_no_expansion() {
    let text = "# comment\n\nexport A=plain value # trailing\nB='single $HOME ${KEYWAY_PASSPHRASE}'\nC=\"dq \\\"x\\\" \\\\ \\n end\"\nD=\"two\nlines\"\nE=\nF=$KEYWAY_PASSPHRASE\n";
    let vars = parse_lines(text).unwrap();
    let got: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("A", "plain value"),
            ("B", "single $HOME ${KEYWAY_PASSPHRASE}"),
            ("C", "dq \"x\" \\ \n end"),
            ("D", "two\nlines"),
            ("E", ""),
            ("F", "$KEYWAY_PASSPHRASE"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    for (bad, says) in [
        ("A=1\nsk_live_SECRET\n", "line 2"),
        ("A=\"open\n", "never ends"),
        ("A='x' y\n", "follows the closing quote"),
        ("1A=x\n", "not a variable name"),
    ] {
        let err = parse_lines(bad).unwrap_err().0;
        assert!(err.contains(says), "{bad:?}: {err}");
        assert!(!err.contains("SECRET"), "{err}");
    }
}

#[test]
fn dotenv_maps_the_catalogues_names() {
    let text = "STRIPE_API_KEY=sk_test_1\nPGHOST=db.internal\nPGUSER=etl\nPGPASSWORD=pw\nPGPORT=5433\nNODE_ENV=production\nKEYWAY_GITHUB_API_KEY=ghp_1\nGH_TOKEN=ghp_1\nDATABASE_URL=postgresql://etl:pw@db.internal:5433/warehouse?sslmode=disable\n";
    let s = summary(&parse(Format::Dotenv, text, &catalog(), "prod").unwrap());
    let stripe = find(&s, "STRIPE_API_KEY");
    assert_eq!(stripe.1, "stripe:prod");
    assert_eq!(stripe.2, ["api_key=sk_test_1"]);
    let pg = find(&s, "PGHOST, PGUSER, PGPASSWORD, PGPORT, DATABASE_URL");
    assert_eq!(pg.1, "postgresql:prod");
    for f in [
        "host=db.internal",
        "user=etl",
        "password=pw",
        "port=5433",
        "database=warehouse",
        "sslmode=disable",
    ] {
        assert!(pg.2.iter().any(|x| x == f), "{f} in {pg:?}");
    }
    assert_eq!(find(&s, "KEYWAY_GITHUB_API_KEY, GH_TOKEN").1, "github:prod");
    assert_eq!(find(&s, "NODE_ENV").1, "not a credential");

    // Two variables disagreeing on one field: which is meant cannot be told.
    let s = summary(
        &parse(
            Format::Dotenv,
            "PGHOST=a\nDATABASE_URL=postgres://u:p@b/db\n",
            &catalog(),
            "x",
        )
        .unwrap(),
    );
    assert!(
        find(&s, "PGHOST, DATABASE_URL")
            .1
            .contains("different values"),
        "{s:?}"
    );
    // A URL of an engine this keyway does not have is unmappable, named.
    let s = summary(
        &parse(
            Format::Dotenv,
            "DATABASE_URL=mysql://u:p@h/db\nCACHE=1\n",
            &catalog_without("mysql"),
            "x",
        )
        .unwrap(),
    );
    assert!(
        find(&s, "DATABASE_URL").1.contains("'mysql' component"),
        "{s:?}"
    );
}

#[test]
fn a_dotenv_connection_url_is_read_by_the_rule_the_cli_and_the_form_use() {
    // rediss:// means TLS on (before, the import dropped that and a loopback host defaulted
    // to off); redis:// off.
    let s = summary(
        &parse(
            Format::Dotenv,
            "REDIS_URL=rediss://worker:pw@127.0.0.1:6380/2\n",
            &catalog(),
            "x",
        )
        .unwrap(),
    );
    let redis = find(&s, "REDIS_URL");
    assert_eq!(redis.1, "redis:x");
    for f in [
        "tls=on",
        "database=2",
        "user=worker",
        "password=pw",
        "port=6380",
    ] {
        assert!(redis.2.iter().any(|x| x == f), "{f} in {redis:?}");
    }
    // A parameter that is no field of the component: unmappable, saying which, not the URL.
    let s = summary(
        &parse(
            Format::Dotenv,
            "DATABASE_URL=postgresql://u:SENTINEL@h/db?application_name=x\n",
            &catalog(),
            "x",
        )
        .unwrap(),
    );
    let why = &find(&s, "DATABASE_URL").1;
    assert!(
        why.contains("'application_name', which is no field"),
        "{why}"
    );
    assert!(!why.contains("SENTINEL"), "{why}");
    // A scheme of no engine.
    let s = summary(&parse(Format::Dotenv, "DATABASE_URL=ftp://h/x\n", &catalog(), "x").unwrap());
    assert!(
        find(&s, "DATABASE_URL")
            .1
            .contains("maps to no keyway component"),
        "{s:?}"
    );
}

const AIRFLOW_JSON: &str = r#"{
    "warehouse": {"conn_type": "postgres", "description": null, "host": "db.internal", "login": "etl",
        "password": "pw", "schema": "dwh", "port": 5432, "extra": "{\"sslmode\": \"require\", \"connect_timeout\": 5}"},
    "orders_mysql": {"conn_type": "mysql", "host": "m", "login": "u", "password": "p", "schema": "s", "port": 3306, "extra": ""},
    "stripe_api": {"conn_type": "http", "host": "https://api.stripe.com", "password": "sk_test_2", "schema": "https", "port": null, "extra": null},
    "intranet": {"conn_type": "http", "host": "intranet.corp", "password": "x", "extra": null},
    "gcp": {"conn_type": "google_cloud_platform", "extra": "{}"},
    "broken_extra": {"conn_type": "postgres", "host": "h", "extra": "not json"}
}"#;

#[test]
fn airflow_json_maps_by_conn_type_and_known_host() {
    let s = summary(&parse(Format::Airflow, AIRFLOW_JSON, &catalog(), "").unwrap());
    let pg = find(&s, "warehouse");
    assert_eq!(pg.1, "postgresql:warehouse");
    assert_eq!(
        pg.2,
        [
            "host=db.internal",
            "port=5432",
            "database=dwh",
            "user=etl",
            "password=pw",
            "sslmode=require"
        ]
    );
    let mysql = find(&s, "orders_mysql");
    assert_eq!(mysql.1, "mysql:orders_mysql");
    assert_eq!(
        mysql.2,
        ["host=m", "port=3306", "database=s", "user=u", "password=p"]
    );
    let s = summary(&parse(Format::Airflow, AIRFLOW_JSON, &catalog_without("mysql"), "").unwrap());
    assert!(find(&s, "orders_mysql")
        .1
        .contains("'mysql' component, which this keyway does not have"));
    let stripe = find(&s, "stripe_api");
    assert_eq!(stripe.1, "stripe:stripe_api");
    assert_eq!(
        stripe.2,
        ["base_url=https://api.stripe.com", "api_key=sk_test_2"]
    );
    assert!(find(&s, "intranet")
        .1
        .contains("not the address of a service keyway knows"));
    assert!(find(&s, "gcp").1.contains("maps to no keyway component"));
    assert!(find(&s, "broken_extra")
        .1
        .contains("extra is not a JSON object"));
}

#[test]
fn an_airflow_sftp_connection_pins_its_host_key_extra_as_a_fingerprint() {
    // `ssh-keygen -lf` of this key prints SHA256:Nc1ttK9WTr14G2xotIlEvdFVhyoSwcSP6CZHBEv1Pzw.
    let public = "AAAAC3NzaC1lZDI1NTE5AAAAIK2K6tZyNvqtdvEZ+NUOxgnLTqusdvco/owtZ2Es7+B9";
    for host_key in [public.to_string(), format!("ssh-ed25519 {public}")] {
        let json = format!(
            r#"{{"dropbox": {{"conn_type": "sftp", "host": "files.example.com", "login": "drop",
                "password": "pw", "extra": {{"host_key": "{host_key}", "no_host_key_check": "false"}}}}}}"#
        );
        let s = summary(&parse(Format::Airflow, &json, &catalog(), "").unwrap());
        let entry = find(&s, "dropbox");
        assert_eq!(entry.1, "sftp:dropbox");
        assert!(
            entry.2.contains(
                &"host_key=SHA256:Nc1ttK9WTr14G2xotIlEvdFVhyoSwcSP6CZHBEv1Pzw".to_string()
            ),
            "{entry:?}"
        );
    }
}

#[test]
fn airflow_yaml_and_uris_read_the_same() {
    let yaml = "warehouse:\n  conn_type: postgres\n  host: db.internal\n  login: etl\n  password: pw\n  schema: dwh\n  port: 5432\n  extra: '{\"sslmode\": \"require\"}'\n";
    let s = summary(&parse(Format::Airflow, yaml, &catalog(), "").unwrap());
    assert_eq!(find(&s, "warehouse").2.len(), 6, "{s:?}");
    let uris = "AIRFLOW_CONN_WAREHOUSE='postgres://etl:p%40ss@db.internal:5432/dwh?sslmode=require'\nother_db=postgresql://u:p@h/db\nJSON_ONE={\"conn_type\": \"github\", \"password\": \"ghp_3\"}\n";
    let s = summary(&parse(Format::Airflow, uris, &catalog(), "").unwrap());
    let pg = find(&s, "warehouse");
    assert!(pg.2.contains(&"password=p@ss".to_string()), "{pg:?}");
    assert_eq!(find(&s, "other_db").1, "postgresql:other_db");
    assert_eq!(find(&s, "JSON_ONE").2, ["api_key=ghp_3"]);
    assert!(parse(Format::Airflow, "{ not json", &catalog(), "").is_err());
    assert!(parse(Format::Airflow, "a: [unclosed", &catalog(), "").is_err());
    let list = parse(Format::Airflow, "[1,2", &catalog(), "")
        .err()
        .unwrap();
    assert!(list.0.contains("is not the JSON of"), "{}", list.0);
}

#[test]
fn libpq_prefer_and_allow_import_as_require() {
    for word in ["prefer", "allow"] {
        let uri = format!("warehouse=postgres://etl:pw@db.internal:5432/dwh?sslmode={word}\n");
        let s = summary(&parse(Format::Airflow, &uri, &catalog(), "").unwrap());
        let pg = find(&s, "warehouse");
        assert!(pg.2.contains(&"sslmode=require".to_string()), "{pg:?}");
    }
}

#[test]
fn n8n_maps_by_type_and_reports_encrypted_data() {
    let text = r#"[
        {"id": "1", "name": "Warehouse", "type": "postgres", "data": {"host": "db", "database": "dwh", "user": "etl", "password": "pw", "port": 5432, "ssl": "disable", "allowUnauthorizedCerts": false}, "createdAt": "2024-01-01T00:00:00.000Z"},
        {"id": "2", "name": "Stripe live", "type": "stripeApi", "data": {"secretKey": "sk_live_4"}},
        {"id": "3", "name": "Orders", "type": "mySql", "data": {"host": "m"}},
        {"id": "4", "name": "Sealed", "type": "stripeApi", "data": "U2FsdGVkX1+abc"},
        {"id": "5", "name": "Notion", "type": "notionApi", "data": {"apiKey": "x"}}
    ]"#;
    let s = summary(&parse(Format::N8n, text, &catalog(), "").unwrap());
    let pg = find(&s, "Warehouse");
    assert_eq!(pg.1, "postgresql:Warehouse");
    assert_eq!(
        pg.2,
        [
            "host=db",
            "port=5432",
            "database=dwh",
            "user=etl",
            "password=pw",
            "sslmode=disable"
        ]
    );
    assert_eq!(find(&s, "Stripe live").2, ["api_key=sk_live_4"]);
    assert_eq!(find(&s, "Orders").1, "mysql:Orders");
    let s = summary(&parse(Format::N8n, text, &catalog_without("mysql"), "").unwrap());
    assert!(find(&s, "Orders").1.contains("'mysql' component"));
    assert!(find(&s, "Sealed").1.contains("--decrypted"));
    assert!(find(&s, "Notion")
        .1
        .contains("'notionApi' maps to no keyway component"));
    assert!(parse(Format::N8n, "42", &catalog(), "").is_err());
}

#[test]
fn csv_rows_by_header() {
    let text = "component,name,environment,host,user,password,api_key\npostgresql,warehouse,production,db,etl,pw,\nstripe,billing,,,,,sk_test_5\nstripe,odd,,db,,,sk\nnosuch,x,,,,,\n";
    let entries = parse(Format::Csv, text, &catalog(), "").unwrap();
    let s = summary(&entries);
    assert_eq!(
        find(&s, "row 2 (warehouse)").2,
        ["host=db", "user=etl", "password=pw"]
    );
    match &entries[0].mapped {
        Mapped::Credential(d) => assert_eq!(d.environment.as_deref(), Some("production")),
        other => panic!("{other:?}"),
    }
    assert_eq!(find(&s, "row 3 (billing)").2, ["api_key=sk_test_5"]);
    assert!(find(&s, "row 4 (odd)")
        .1
        .contains("'host' has a value but is no field of stripe"));
    assert!(find(&s, "row 5 (x)")
        .1
        .contains("'nosuch' is not in keyway's catalogue"));
    let err = parse(Format::Csv, "name,host\nx,y\n", &catalog(), "")
        .unwrap_err()
        .0;
    assert!(err.contains("component and name"), "{err}");
    let err = parse(
        Format::Csv,
        "component,name\nstripe,a,sk_SECRET_extra\n",
        &catalog(),
        "",
    )
    .unwrap_err()
    .0;
    assert!(err.contains("line 2") && !err.contains("SECRET"), "{err}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_parsed_or_refused_without_panic(text in "(?s).{0,300}", which in 0usize..4) {
            let format = [Format::Airflow, Format::N8n, Format::Dotenv, Format::Csv][which];
            let _ = parse(format, &text, &catalog(), "x");
        }

        #[test]
        fn dotenv_lines_never_panic(lines in prop::collection::vec("[A-Z_=#'\" $\\\\a-z0-9]{0,30}", 0..8)) {
            let _ = parse_lines(&lines.join("\n"));
        }
    }
}
