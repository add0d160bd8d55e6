//! The environment `keyway run` gives a command: every field of every credential as
//! `KEYWAY_<COMPONENT>_<FIELD>`, plus the conventional names each component declares (PGHOST,
//! STRIPE_API_KEY, DATABASE_URL, ...). Pure: the catalogue's declarations and the credentials
//! come in, the variables (or why they cannot be set) go out.
//!
//! Two credentials that would set one name with different values are refused rather than one
//! silently winning: the command would reach the wrong database. `--env-prefix P` separates
//! them: each credential's names then start with `P<CREDENTIAL>_` instead (`P` plus the
//! credential's name in environment form), for the conventional names too.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::Credential;

/// What the catalogue declares about a component's variables.
#[derive(Debug, Clone, Copy)]
pub struct EnvSpec<'a> {
    /// The component's id (`postgresql`), the middle of `KEYWAY_POSTGRESQL_HOST`.
    pub component: &'a str,
    /// Conventional name -> the field it carries, or `url_marker` for the connection URL.
    pub conventional: &'a BTreeMap<String, String>,
    /// The scheme of a database's connection URL (`postgresql`); None for other kinds.
    pub url_scheme: Option<&'a str>,
    /// The value in `conventional` that stands for the connection URL (`$url`).
    pub url_marker: &'a str,
}

/// One variable to set.
pub struct EnvVar {
    pub name: String,
    pub value: SecretString,
    /// The credential it comes from (its name), for messages.
    pub credential: String,
    /// The field it carries, or "connection URL".
    pub source: String,
}

impl std::fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvVar")
            .field("name", &self.name)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// Why the variables cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("credentials '{first}' and '{second}' would both set {name} (to different values); pass --env-prefix P to name each credential's variables P<CREDENTIAL>_...")]
    Ambiguous {
        name: String,
        first: String,
        second: String,
    },
    #[error("--env-prefix '{0}' is not the start of an environment variable name (letters, digits and '_', not starting with a digit)")]
    BadPrefix(String),
}

/// A name in environment form: upper case, every character but a letter or a digit as '_'.
pub fn env_form(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `prefix` may start an environment variable name (empty is fine).
fn good_prefix(prefix: &str) -> bool {
    prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit())
}

