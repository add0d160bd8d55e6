//! Turning typed field values (from `--field KEY=VALUE` or a form) into a credential's public and
//! secret fields, checked against the component's definition (schema.rs). Pure: the same checks serve
//! the CLI and the TUI's inline validation.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::schema::{validate_value, Component, Validation, ALLOW_HTTP_FIELD};
use super::secret::SecretFields;
use super::transport::scheme_allowed;

/// A field value as typed: secrets arrive as `SecretString` so they are never copied around bare.
pub enum FieldValue {
    Plain(String),
    Secret(SecretString),
}

impl std::fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Plain(v) => write!(f, "Plain({v:?})"),
            FieldValue::Secret(_) => f.write_str("Secret([REDACTED])"),
        }
    }
}

impl FieldValue {
    fn text(&self) -> &str {
        use secrecy::ExposeSecret;
        match self {
            FieldValue::Plain(v) => v,
            FieldValue::Secret(s) => s.expose_secret(),
        }
    }
}

/// A field-level input problem; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field '{field}' {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Checks one value as a form would while the user types.
pub fn check_field(component: &Component, name: &str, value: &str) -> Result<(), FieldError> {
    let spec = component.field(name).ok_or_else(|| FieldError {
        field: name.to_string(),
        message: format!(
            "is not a field of {} (its fields: {})",
            component.name,
            component
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    validate_value(spec, value).map_err(|message| FieldError {
        field: name.to_string(),
        message,
    })
}

/// The one rule for what is stored, and so what is sent: a value without the whitespace around
/// it (a key pasted with a trailing space or newline is the key; no service's key, token, host
/// or password begins or ends with whitespace that a person could see), and a PEM value in its
/// canonical form (see `core::pem`). The CLI and the TUI both save through `apply_fields`, so
/// both follow it; what a verifier sends is exactly what is stored.
fn stored_form(component: &Component, name: &str, value: FieldValue) -> FieldValue {
    let pem = component
        .field(name)
        .and_then(|spec| spec.validate.pem_kind());
    let trimmed = value.text().trim();
    let canonical = pem.and_then(|kind| super::pem::normalise(kind, trimmed).ok());
    let unchanged = canonical.is_none() && trimmed.len() == value.text().len();
    if unchanged {
        return value;
    }
    let stored = canonical.unwrap_or_else(|| trimmed.to_string());
    match value {
        FieldValue::Plain(_) => FieldValue::Plain(stored),
        FieldValue::Secret(_) => FieldValue::Secret(SecretString::from(stored)),
    }
}

/// Builds the full field set: `base` (the credential being edited, or empty for a new one) with
/// `changes` applied (each in its stored form, see `stored_form`), defaults filled in, then
/// every field checked. An empty value, or one of whitespace only, clears an optional field.
pub fn apply_fields(
    component: &Component,
    base_public: &BTreeMap<String, String>,
    base_secrets: &SecretFields,
    changes: Vec<(String, FieldValue)>,
) -> Result<(BTreeMap<String, String>, SecretFields), FieldError> {
    let mut public = base_public.clone();
    let mut secrets = base_secrets.clone();
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in changes {
        if !seen.insert(name.clone()) {
            return Err(FieldError {
                field: name,
                message: "is given more than once".into(),
            });
        }
        let value = stored_form(component, &name, value);
        check_field(component, &name, value.text()).or_else(|e| {
            // Empty means "clear": allowed for optional fields (required ones fail below), and
            // for a field the credential holds that its component no longer defines.
            let held = public.contains_key(&name) || secrets.contains(&name);
            if value.text().is_empty() && (component.field(&name).is_some() || held) {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        let secret = component.is_secret(&name);
        public.remove(&name);
        secrets.remove(&name);
        if value.text().is_empty() {
            continue;
        }
        match (secret, value) {
            (true, FieldValue::Secret(s)) => secrets.insert(name, s),
            (true, FieldValue::Plain(p)) => secrets.insert(name, SecretString::from(p)),
            (false, v) => {
                public.insert(name, v.text().to_string());
            }
        }
    }
    // A secret held in a public slot (an old import, a field made secret since) goes where
    // secrets go, so it is masked and sealed like any other.
    let misplaced: Vec<String> = public
        .keys()
        .filter(|k| component.is_secret(k))
        .cloned()
        .collect();
    for name in misplaced {
        if let Some(value) = public.remove(&name) {
            secrets.insert(name, SecretString::from(value));
        }
    }
    for spec in &component.fields {
        let present = public.contains_key(&spec.name) || secrets.contains(&spec.name);
        if !present {
            if let Some(default) = &spec.default {
                public.insert(spec.name.clone(), default.clone());
                continue;
            }
            if spec.required {
                return Err(FieldError {
                    field: spec.name.clone(),
                    message: format!("is required for {} ({})", component.name, spec.label),
                });
            }
        }
    }
    for group in &component.require_one_of {
        let given = group
            .iter()
            .any(|name| public.contains_key(name) || secrets.contains(name));
        if !given {
            let quoted: Vec<String> = group.iter().map(|name| format!("'{name}'")).collect();
            return Err(FieldError {
                field: group[0].clone(),
                message: format!(
                    "is empty: {} needs one of {}",
                    component.name,
                    quoted.join(" or ")
                ),
            });
        }
    }
    // Values carried over from `base` are re-checked too: the catalogue may have changed.
    for (name, value) in &public {
        check_field(component, name, value)?;
    }
    check_transport(component, &public)?;
    for name in secrets.names() {
        if component.field(name).is_none() {
            return Err(FieldError {
                field: name.to_string(),
                message: format!("is not a field of {}", component.name),
            });
        }
    }
    Ok((public, secrets))
}

/// The transport rule (core::transport) on every URL field: a plain http URL to another
/// machine needs `allow_http = yes` on the same credential.
fn check_transport(
    component: &Component,
    public: &BTreeMap<String, String>,
) -> Result<(), FieldError> {
    let allow_http = public
        .get(ALLOW_HTTP_FIELD)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"));
    for spec in component
        .fields
        .iter()
        .filter(|f| f.validate == Validation::Url)
    {
        let Some(url) = public.get(&spec.name).and_then(|v| url::Url::parse(v).ok()) else {
            continue;
        };
        if !scheme_allowed(&url, allow_http) {
            return Err(FieldError {
                field: spec.name.clone(),
                message: format!(
                    "uses plain http to a host that is not this machine, which would send the secret unencrypted; use https, or set {ALLOW_HTTP_FIELD}=yes on a trusted network"
                ),
            });
        }
    }
    // The same rule for a database connection: `sslmode = disable` sends the password in clear
    // when the server asks for it, so only to this machine (as plain http is ruled).
    let disabled = public
        .get("sslmode")
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("disable"));
    if let (true, Some(host)) = (disabled, public.get("host")) {
        if !super::transport::is_loopback_host(host.trim()) {
            return Err(FieldError {
                field: "sslmode".into(),
                message: format!(
                    "is disable, which would let the password cross the network in clear, so keyway allows it only for a loopback host, not {}; use verify-full (or require)",
                    host.trim()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::examples;

    fn pg() -> Component {
        examples::postgres()
    }

    fn plain(k: &str, v: &str) -> (String, FieldValue) {
        (k.to_string(), FieldValue::Plain(v.to_string()))
    }

    #[test]
    fn sslmode_disable_is_refused_off_loopback() {
        let fields = |host: &str| {
            vec![
                plain("host", host),
                plain("user", "etl"),
                plain("password", "pw"),
                plain("sslmode", "disable"),
            ]
        };
        let empty = (BTreeMap::new(), SecretFields::new());
        let err = apply_fields(&pg(), &empty.0, &empty.1, fields("db.internal")).unwrap_err();
        assert_eq!(err.field, "sslmode");
        assert!(err.message.contains("loopback"), "{}", err.message);
        for host in ["127.0.0.1", "localhost", "::1"] {
            assert!(
                apply_fields(&pg(), &empty.0, &empty.1, fields(host)).is_ok(),
                "{host}"
            );
        }
    }

    #[test]
    fn defaults_fill_and_secrets_split() {
        let (public, secrets) = apply_fields(
            &pg(),
            &BTreeMap::new(),
            &SecretFields::new(),
            vec![
                plain("host", "db.internal"),
                plain("user", "etl"),
                plain("password", "pw"),
            ],
        )
        .unwrap();
        assert_eq!(public.get("port").map(String::as_str), Some("5432"));
        assert_eq!(
            public.get("sslmode").map(String::as_str),
            Some("verify-full")
        );
        assert!(!public.contains_key("password"));
        assert_eq!(secrets.expose("password"), Some("pw"));
    }

    #[test]
    fn errors_name_the_field() {
        let none = || (BTreeMap::new(), SecretFields::new());
        let (p, s) = none();
        let e = apply_fields(&pg(), &p, &s, vec![plain("port", "70000")]).unwrap_err();
        assert_eq!(e.field, "port");
        let e = apply_fields(&pg(), &p, &s, vec![plain("colour", "red")]).unwrap_err();
        assert_eq!(e.field, "colour");
        let e =
            apply_fields(&pg(), &p, &s, vec![plain("host", "h"), plain("user", "u")]).unwrap_err();
        assert_eq!(e.field, "password");
        assert!(e.to_string().contains("required"));
        let e = apply_fields(&pg(), &p, &s, vec![plain("sslmode", "prefer")]).unwrap_err();
        assert_eq!(e.field, "sslmode");
        let stripe = examples::stripe();
        let e =
            apply_fields(&stripe, &p, &s, vec![plain("base_url", "api.stripe.com")]).unwrap_err();
        assert_eq!(e.field, "base_url");
    }

    #[test]
    fn editing_keeps_untouched_values() {
        let (p, s) = apply_fields(
            &pg(),
            &BTreeMap::new(),
            &SecretFields::new(),
            vec![
                plain("host", "a"),
                plain("user", "u"),
                plain("password", "pw"),
            ],
        )
        .unwrap();
        let (p2, s2) = apply_fields(&pg(), &p, &s, vec![plain("host", "b")]).unwrap();
        assert_eq!(p2.get("host").map(String::as_str), Some("b"));
        assert_eq!(p2.get("user").map(String::as_str), Some("u"));
        assert_eq!(s2.expose("password"), Some("pw"));
    }

    #[test]
    fn a_secret_in_a_public_slot_moves_and_a_stray_field_can_be_cleared() {
        let mut base = BTreeMap::new();
        base.insert("host".to_string(), "a".to_string());
        base.insert("user".to_string(), "u".to_string());
        base.insert("password".to_string(), "SENTINEL-misplaced".to_string());
        base.insert("colour".to_string(), "red".to_string());
        let e = apply_fields(&pg(), &base, &SecretFields::new(), vec![]).unwrap_err();
        assert_eq!(e.field, "colour");
        let (public, secrets) = apply_fields(
            &pg(),
            &base,
            &SecretFields::new(),
            vec![plain("colour", "")],
        )
        .unwrap();
        assert!(!public.contains_key("colour"));
        assert!(!public.contains_key("password"));
        assert_eq!(secrets.expose("password"), Some("SENTINEL-misplaced"));
        // A field neither defined nor held is still refused, even empty.
        let e = apply_fields(&pg(), &public, &secrets, vec![plain("shape", "")]).unwrap_err();
        assert_eq!(e.field, "shape");
    }

    #[test]
    fn values_are_stored_without_surrounding_whitespace_and_pem_canonical() {
        let secret = |k: &str, v: &str| (k.to_string(), FieldValue::Secret(v.to_string().into()));
        let (public, secrets) = apply_fields(
            &pg(),
            &BTreeMap::new(),
            &SecretFields::new(),
            vec![
                plain("host", " db.internal\n"),
                plain("port", "5432 "),
                plain("user", "\tetl"),
                secret("password", "  pw with inner space  "),
                // Whitespace only is no value: the optional field stays unset.
                plain("ssl_cert", "  \n "),
                plain(
                    "ssl_ca",
                    "\n-----BEGIN CERTIFICATE-----\r\nQUJD\r\nREVG\r\n-----END CERTIFICATE-----\r\n",
                ),
            ],
        )
        .unwrap();
        assert_eq!(public["host"], "db.internal");
        assert_eq!(public["port"], "5432");
        assert_eq!(public["user"], "etl");
        assert_eq!(secrets.expose("password"), Some("pw with inner space"));
        assert!(!public.contains_key("ssl_cert"));
        assert_eq!(
            public["ssl_ca"],
            "-----BEGIN CERTIFICATE-----\nQUJDREVG\n-----END CERTIFICATE-----"
        );
        // A required field of whitespace only is missing, not a blank value.
        let e = apply_fields(
            &pg(),
            &BTreeMap::new(),
            &SecretFields::new(),
            vec![
                plain("host", "h"),
                plain("user", "u"),
                secret("password", " \t "),
            ],
        )
        .unwrap_err();
        assert_eq!(e.field, "password");
    }

    #[test]
    fn debug_of_a_secret_value_is_redacted() {
        let v = FieldValue::Secret(SecretString::from("SENTINEL"));
        assert!(!format!("{v:?}").contains("SENTINEL"));
    }
}
