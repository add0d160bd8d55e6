//! TLS trust and proxies through the real binary: PostgreSQL with a certificate from a test CA
//! (trusted through ssl_ca, SSL_CERT_FILE or SSL_CERT_DIR, or not at all), sslmode = require
//! saved with its TLS state and flagged by the audit, an HTTPS API trusted through
//! verify.extra_ca_file or ca_cert, and a CONNECT proxy that must never see the key.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use crate::support::pg::{PgCluster, PgTls, ETL_DATABASE, ETL_PASSWORD, ETL_USER};
use crate::support::proxy::connect_proxy;
use crate::support::tls::{https_api_server, TestCa};
use crate::support::{code, stderr, stdout, TestVault, PASS};
use serde_json::Value;

const API_KEY: &str = "sk_SENTINEL_tls_cli_58";

fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| TestCa::new("keyway CLI CA"))
}

/// A TLS cluster whose certificate, from `test_ca`, names localhost.
fn cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<&'static PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        PgCluster::start_tls(&PgTls {
            server: test_ca().server(&["localhost"]),
            client_ca: None,
        })
        .until_exit()
    })
}

fn vault() -> TestVault {
    let v = TestVault::with_loopback_component();
    assert_eq!(code(&v.keyway(&["workspace", "add", "acme"])), 0);
    v
}

/// Adds `line` to the [verify] table of the vault's config file.
fn verify_setting(v: &TestVault, line: &str) {
    let text = std::fs::read_to_string(&v.config).unwrap();
    let text = text.replace("[verify]\n", &format!("[verify]\n{line}\n"));
    std::fs::write(&v.config, text).unwrap();
}