/// The variables for `credentials` (each with its component's spec), sorted by name. A name
/// two credentials would set to different values is refused; the same value twice (one
/// credential in two steps of a flow, GH_TOKEN and GITHUB_TOKEN) is set once.
pub fn plan(
    credentials: &[(EnvSpec<'_>, &Credential)],
    prefix: Option<&str>,
) -> Result<Vec<EnvVar>, EnvError> {
    if let Some(p) = prefix {
        if !good_prefix(p) {
            return Err(EnvError::BadPrefix(p.to_string()));
        }
    }
    let mut out: BTreeMap<String, EnvVar> = BTreeMap::new();
    for (spec, c) in credentials {
        for var in credential_vars(spec, c, prefix) {
            match out.get(&var.name) {
                Some(had) if had.value.expose_secret() == var.value.expose_secret() => {}
                Some(had) => {
                    return Err(EnvError::Ambiguous {
                        name: var.name.clone(),
                        first: had.credential.clone(),
                        second: var.credential,
                    })
                }
                None => {
                    out.insert(var.name.clone(), var);
                }
            }
        }
    }
    Ok(out.into_values().collect())
}

/// One credential's variables: every field with a value, then the conventional names.
fn credential_vars(spec: &EnvSpec<'_>, c: &Credential, prefix: Option<&str>) -> Vec<EnvVar> {
    let head = match prefix {
        Some(p) => format!("{p}{}_", env_form(&c.name)),
        None => String::new(),
    };
    let generic = match prefix {
        Some(_) => head.clone(),
        None => format!("KEYWAY_{}_", env_form(spec.component)),
    };
    let var = |name: String, value: &str, source: &str| EnvVar {
        name,
        value: SecretString::from(value.to_string()),
        credential: c.name.clone(),
        source: source.to_string(),
    };
    let mut vars = Vec::new();
    let fields = c
        .public
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(
            c.secrets
                .names()
                .filter_map(|k| c.secrets.expose(k).map(|v| (k, v))),
        );
    for (field, value) in fields {
        if !value.is_empty() {
            vars.push(var(format!("{generic}{}", env_form(field)), value, field));
        }
    }
    for (name, field) in spec.conventional {
        // Zeroizing: the URL holds the password, and this copy is only a step on its way.
        let value: Option<zeroize::Zeroizing<String>> = if field == spec.url_marker {
            spec.url_scheme
                .and_then(|scheme| connection_url(scheme, c))
                .map(zeroize::Zeroizing::new)
        } else {
            c.value(field)
                .filter(|v| !v.is_empty())
                .map(|v| zeroize::Zeroizing::new(v.to_string()))
        };
        if let Some(value) = value {
            let source = if field == spec.url_marker {
                "connection URL"
            } else {
                field.as_str()
            };
            vars.push(var(format!("{head}{name}"), &value, source));
        }
    }
    vars
}

/// A database credential as a URL: `scheme://user:password@host:port/database?sslmode=...`,
/// user, password and database percent-encoded. None without a host.
pub fn connection_url(scheme: &str, c: &Credential) -> Option<String> {
    let host = c.value("host").filter(|h| !h.is_empty())?;
    let bracketed = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    // Redis says TLS in the scheme: rediss:// (tls on, or unset for a host that is not loopback).
    let scheme = match (scheme, c.value("tls").filter(|t| !t.is_empty())) {
        ("redis", Some("on")) => "rediss",
        ("redis", None) if !super::transport::is_loopback_host(host) => "rediss",
        _ => scheme,
    };
    let mut url = url::Url::parse(&format!("{scheme}://{bracketed}")).ok()?;
    // url's setters take '%' as the start of an escape already made, so a password holding
    // "%41" would reach libpq as "A": every byte but the unreserved ones is escaped first.
    if let Some(user) = c.value("user").filter(|u| !u.is_empty()) {
        url.set_username(&userinfo_escaped(user)).ok()?;
    }
    // A password without a user (Redis's requirepass) is written as ":password@".
    if let Some(password) = c.value("password").filter(|p| !p.is_empty()) {
        url.set_password(Some(&userinfo_escaped(password))).ok()?;
    }
    if let Some(port) = c.value("port").and_then(|p| p.parse::<u16>().ok()) {
        url.set_port(Some(port)).ok()?;
    }
    if let Some(db) = c.value("database").filter(|d| !d.is_empty()) {
        url.path_segments_mut().ok()?.push(db);
    }
    if let Some(mode) = c.value("sslmode").filter(|m| !m.is_empty()) {
        url.query_pairs_mut().append_pair("sslmode", mode);
    }
    Some(url.into())
}

/// RFC 3986's unreserved characters stay; everything else is percent-encoded.
const USERINFO_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn userinfo_escaped(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, USERINFO_ESCAPED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(name: &str, password: &str) -> Credential {
        let mut c = Credential::with_fields(
            &[
                ("host", "db.internal"),
                ("port", "5433"),
                ("database", "ware house"),
                ("user", "etl@corp"),
                ("sslmode", "verify-full"),
            ],
            &[("password", password)],
        );
        c.name = name.to_string();
        c.component = "postgresql".into();
        c
    }

    fn pg_spec(conventional: &BTreeMap<String, String>) -> EnvSpec<'_> {
        EnvSpec {
            component: "postgresql",
            conventional,
            url_scheme: Some("postgresql"),
            url_marker: "$url",
        }
    }

    fn conventional() -> BTreeMap<String, String> {
        [
            ("PGPASSWORD", "password"),
            ("PGHOST", "host"),
            ("DATABASE_URL", "$url"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn names(vars: &[EnvVar]) -> Vec<&str> {
        vars.iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn generic_and_conventional_names() {
        let conv = conventional();
        let c = pg("main", "p@ss:w/rd");
        let vars = plan(&[(pg_spec(&conv), &c)], None).unwrap();
        assert_eq!(
            names(&vars),
            [
                "DATABASE_URL",
                "KEYWAY_POSTGRESQL_DATABASE",
                "KEYWAY_POSTGRESQL_HOST",
                "KEYWAY_POSTGRESQL_PASSWORD",
                "KEYWAY_POSTGRESQL_PORT",
                "KEYWAY_POSTGRESQL_SSLMODE",
                "KEYWAY_POSTGRESQL_USER",
                "PGHOST",
                "PGPASSWORD",
            ]
        );
        let get = |n: &str| {
            vars.iter()
                .find(|v| v.name == n)
                .unwrap()
                .value
                .expose_secret()
                .to_string()
        };
        assert_eq!(get("PGPASSWORD"), "p@ss:w/rd");
        assert_eq!(
            get("DATABASE_URL"),
            "postgresql://etl%40corp:p%40ss%3Aw%2Frd@db.internal:5433/ware%20house?sslmode=verify-full"
        );
        // Debug never shows a value.
        assert!(!format!("{vars:?}").contains("p@ss"));
    }

    #[test]
    fn two_credentials_of_one_component_need_a_prefix() {
        let conv = conventional();
        let (a, b) = (pg("source", "one"), pg("target", "two"));
        let both = [(pg_spec(&conv), &a), (pg_spec(&conv), &b)];
        let err = plan(&both, None).unwrap_err();
        assert!(
            matches!(&err, EnvError::Ambiguous { first, second, .. } if first == "source" && second == "target"),
            "{err}"
        );
        let vars = plan(&both, Some("DB_")).unwrap();
        let n = names(&vars);
        assert!(n.contains(&"DB_SOURCE_PGPASSWORD") && n.contains(&"DB_TARGET_PGPASSWORD"));
        assert!(n.contains(&"DB_SOURCE_PASSWORD") && n.contains(&"DB_TARGET_DATABASE_URL"));
        assert!(!n
            .iter()
            .any(|n| n.starts_with("KEYWAY_") || n.starts_with("PG")));
        // The same credential twice (two steps of a flow) is no ambiguity.
        assert!(plan(&[(pg_spec(&conv), &a), (pg_spec(&conv), &a)], None).is_ok());
        assert_eq!(
            plan(&both, Some("9x")).unwrap_err(),
            EnvError::BadPrefix("9x".into())
        );
        assert_eq!(env_form("pg-main.v2"), "PG_MAIN_V2");
    }

    #[test]
    fn an_ipv6_host_is_bracketed_and_missing_parts_are_left_out() {
        let c = Credential::with_fields(&[("host", "::1")], &[]);
        assert_eq!(
            connection_url("postgresql", &c).as_deref(),
            Some("postgresql://[::1]")
        );
        assert_eq!(
            connection_url("postgresql", &Credential::with_fields(&[], &[])),
            None
        );
    }

    #[test]
    fn user_and_password_reach_the_url_as_they_are_percent_signs_included() {
        let user = "u%41 é:@";
        let password = "x%41y%:/?#[]@!$&'()*+,;=%";
        let c = Credential::with_fields(
            &[
                ("host", "db.internal"),
                ("user", user),
                ("database", "d%41"),
            ],
            &[("password", password)],
        );
        let text = connection_url("postgresql", &c).unwrap();
        let url = url::Url::parse(&text).unwrap();
        let decoded = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .unwrap()
                .into_owned()
        };
        assert_eq!(decoded(url.username()), user, "{text}");
        assert_eq!(decoded(url.password().unwrap()), password, "{text}");
        assert_eq!(url.host_str(), Some("db.internal"));
        assert_eq!(decoded(url.path().trim_start_matches('/')), "d%41");
    }
}
