//! The component schema: which fields a credential of each component holds, how each value is
//! checked, and how such a credential is verified. Pure: the catalogue (catalog.rs) reads the
//! definitions (embedded and user TOML files) into these types; the CLI, the TUI and the
//! verifiers read them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::expiry::{CLIENT_SECRET_EXPIRES_AT_FIELD, EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};
use super::pem::{self, PemKind};

/// The three kinds of credential keyway manages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ApiKey,
    Oauth2,
    Database,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ApiKey => "api_key",
            Kind::Oauth2 => "oauth2",
            Kind::Database => "database",
        }
    }
}

/// How a value typed into a field is checked before anything is sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    /// Any non-empty text without control characters.
    #[default]
    Text,
    /// An absolute http(s) URL.
    Url,
    /// A TCP port, 1-65535.
    Port,
    /// A host name or IP address.
    Host,
    /// An e-mail address (something@something).
    Email,
    /// An RFC 3339 timestamp or a YYYY-MM-DD date.
    Date,
    /// One or more PEM certificates (a CA, or a client certificate with its chain); line
    /// breaks allowed, stored in canonical form (see `core::pem`).
    PemCertificates,
    /// One unencrypted PEM private key (put it in a secret field).
    PemPrivateKey,
    /// One SSH private key, OpenSSH's format or PEM, encrypted or not (a secret field).
    SshPrivateKey,
    /// An SSH host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and 43 base64
    /// characters.
    SshFingerprint,
}

impl Validation {
    /// The PEM contents this validation asks for, if it is one of the PEM kinds.
    pub fn pem_kind(&self) -> Option<PemKind> {
        match self {
            Validation::PemCertificates => Some(PemKind::Certificates),
            Validation::PemPrivateKey => Some(PemKind::PrivateKey),
            Validation::SshPrivateKey => Some(PemKind::SshPrivateKey),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub validate: Validation,
    /// When set, the value must be one of these.
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub help: Option<String>,
    /// What each of `choices` means, shown beside the value chosen (sslmode's words).
    #[serde(default)]
    pub choice_help: BTreeMap<String, String>,
}

/// How an API key travels on the verification request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyPlacement {
    /// `Authorization: Bearer <api_key>`
    Bearer,
    /// A named header, with an optional prefix (`Authorization: Token <key>`, `X-Api-Key: <key>`).
    Header {
        name: String,
        #[serde(default)]
        prefix: Option<String>,
    },
    /// HTTP basic auth; the user name comes from a field (or a fixed value), the password from
    /// another field (Jira: email + API token; Mailchimp: any user + key; Twilio: SID + token).
    Basic {
        #[serde(default)]
        username_field: Option<String>,
        #[serde(default)]
        username: Option<String>,
        password_field: String,
    },
    /// A query parameter (`?key=<api_key>`).
    Query { param: String },
}

/// The verification recipe of a component.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "engine", rename_all = "snake_case", deny_unknown_fields)]
pub enum VerifySpec {
    /// A non-mutating HTTP request on `base_url` + `path` carrying the key.
    Http {
        #[serde(default = "default_method")]
        method: String,
        path: String,
        auth: KeyPlacement,
        #[serde(default = "default_ok_status")]
        ok_status: Vec<u16>,
        /// A JSON pointer into the response whose value makes a short detail ("acct_123").
        #[serde(default)]
        detail_pointer: Option<String>,
    },
    /// OAuth2: token endpoint grants, plus a userinfo/verify request for access-token-only
    /// credentials. Endpoint URLs are credential fields (token_url, device_authorization_url,
    /// auth_url) whose defaults come from the catalogue.
    Oauth2 {
        /// Path on `base_url` answering a bearer access token (userinfo, /me, ...).
        userinfo_path: String,
        #[serde(default = "default_ok_status")]
        ok_status: Vec<u16>,
        #[serde(default)]
        detail_pointer: Option<String>,
    },
    /// A database connection followed by a harmless query.
    Database { dbengine: DbEngine },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbEngine {
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
    Redis,
    /// SFTP over SSH.
    Sftp,
}

impl DbEngine {
    /// The scheme of the engine's connection URLs (`DATABASE_URL`).
    pub fn url_scheme(self) -> &'static str {
        match self {
            DbEngine::Postgres => "postgresql",
            DbEngine::Mysql => "mysql",
            DbEngine::Redis => "redis",
            DbEngine::Sftp => "sftp",
        }
    }

