//! Airflow connections: the JSON or YAML that `airflow connections export` writes (an object of
//! conn_id -> {conn_type, host, login, password, schema, port, extra}), and connection URIs,
//! one per line, as `AIRFLOW_CONN_<CONN_ID>=URI` (the environment variables Airflow reads) or
//! `conn_id=URI` (`airflow connections export --file-format env`); a line's value may also be
//! the JSON form of a connection. The conn_id is the credential's name; the conn_type picks the
//! component (mapping.rs), an http connection by its host.

use serde_json::{Map, Value};

use super::mapping::{component, component_for_host, AIRFLOW_CONN_TYPES, AIRFLOW_FIELDS};
use super::{draft, json_error, scalar_text, BadFile, Entry, Mapped};
use crate::catalog::Catalog;
use crate::core::save::HOST_KEY_FIELD;

/// One connection as Airflow describes it.
#[derive(Default)]
struct Connection {
    conn_type: String,
    /// host, port, schema, login, password as text.
    attributes: Vec<(&'static str, String)>,
    extra: Map<String, Value>,
}

pub fn parse(text: &str, catalog: &Catalog) -> Result<Vec<Entry>, BadFile> {
    let trimmed = text.trim_start();
    // A list is JSON too (and no export's shape): its error should say JSON, not YAML.
    let json = trimmed.starts_with('{') || trimmed.starts_with('[');
    let connections: Vec<(String, Result<Connection, String>)> = if json {
        let all: Map<String, Value> = serde_json::from_str(text)
            .map_err(|e| json_error("the JSON of `airflow connections export`", &e))?;
        all.into_iter()
            .map(|(id, v)| (id, from_object(&v)))
            .collect()
    } else if looks_like_lines(text) {
        super::dotenv::parse_lines(text)?
            .into_iter()
            .map(|(name, value)| {
                let id = match name.strip_prefix("AIRFLOW_CONN_") {
                    Some(rest) => rest.to_ascii_lowercase(),
                    None => name,
                };
                let conn = if value.trim_start().starts_with('{') {
                    serde_json::from_str::<Value>(&value)
                        .map_err(|_| "its value is neither a connection URI nor JSON".to_string())
                        .and_then(|v| from_object(&v))
                } else {
                    from_uri(&value)
                };
                (id, conn)
            })
            .collect()
    } else {
        let all: Map<String, Value> = serde_norway::from_str(text).map_err(|e| {
            BadFile(match e.location() {
                Some(at) => format!(
                    "is not the YAML of `airflow connections export` (line {}, column {})",
                    at.line(),
                    at.column()
                ),
                None => "is not the YAML of `airflow connections export`".into(),
            })
        })?;
        all.into_iter()
            .map(|(id, v)| (id, from_object(&v)))
            .collect()
    };
    Ok(connections
        .into_iter()
        .map(|(id, conn)| {
            let mapped = match conn {
                Ok(conn) => map(&id, conn, catalog),
                Err(reason) => Mapped::Unmappable(reason),
            };
            Entry { label: id, mapped }
        })
        .collect())
}

/// Whether every line that is not blank or a comment is `NAME=...` (the URI forms).
fn looks_like_lines(text: &str) -> bool {
    let mut any = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let body = line.strip_prefix("export ").unwrap_or(line);
        match body.split_once('=') {
            Some((name, _))
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                any = true
            }
            _ => return false,
        }
    }
    any
}

fn from_object(value: &Value) -> Result<Connection, String> {
    let Value::Object(o) = value else {
        return Err("it is not a connection (an object with conn_type, host, ...)".into());
    };
    let text = |k: &str| o.get(k).and_then(scalar_text).unwrap_or_default();
    let conn_type = text("conn_type");
    if conn_type.is_empty() {
        return Err("it has no conn_type".into());
    }
    let extra = match o.get("extra") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) if !s.trim().is_empty() => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => m,
            _ => return Err("its extra is not a JSON object".into()),
        },
        _ => Map::new(),
    };
    Ok(Connection {
        conn_type,
        attributes: ["host", "port", "schema", "login", "password"]
            .into_iter()
            .map(|k| (k, text(k)))
            .collect(),
        extra,
    })
}