fn creds(v: &TestVault) -> Vec<Value> {
    let o = v.keyway(&["credential", "list", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn cred<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no credential {name} in {list:?}"))
}

/// `credential add` of a PostgreSQL credential on the TLS cluster, password from stdin (or
/// `stdin` itself when given), with `env` for the binary.
fn add_pg(
    v: &TestVault,
    name: &str,
    fields: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> std::process::Output {
    let port = format!("port={}", cluster().port);
    let database = format!("database={ETL_DATABASE}");
    let user = format!("user={ETL_USER}");
    let password = format!("password={ETL_PASSWORD}");
    let mut args = vec![
        "credential",
        "add",
        "-w",
        "acme",
        "-c",
        "postgresql",
        "-n",
        name,
        "-f",
        "host=localhost",
        "-f",
        &port,
        "-f",
        &database,
        "-f",
        &user,
    ];
    if stdin.is_none() {
        args.extend(["-f", &password]);
    }
    for f in fields {
        args.extend(["-f", f]);
    }
    let mut all_env = vec![("KEYWAY_PASSPHRASE", PASS)];
    all_env.extend_from_slice(env);
    v.keyway_with(&args, &all_env, stdin)
}

fn ca_file(dir: &Path) -> String {
    test_ca().write(dir, "test-ca.pem").display().to_string()
}

#[test]
fn postgres_trusts_ssl_ca_ssl_cert_file_or_ssl_cert_dir_and_refuses_an_unknown_ca() {
    let v = vault();
    let file = ca_file(v.dir.path());
    let o = add_pg(&v, "unknown", &["sslmode=verify-full"], &[], None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "is signed by a CA keyway does not trust (issuer: CN=keyway CLI CA): add it as ssl_ca or to the system store"
        ),
        "{}",
        stderr(&o)
    );
    assert!(creds(&v).is_empty());

    // The system store as OpenSSL reads it: SSL_CERT_FILE, or a directory in SSL_CERT_DIR.
    let o = add_pg(
        &v,
        "by-file",
        &["sslmode=verify-full"],
        &[("SSL_CERT_FILE", &file)],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("verified (PostgreSQL 15"),
        "{}",
        stdout(&o)
    );
    let dir = v.dir.path().join("certs");
    std::fs::create_dir(&dir).unwrap();
    test_ca().write(&dir, "corporate.pem");
    let dir = dir.display().to_string();
    let o = add_pg(&v, "by-dir", &[], &[("SSL_CERT_DIR", &dir)], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // ssl_ca read whole from stdin (`--field ssl_ca=-`); the password on the command line.
    let o = add_pg(
        &v,
        "by-field",
        &[&format!("password={ETL_PASSWORD}"), "ssl_ca=-"],
        &[],
        Some(&test_ca().pem),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let list = creds(&v);
    for name in ["by-file", "by-dir", "by-field"] {
        let c = cred(&list, name);
        assert_eq!(c["status"], "verified", "{c}");
        assert_eq!(c["tls"], "verified", "{c}");
        assert_eq!(c["fields"]["sslmode"], "verify-full", "the default: {c}");
    }
    let stored = cred(&list, "by-field")["fields"]["ssl_ca"]
        .as_str()
        .unwrap();
    assert_eq!(stored, test_ca().pem.trim_end(), "stored in canonical form");
    // A PEM field is summarised in the table form of show.
    let o = v.keyway(&["credential", "show", "-w", "acme", "by-field"]);
    assert!(
        stdout(&o).contains("(PEM, 1 certificate)"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("tls: verified"), "{}", stdout(&o));
    // Later runs without the variable no longer trust the CA: the audit says so.
    let o = v.keyway(&["credential", "verify", "-w", "acme", "by-file", "--json"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["status"], "misconfigured", "{}", rows[0]);
    assert_eq!(rows[0]["tls"], Value::Null);
}

#[test]
fn require_without_a_ca_is_saved_unchecked_and_the_audit_warns() {
    let v = vault();
    let o = add_pg(&v, "encrypted", &["sslmode=require"], &[], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the server's certificate was not checked"),
        "{}",
        stderr(&o)
    );
    let o = v.keyway(&["credential", "show", "-w", "acme", "encrypted", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["status"], "verified");
    assert_eq!(shown["tls"], "unchecked");
    assert!(
        shown["reason"]
            .as_str()
            .unwrap()
            .contains("(encrypted, server certificate not checked)"),
        "{shown}"
    );
    assert_eq!(shown["history"][0]["tls"], "unchecked");

    let o = v.keyway(&["audit", "--json"]);
    assert_eq!(code(&o), 0, "a warning, not a failure: {}", stderr(&o));
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["tls"], "unchecked");
    let o = v.keyway(&["audit"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "warning: 1 verified over TLS without checking the server certificate (sslmode = require without ssl_ca): encrypted"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn stdin_holds_one_field_and_pem_fields_take_no_garbage() {
    let v = vault();
    let o = add_pg(&v, "two", &["ssl_ca=-", "ssl_cert=-"], &[], Some("x"));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("only one --field can read its value from stdin"),
        "{}",
        stderr(&o)
    );
    let o = add_pg(&v, "bad", &["ssl_ca=not a certificate"], &[], None);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("ssl_ca"), "{}", stderr(&o));
    assert!(creds(&v).is_empty());
}

#[test]
fn an_https_api_is_trusted_through_extra_ca_file_or_its_ca_cert() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(https_api_server(API_KEY, &test_ca().server(&["127.0.0.1"])));
    let base = format!("base_url=https://{}", server.addr);
    let key = format!("api_key={API_KEY}");
    let v = vault();
    let o = v.add_loopback("untrusted", &["-f", &base, "-f", &key]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "(issuer: CN=keyway CLI CA): add it as ca_cert, to verify.extra_ca_file or to the system store"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.hits(), 0, "nothing was sent");

    // The credential's own CA, from stdin.
    let o = v.keyway_with(
        &crate::support::add_loopback_args("own-ca", &["-f", &base, "-f", &key, "-f", "ca_cert=-"]),
        &[("KEYWAY_PASSPHRASE", PASS)],
        Some(&test_ca().pem),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // The config's extra CA file, for every credential.
    let file = ca_file(v.dir.path());
    verify_setting(&v, &format!("extra_ca_file = {file:?}"));
    let o = v.add_loopback("extra", &["-f", &base, "-f", &key]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("acct_42"), "{}", stdout(&o));
    let list = creds(&v);
    for name in ["own-ca", "extra"] {
        assert_eq!(cred(&list, name)["tls"], "verified");
    }
    assert_eq!(server.hits(), 2);

    // A CA file that cannot be used stops the command: a configuration error.
    verify_setting(&v, "extra_ca_file = \"/nonexistent/ca.pem\"");
    let text = std::fs::read_to_string(&v.config).unwrap();
    let text = text.replacen(&format!("extra_ca_file = {file:?}\n"), "", 1);
    std::fs::write(&v.config, text).unwrap();
    let o = v.add_loopback("broken", &["-f", &base, "-f", &key]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("verify.extra_ca_file /nonexistent/ca.pem"),
        "{}",
        stderr(&o)
    );
    drop(rt);
}

#[test]
fn through_a_proxy_https_travels_in_a_tunnel_the_proxy_cannot_read() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A name that is not loopback, so keyway sends it to the proxy, which alone knows that
    // it is served on 127.0.0.1 (keyway never resolves it: the proxy does).
    let server = rt.block_on(https_api_server(
        API_KEY,
        &test_ca().server(&["api.keyway.test", "127.0.0.1"]),
    ));
    let target = format!("api.keyway.test:{}", server.addr.port());
    let proxy = rt.block_on(connect_proxy(HashMap::from([(
        target.clone(),
        server.addr,
    )])));
    let v = vault();
    verify_setting(&v, &format!("extra_ca_file = {:?}", ca_file(v.dir.path())));
    let key = format!("api_key={API_KEY}");
    let env = |extra: &[(&'static str, String)]| {
        let mut env = vec![
            ("KEYWAY_PASSPHRASE", PASS.to_string()),
            ("HTTPS_PROXY", proxy.url()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    let run = |name: &str, base: &str, env: &[(&str, String)]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, val)| (*k, val.as_str())).collect();
        let base = format!("base_url={base}");
        v.keyway_with(
            &crate::support::add_loopback_args(name, &["-f", &base, "-f", &key]),
            &env,
            None,
        )
    };
    let o = run("proxied", &format!("https://{target}"), &env(&[]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("acct_42"), "{}", stdout(&o));
    assert_eq!(proxy.targets(), std::slice::from_ref(&target));
    let log = proxy.log();
    assert!(log.len() > 1000, "the TLS session went through the proxy");
    let seen = String::from_utf8_lossy(&log);
    assert!(!seen.contains(API_KEY), "the proxy saw the key");
    assert!(!seen.contains("SENTINEL"), "the proxy saw the key");
    assert!(!seen.contains("Authorization") && !seen.contains("authorization"));

    // Loopback is never proxied, whatever the variables say.
    let o = run("direct", &format!("https://{}", server.addr), &env(&[]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(proxy.targets().len(), 1, "loopback went through the proxy");

    // Plain http to a host that is not loopback stays refused: the proxy would read the key.
    let http_env = env(&[("HTTP_PROXY", proxy.url())]);
    let o = run("plain", &format!("http://{target}"), &http_env);
    // A field error, refused before anything is sent.
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("plain http to a host that is not this machine"),
        "{}",
        stderr(&o)
    );
    assert_eq!(proxy.targets().len(), 1);
    assert!(!String::from_utf8_lossy(&proxy.log()).contains(API_KEY));
    drop(rt);
}

/// Runs `cmd` in a network namespace of its own, whose only interface (loopback) is down:
/// whatever it tries to reach fails on this machine, and nothing leaves it (a DNS query
/// included).
fn isolated(cmd: std::process::Command) -> std::process::Output {
    let mut outer = std::process::Command::new("unshare");
    // As root a network namespace needs nothing more; otherwise a user namespace maps us.
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        outer.arg("--map-root-user");
    }
    outer
        .args(["--net", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    outer.env_clear();
    for (k, value) in cmd.get_envs() {
        if let Some(value) = value {
            outer.env(k, value);
        }
    }
    if let Ok(path) = std::env::var("PATH") {
        outer.env("PATH", path);
    }
    outer
        .stdin(std::process::Stdio::null())
        .output()
        .expect("unshare (util-linux) runs")
}

#[test]
fn no_proxy_sends_a_host_past_the_proxy() {
    let v = vault();
    let key = format!("api_key={API_KEY}");
    // Where the proxy would be: nothing can listen there inside the namespace.
    let proxy = "http://127.0.0.1:9";
    let add = |name: &str, no_proxy: Option<&str>| {
        let args = crate::support::add_loopback_args(
            name,
            &["-f", "base_url=https://api.keyway.test:8443", "-f", &key],
        );
        let mut env = vec![("KEYWAY_PASSPHRASE", PASS), ("HTTPS_PROXY", proxy)];
        if let Some(list) = no_proxy {
            env.push(("NO_PROXY", list));
        }
        isolated(v.command(&args, &env))
    };
    // Without NO_PROXY keyway goes to the proxy, and says the proxy could not be reached.
    let o = add("via-proxy", None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("The proxy for api.keyway.test:8443"),
        "{}",
        stderr(&o)
    );
    // With the host in NO_PROXY it goes direct: resolving the name is what fails.
    let o = add("direct", Some("localhost,.keyway.test"));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("The host name of api.keyway.test:8443 could not be resolved"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn component_show_explains_every_sslmode_word() {
    let v = TestVault::new();
    let o = v.keyway(&["component", "show", "postgresql"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for line in [
        "verify-full  encrypted; certificate checked, and it must name this host",
        "verify-ca    encrypted; certificate checked, host name not",
        "require      encrypted; certificate checked only if an SSL CA is given",
        "disable      no TLS: loopback only, the password may travel in clear",
    ] {
        assert!(stdout(&o).contains(line), "{line}:\n{}", stdout(&o));
    }
    let o = v.keyway(&["component", "show", "postgresql", "--json"]);
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sslmode = shown["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "sslmode")
        .unwrap();
    assert_eq!(sslmode["default"], "verify-full");
    assert!(sslmode["choice_help"]["require"].is_string(), "{sslmode}");
}

/// The team vault's connection: verify-full by default, trusting the URL's sslrootcert; a
/// server whose CA keyway does not trust is refused (exit 1, said why), never used.
#[test]
fn a_team_vault_connects_over_verified_tls_and_refuses_an_unknown_ca() {
    let pg = cluster();
    let database = pg.new_database("team_tls");
    let mut v = TestVault::new();
    let ca = test_ca().write(v.dir.path(), "team-ca.pem");
    let url = format!(
        "postgresql://{ETL_USER}@localhost:{}/{database}?sslrootcert={}",
        pg.port,
        ca.display()
    );
    v.path = url.clone().into();
    let env = [("KEYWAY_PASSPHRASE", PASS), ("PGPASSWORD", ETL_PASSWORD)];
    let o = v.keyway_with(&["init", "--url", &url], &env, None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.keyway_with(&["workspace", "add", "acme"], &env, None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = v.keyway_with(&["workspace", "list"], &env, None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("acme"), "{}", stdout(&o));
    // Without the CA (verify-full against the shared trust): refused, with the reason.
    v.path = format!("postgresql://{ETL_USER}@localhost:{}/{database}", pg.port).into();
    let o = v.keyway_with(&["workspace", "list"], &env, None);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refused the connection") && stderr(&o).contains("certificate"),
        "{}",
        stderr(&o)
    );
}

/// Runs `cmd` to its end; a command still running after a minute is killed and fails the test.
/// The commands here end in well under a second unless they block on what they read.
fn output_within_a_minute(mut cmd: std::process::Command) -> std::process::Output {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn keyway");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keyway was still running after 60 s: it blocked reading a CA file");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

#[test]
fn a_ca_file_that_is_a_fifo_or_a_device_is_refused_never_read_without_end() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(https_api_server(API_KEY, &test_ca().server(&["127.0.0.1"])));
    let base = format!("base_url=https://{}", server.addr);
    let key = format!("api_key={API_KEY}");
    let v = vault();
    let fifo = v.dir.path().join("ca.fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let add = |name: &str, env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("KEYWAY_PASSPHRASE", PASS));
        let args = crate::support::add_loopback_args(name, &["-f", &base, "-f", &key]);
        output_within_a_minute(v.command(&args, &env))
    };

    // SSL_CERT_FILE naming a FIFO: a warning, and the check goes on with the other roots (which
    // do not hold the test CA, so the server is refused as untrusted).
    let o = add("env-fifo", &[("SSL_CERT_FILE", fifo.to_str().unwrap())]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "SSL_CERT_FILE: {} is a FIFO, not a regular file",
            fifo.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("(issuer: CN=keyway CLI CA)"),
        "{}",
        stderr(&o)
    );

    // verify.extra_ca_file naming a FIFO or a device stops the command: a configuration error.
    for (path, kind) in [
        (fifo.to_str().unwrap(), "a FIFO"),
        ("/dev/zero", "a character device"),
    ] {
        let text = std::fs::read_to_string(&v.config).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("extra_ca_file"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&v.config, text).unwrap();
        verify_setting(&v, &format!("extra_ca_file = {path:?}"));
        let o = add("extra-bad", &[]);
        assert_eq!(code(&o), 2, "{path}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "verify.extra_ca_file {path} is {kind}, not a regular file"
            )),
            "{}",
            stderr(&o)
        );
    }
    assert!(creds(&v).is_empty());
    assert_eq!(server.hits(), 0, "nothing was sent");
    drop(rt);
}