    /// The fields a component of this engine must define (the verifier reads them).
    pub fn needed_fields(self) -> &'static [&'static str] {
        match self {
            DbEngine::Postgres | DbEngine::Mysql => {
                &["host", "port", "database", "user", "password", "sslmode"]
            }
            DbEngine::Redis => &["host", "port", "user", "password", "database", "tls"],
            DbEngine::Sftp => &[
                "host",
                "port",
                "user",
                "password",
                "private_key",
                "private_key_passphrase",
                "host_key",
            ],
        }
    }
}

/// The value of an `[env]` entry that stands for a database's connection URL, not a field.
pub const ENV_URL: &str = "$url";

/// Variables an `[env]` entry may not set: the child's own search path, loader and shell
/// settings, and keyway's own namespace.
const ENV_RESERVED: &[&str] = &[
    "PATH", "HOME", "SHELL", "USER", "LOGNAME", "IFS", "ENV", "BASH_ENV", "PWD", "TERM", "TMPDIR",
];
const ENV_RESERVED_PREFIXES: &[&str] = &["LD_", "DYLD_", "KEYWAY_"];

fn default_method() -> String {
    "GET".to_string()
}

fn default_ok_status() -> Vec<u16> {
    vec![200]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub icon: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub docs_url: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub verify: VerifySpec,
    /// The conventional environment variables `keyway run` sets for a credential of this
    /// component, each to one of its fields (`PGPASSWORD = "password"`) or, for a database, to
    /// `"$url"`, its connection URL (`DATABASE_URL`). See `check_env`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Groups of optional fields of which at least one must be given (`require_one_of =
    /// [["password", "private_key"]]`: an SSH login needs a password or a key). Checked with
    /// the required fields, by `input::apply_fields`.
    #[serde(default)]
    pub require_one_of: Vec<Vec<String>>,
    /// A user file reusing a built-in id must say so (`override = true`), or it is refused:
    /// replacing Stripe's definition moves where every Stripe key is sent.
    #[serde(default, rename = "override")]
    pub replaces_builtin: bool,
    /// The user file this definition came from; None for a built-in one.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// The optional field every HTTP-based component gets, so a credential can opt in to plain
/// http on a non-loopback host. Added by `Component::checked` so no definition can forget it.
pub const ALLOW_HTTP_FIELD: &str = "allow_http";

/// The optional CA certificate every HTTP-based component gets, for a service behind a private
/// CA: trusted for this credential's requests in addition to the system's CAs. Added by the
/// loader, like `allow_http`.
pub const CA_CERT_FIELD: &str = "ca_cert";

impl Component {
    /// A definition as read, checked (what serde cannot express) and given the fields every
    /// component gets: `allow_http` and `ca_cert` on HTTP-based ones, the optional expiry
    /// dates. The message says what is wrong.
    pub fn checked(mut self) -> Result<Component, String> {
        check_component(&self)?;
        if self.uses_http() && self.field(ALLOW_HTTP_FIELD).is_none() {
            self.fields.push(FieldSpec {
                name: ALLOW_HTTP_FIELD.to_string(),
                label: "Allow plain http (non-loopback)".to_string(),
                secret: false,
                required: false,
                default: Some("no".to_string()),
                validate: Validation::Text,
                choices: vec!["no".to_string(), "yes".to_string()],
                help: Some(
                    "Only for trusted networks: the key then travels unencrypted".to_string(),
                ),
                choice_help: BTreeMap::new(),
            });
        }
        if self.uses_http() && self.field(CA_CERT_FIELD).is_none() {
            self.fields.push(FieldSpec {
            name: CA_CERT_FIELD.to_string(),
            label: "CA certificate".to_string(),
            secret: false,
            required: false,
            default: None,
            validate: Validation::PemCertificates,
            choices: vec![],
            help: Some(
                "Optional: a private CA to trust for this service, besides the system's (paste the PEM)"
                    .to_string(),
            ),
            choice_help: BTreeMap::new(),
        });
        }
        if self.kind == Kind::Oauth2 && self.field(REFRESH_EXPIRES_AT_FIELD).is_none() {
            self.fields.push(optional_date_field(
                REFRESH_EXPIRES_AT_FIELD,
                "Refresh token expires at",
                "Filled in by login when the provider states it; audits warn ahead",
            ));
        }
        if self.kind == Kind::Oauth2 && self.field(CLIENT_SECRET_EXPIRES_AT_FIELD).is_none() {
            self.fields.push(optional_date_field(
                CLIENT_SECRET_EXPIRES_AT_FIELD,
                "Client secret expires on",
                "Optional: when the client secret expires (YYYY-MM-DD); audits warn ahead",
            ));
        }
        if self.field(EXPIRES_AT_FIELD).is_none() {
            self.fields.push(optional_date_field(
                EXPIRES_AT_FIELD,
                "Expires on",
                "Optional: when this key or password expires (YYYY-MM-DD); audits warn ahead",
            ));
        }
        Ok(self)
    }
}

fn optional_date_field(name: &str, label: &str, help: &str) -> FieldSpec {
    FieldSpec {
        name: name.to_string(),
        label: label.to_string(),
        secret: false,
        required: false,
        default: None,
        validate: Validation::Date,
        choices: vec![],
        help: Some(help.to_string()),
        choice_help: BTreeMap::new(),
    }
}

/// The checks serde cannot express: consistent ids, one-glyph icons, the field-name convention.
fn check_component(c: &Component) -> Result<(), String> {
    if c.id.is_empty()
        || !c
            .id
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
    {
        return Err(format!(
            "id '{}' must be a slug of lowercase letters, digits, '_' or '-'",
            c.id
        ));
    }
    if c.name.trim().is_empty() {
        return Err("name must not be empty".into());
    }
    if c.icon.chars().count() != 1 {
        return Err(format!("icon '{}' must be exactly one character", c.icon));
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &c.fields {
        if !seen.insert(f.name.as_str()) {
            return Err(format!("field '{}' is defined twice", f.name));
        }
        if f.secret && f.default.is_some() {
            return Err(format!("secret field '{}' must not have a default", f.name));
        }
        if let Some(d) = &f.default {
            if let Err(msg) = validate_value(f, d) {
                return Err(format!("default of field '{}': {msg}", f.name));
            }
        }
        if let Some(word) = f.choice_help.keys().find(|w| !f.choices.contains(w)) {
            return Err(format!(
                "field '{}' explains '{word}', which is not one of its choices",
                f.name
            ));
        }
        if matches!(
            f.validate,
            Validation::PemPrivateKey | Validation::SshPrivateKey
        ) && !f.secret
        {
            return Err(format!(
                "field '{}' holds a private key and must be secret",
                f.name
            ));
        }
    }
    for group in &c.require_one_of {
        if group.len() < 2 {
            return Err("each require_one_of group names at least two fields".into());
        }
        if let Some(name) = group.iter().find(|name| c.field(name).is_none()) {
            return Err(format!(
                "require_one_of names '{name}', which is not one of its fields"
            ));
        }
    }
    check_env(c)?;
    let needs = |name: &str| -> Result<(), String> {
        if c.field(name).is_none() {
            Err(format!(
                "a {} component needs a '{name}' field",
                c.kind.as_str()
            ))
        } else {
            Ok(())
        }
    };
    match (&c.kind, &c.verify) {
        (Kind::ApiKey, VerifySpec::Http { auth, method, .. }) => {
            needs("base_url")?;
            if !matches!(method.as_str(), "GET" | "HEAD" | "POST") {
                return Err(format!(
                    "verify.method '{method}' must be GET, HEAD or POST"
                ));
            }
            let referenced: Vec<&str> = match auth {
                KeyPlacement::Basic {
                    username_field,
                    password_field,
                    ..
                } => username_field
                    .iter()
                    .map(String::as_str)
                    .chain([password_field.as_str()])
                    .collect(),
                _ => vec!["api_key"],
            };
            for name in referenced {
                needs(name)?;
            }
        }
        (Kind::Oauth2, VerifySpec::Oauth2 { .. }) => {
            for name in ["base_url", "client_id", "token_url"] {
                needs(name)?;
            }
        }
        (Kind::Database, VerifySpec::Database { dbengine }) => {
            for name in dbengine.needed_fields() {
                needs(name)?;
            }
        }
        (kind, _) => {
            return Err(format!(
                "verify.engine does not fit kind '{}'",
                kind.as_str()
            ))
        }
    }
    Ok(())
}

/// An `[env]` table: each name a conventional environment variable name (upper-case letters,
/// digits and '_', not starting with a digit), none that would change how the child runs or
/// that keyway keeps for itself, each value a field of the component or, for a database,
/// `"$url"`.
fn check_env(c: &Component) -> Result<(), String> {
    for (name, value) in &c.env {
        let well_formed = name
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
            && name.chars().next().is_some_and(|ch| !ch.is_ascii_digit());
        if !well_formed {
            return Err(format!(
                "env name '{name}' must be upper-case letters, digits and '_', not starting with a digit"
            ));
        }
        if ENV_RESERVED.contains(&name.as_str())
            || ENV_RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            return Err(format!(
                "env name '{name}' is reserved: it would change how the command runs, or it is keyway's own"
            ));
        }
        let known = if value == ENV_URL {
            c.kind == Kind::Database
        } else {
            c.field(value).is_some()
        };
        if !known {
            return Err(format!(
                "env.{name} = '{value}' names no field of this component{}",
                if c.kind == Kind::Database {
                    " (or \"$url\", the connection URL)"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}

impl Component {
    /// Whether this is a user file standing in for the built-in definition of its id.
    pub fn overrides_builtin(&self) -> bool {
        self.replaces_builtin && self.source.is_some()
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn uses_http(&self) -> bool {
        matches!(self.kind, Kind::ApiKey | Kind::Oauth2)
    }

    pub fn is_secret(&self, field: &str) -> bool {
        self.field(field).is_some_and(|f| f.secret)
    }
}

/// The longest field value keyway stores, in bytes: room for the largest real credentials (a
/// PEM private key or client certificate, a JWT access token with many claims: a few KiB each)
/// with margin, and no more, so one mistaken paste cannot bloat the vault, its history and
/// every export. The README documents it.
pub const VALUE_MAX_BYTES: usize = 16 * 1024;

/// The longest CA bundle a PEM certificate field holds: a managed database's CA bundle is
/// larger than any key (Amazon RDS's global bundle, over a hundred certificates, is about
/// 160 KiB).
pub const PEM_BUNDLE_MAX_BYTES: usize = 256 * 1024;

/// The longest value `field` holds, in bytes.
pub fn value_limit(field: &FieldSpec) -> usize {
    match field.validate {
        Validation::PemCertificates => PEM_BUNDLE_MAX_BYTES,
        _ => VALUE_MAX_BYTES,
    }
}

/// Checks one value against its field's rules; the message reads after the field's name.
pub fn validate_value(field: &FieldSpec, value: &str) -> Result<(), String> {
    let limit = value_limit(field);
    if value.len() > limit {
        return Err(format!(
            "is {} KiB; a field value may be at most {} KiB",
            value.len().div_ceil(1024),
            limit / 1024
        ));
    }
    // PEM is the one multi-line value: its line breaks (and tabs in pasted indentation) are
    // whitespace between base64 lines, and the value is re-wrapped when stored.
    let allowed = |c: char| field.validate.pem_kind().is_some() && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("must not contain control characters".into());
    }
    if value.is_empty() {
        return if field.required {
            Err("is required".into())
        } else {
            Ok(())
        };
    }
    if value.trim().is_empty() {
        return Err("must not be blank (it holds only spaces)".into());
    }
    if !field.choices.is_empty() && !field.choices.iter().any(|c| c == value) {
        return Err(format!("must be one of: {}", field.choices.join(", ")));
    }
    match field.validate {
        Validation::Text => Ok(()),
        Validation::Url => match url::Url::parse(value) {
            // Never echoed: a mistyped URL may hold a pasted secret.
            Ok(u) if !u.username().is_empty() || u.password().is_some() => Err(
                "must not contain a user name or password; use the credential's own fields".into(),
            ),
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
            Ok(u) => Err(format!(
                "must be an http(s) URL with a host, not a '{}' URL",
                u.scheme()
            )),
            Err(_) => Err("must be an absolute URL such as https://api.example.com".into()),
        },
        Validation::Port => match value.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => Ok(()),
            _ => Err(format!("'{value}' is not a port number (1-65535)")),
        },
        Validation::Host => {
            // An IPv6 address is the one host with colons; anything else with one is most
            // likely HOST:PORT, which would be sent on as a name that never resolves.
            if value.contains(':') || value.contains('[') {
                let bare = value.trim_start_matches('[').trim_end_matches(']');
                return match bare.parse::<std::net::Ipv6Addr>() {
                    Ok(_) if bare == value => Ok(()),
                    Ok(_) => Err(format!(
                        "'{value}': write an IPv6 address without brackets ({bare})"
                    )),
                    Err(_) => Err(format!(
                        "'{value}' looks like HOST:PORT; put the port in the field 'port'"
                    )),
                };
            }
            let ok = value.len() <= 253
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if ok {
                Ok(())
            } else {
                Err(format!("'{value}' is not a host name or IP address"))
            }
        }
        Validation::Email => {
            let mut parts = value.splitn(2, '@');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => Ok(()),
                _ => Err("must be an e-mail address".into()),
            }
        }
        Validation::Date => {
            if super::time::parse_user_time(value).is_some() {
                Ok(())
            } else {
                Err("must be a date (YYYY-MM-DD) or an RFC 3339 time".into())
            }
        }
        Validation::PemCertificates => pem::normalise(PemKind::Certificates, value).map(drop),
        Validation::PemPrivateKey => pem::normalise(PemKind::PrivateKey, value).map(drop),
        Validation::SshPrivateKey => pem::normalise(PemKind::SshPrivateKey, value).map(drop),
        Validation::SshFingerprint => {
            if is_ssh_fingerprint(value) {
                Ok(())
            } else {
                Err("must be a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256: and 43 base64 characters)".into())
            }
        }
    }
}

/// `SHA256:` and the unpadded base64 of 32 bytes, as OpenSSH writes a host key's fingerprint.
pub fn is_ssh_fingerprint(value: &str) -> bool {
    value.strip_prefix("SHA256:").is_some_and(|b64| {
        b64.len() == 43
            && b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    })
}

/// Definitions for the core's unit tests: the shipped PostgreSQL and Stripe files, embedded at
/// compile time (no file is read) so the tests judge the definitions users get.
#[cfg(test)]
pub(crate) mod examples {
    use super::Component;

    fn definition(text: &str) -> Component {
        toml::from_str::<Component>(text)
            .expect("the definition parses")
            .checked()
            .expect("the definition is valid")
    }

    pub(crate) fn postgres() -> Component {
        definition(include_str!("../../assets/components/postgresql.toml"))
    }

    pub(crate) fn redis() -> Component {
        definition(include_str!("../../assets/components/redis.toml"))
    }

    pub(crate) fn sftp() -> Component {
        definition(include_str!("../../assets/components/sftp.toml"))
    }

    pub(crate) fn stripe() -> Component {
        definition(include_str!("../../assets/components/stripe.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checking_a_definition_adds_the_fields_every_component_gets() {
        let stripe = examples::stripe();
        let allow = stripe.field(ALLOW_HTTP_FIELD).expect("allow_http");
        assert_eq!(allow.default.as_deref(), Some("no"));
        assert_eq!(
            stripe.field(EXPIRES_AT_FIELD).map(|f| &f.validate),
            Some(&Validation::Date)
        );
        let pg = examples::postgres();
        assert!(
            pg.field(ALLOW_HTTP_FIELD).is_none(),
            "no HTTP, no allow_http"
        );
        assert!(pg.field(REFRESH_EXPIRES_AT_FIELD).is_none(), "OAuth2 only");
    }

    #[test]
    fn env_names_are_checked() {
        let pg = examples::postgres();
        assert_eq!(
            pg.env.get("PGPASSWORD").map(String::as_str),
            Some("password")
        );
        assert_eq!(
            pg.env.get("DATABASE_URL").map(String::as_str),
            Some(ENV_URL)
        );
        let stripe = examples::stripe();
        assert_eq!(
            stripe.env.get("STRIPE_API_KEY").map(String::as_str),
            Some("api_key")
        );
        let with = |name: &str, value: &str| {
            let mut c = examples::stripe();
            c.env.insert(name.to_string(), value.to_string());
            c.checked().map(drop)
        };
        assert!(with("STRIPE_KEY", "api_key").is_ok());
        for (name, value, says) in [
            ("stripe_key", "api_key", "upper-case"),
            ("1KEY", "api_key", "upper-case"),
            ("PATH", "api_key", "reserved"),
            ("LD_PRELOAD", "api_key", "reserved"),
            ("KEYWAY_X", "api_key", "reserved"),
            ("STRIPE_X", "secret", "names no field"),
            ("STRIPE_URL", ENV_URL, "names no field"),
        ] {
            let err = with(name, value).unwrap_err();
            assert!(err.contains(says), "{name}: {err}");
        }
    }

    #[test]
    fn definitions_that_break_the_conventions_are_refused() {
        let mut pg = examples::postgres();
        pg.icon = "PG".into();
        assert!(pg.clone().checked().unwrap_err().contains("icon"));
        pg.icon = "P".into();
        pg.fields.retain(|f| f.name != "sslmode");
        assert!(pg.checked().unwrap_err().contains("'sslmode'"));
    }

    #[test]
    fn sftp_checks_its_host_key_fingerprint_and_needs_a_password_or_a_key() {
        let sftp = examples::sftp();
        let host_key = sftp.field("host_key").unwrap();
        let printed = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        assert_eq!(validate_value(host_key, printed), Ok(()));
        for wrong in [
            "uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
            "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2",
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s=",
        ] {
            assert!(validate_value(host_key, wrong).is_err(), "{wrong}");
        }
        assert!(sftp.field("private_key").unwrap().secret);
        let none = crate::core::input::apply_fields(
            &sftp,
            &Default::default(),
            &Default::default(),
            vec![
                (
                    "host".into(),
                    crate::core::input::FieldValue::Plain("h".into()),
                ),
                (
                    "user".into(),
                    crate::core::input::FieldValue::Plain("u".into()),
                ),
            ],
        )
        .unwrap_err();
        assert_eq!(none.field, "password");
        assert!(
            none.message.contains("'password' or 'private_key'"),
            "{none}"
        );
        let bad: Component =
            toml::from_str(&include_str!("../../assets/components/sftp.toml").replace(
                "[[\"password\", \"private_key\"]]",
                "[[\"password\", \"pin\"]]",
            ))
            .unwrap();
        assert!(bad.checked().unwrap_err().contains("'pin'"));
    }

    #[test]
    fn values_are_validated_by_their_field() {
        let pg = examples::postgres();
        let port = pg.field("port").unwrap();
        assert!(validate_value(port, "5432").is_ok());
        assert!(validate_value(port, "70000").is_err());
        let sslmode = pg.field("sslmode").unwrap();
        assert!(validate_value(sslmode, "prefer")
            .unwrap_err()
            .contains("one of"));
        let url = examples::stripe();
        let url = url.field("base_url").unwrap();
        assert!(validate_value(url, "ftp://x").is_err());
        assert!(validate_value(url, "https://api.stripe.com").is_ok());
        let expires = pg.field(EXPIRES_AT_FIELD).unwrap();
        assert!(validate_value(expires, "2027-01-31").is_ok());
        assert!(validate_value(expires, "soon").is_err());
    }
}