/// `conn-type://login:password@host:port/schema?extra=...` (with `__extra__` holding JSON).
fn from_uri(uri: &str) -> Result<Connection, String> {
    let url = url::Url::parse(uri.trim()).map_err(|_| "its value is not a connection URI")?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut extra = Map::new();
    for (k, v) in url.query_pairs() {
        if k == "__extra__" {
            match serde_json::from_str(&v) {
                Ok(Value::Object(m)) => extra.extend(m),
                _ => return Err("its __extra__ is not a JSON object".into()),
            }
        } else {
            extra.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let host = url.host_str().unwrap_or_default();
    Ok(Connection {
        conn_type: url.scheme().replace('-', "_"),
        attributes: vec![
            (
                "host",
                decode(host.trim_start_matches('[').trim_end_matches(']')),
            ),
            (
                "port",
                url.port().map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("schema", decode(url.path().trim_start_matches('/'))),
            ("login", decode(url.username())),
            ("password", url.password().map(decode).unwrap_or_default()),
        ],
        extra,
    })
}

fn map(id: &str, conn: Connection, catalog: &Catalog) -> Mapped {
    let conn_type = conn.conn_type.to_ascii_lowercase();
    let attribute = |k: &str| {
        conn.attributes
            .iter()
            .find(|(a, _)| *a == k)
            .map_or("", |(_, v)| v.as_str())
    };
    if conn_type == "http" || conn_type == "https" {
        let host = attribute("host");
        let Some((comp, base_url)) = component_for_host(catalog, host) else {
            return Mapped::Unmappable(format!(
                "an {conn_type} connection to '{host}', which is not the address of a service keyway knows"
            ));
        };
        let pairs = [
            ("base_url".to_string(), base_url),
            ("api_key".to_string(), attribute("password").to_string()),
        ];
        return Mapped::Credential(draft(comp, id, None, pairs));
    }
    let Some((_, component_id)) = AIRFLOW_CONN_TYPES.iter().find(|(t, _)| *t == conn_type) else {
        return Mapped::Unmappable(format!(
            "Airflow conn_type '{conn_type}' maps to no keyway component"
        ));
    };
    let comp = match component(catalog, component_id, &format!("conn_type '{conn_type}'")) {
        Ok(c) => c,
        Err(reason) => return Mapped::Unmappable(reason),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (attr, candidates) in AIRFLOW_FIELDS {
        let value = attribute(attr);
        if value.is_empty() {
            continue;
        }
        if let Some(field) = candidates.iter().find(|f| comp.field(f).is_some()) {
            pairs.push((field.to_string(), value.to_string()));
        }
    }
    // `extra` fills the fields the component has by their own names (sslmode, an SSH
    // connection's private_key and private_key_passphrase, ...).
    for (k, v) in &conn.extra {
        if let Some(text) = scalar_text(v) {
            let text = if k == HOST_KEY_FIELD {
                host_key_fingerprint(&text).unwrap_or(text)
            } else {
                text
            };
            pairs.push((k.clone(), text));
        }
    }
    Mapped::Credential(draft(comp, id, None, pairs))
}

/// Airflow's SSH / SFTP `host_key` extra is the host's public key, as in known_hosts
/// (`ssh-ed25519 AAAA...`) or its base64 alone; keyway pins its fingerprint as `ssh-keygen -lf`
/// prints it (read and hashed by ssh-key, russh's key crate). None when it is no public key:
/// the value then goes on as given, and the field's check names the problem.
fn host_key_fingerprint(value: &str) -> Option<String> {
    use base64::Engine;
    use russh::keys::{HashAlg, PublicKey};
    let value = value.trim();
    let key = match value.split_whitespace().count() {
        1 => {
            let blob = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?;
            PublicKey::from_bytes(&blob).ok()?
        }
        _ => PublicKey::from_openssh(value).ok()?,
    };
    Some(key.fingerprint(HashAlg::Sha256).to_string())
}
