//! The component catalogue: which services keyway knows, which fields a credential of each holds,
//! and how such a credential is verified. Definitions are TOML files: the built-in ones in
//! assets/components/ are embedded in the binary; users add their own in the config dir's
//! components/ folder. A bad user file is reported and skipped; the rest still load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::pem::{self, PemKind};

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
}

impl Validation {
    /// The PEM contents this validation asks for, if it is one of the PEM kinds.
    pub fn pem_kind(&self) -> Option<PemKind> {
        match self {
            Validation::PemCertificates => Some(PemKind::Certificates),
            Validation::PemPrivateKey => Some(PemKind::PrivateKey),
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
}

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
    /// A user file reusing a built-in id must say so (`override = true`), or it is refused:
    /// replacing Stripe's definition moves where every Stripe key is sent.
    #[serde(default, rename = "override")]
    pub replaces_builtin: bool,
    /// The user file this definition came from; None for a built-in one.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// The optional field every HTTP-based component gets, so a credential can opt in to plain
/// http on a non-loopback host. Added by the loader so no definition can forget it.
pub const ALLOW_HTTP_FIELD: &str = "allow_http";

/// The optional CA certificate every HTTP-based component gets, for a service behind a private
/// CA: trusted for this credential's requests in addition to the system's CAs. Added by the
/// loader, like `allow_http`.
pub const CA_CERT_FIELD: &str = "ca_cert";

// The optional expiry date every component gets (OAuth2 definitions bring their own, for the
// access token), so audits can warn before an API key or password lapses; and the OAuth2
// refresh token's stated expiry (`refresh_token_expires_in`), kept beside it.
use crate::core::expiry::{EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};

/// Problems with a component definition, each naming the file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A folder or file keyway must not load from at all (writable by others, not a regular
    /// file): the command stops rather than run on definitions someone else may have written.
    #[error("{path} {reason}")]
    Unsafe { path: String, reason: String },
}

/// The most keyway reads of one component definition (the built-in ones are a few KiB).
pub const COMPONENT_FILE_LIMIT: u64 = 256 * 1024;

/// The definitions that ship inside the binary.
const BUILTIN: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/builtin_components.rs"));

/// All known components, in a stable display order (by name).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    components: Vec<Component>,
    index: BTreeMap<String, usize>,
}

/// What loading the catalogue produced: the catalogue, plus any user files that were skipped.
#[derive(Debug)]
pub struct Loaded {
    pub catalog: Catalog,
    pub warnings: Vec<CatalogError>,
}

impl Loaded {
    /// The user files that replace a built-in definition (`override = true`): every command
    /// that loads them says so.
    pub fn overrides(&self) -> impl Iterator<Item = &Component> {
        self.catalog.all().iter().filter(|c| c.overrides_builtin())
    }
}

impl Catalog {
    /// The built-in catalogue alone. The embedded files are checked by the test suite, so a
    /// failure here is a build defect; it is still reported, not unwrapped.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::default();
        for (file, text) in BUILTIN {
            let shown = format!("assets/components/{file}");
            let component = parse_component(&shown, text)?;
            if component.replaces_builtin {
                return Err(CatalogError::Invalid {
                    path: shown,
                    message: "a built-in definition cannot say override".into(),
                });
            }
            catalog.insert(component);
        }
        catalog.sort();
        Ok(catalog)
    }

    /// The built-in catalogue plus the user's own definitions from `dir` (which may be absent).
    /// A user file reusing a built-in id replaces it only if it says `override = true`; two
    /// user files with one id are both refused; a broken file is reported and skipped. A folder
    /// or file writable by others, or a file that is not a regular one, stops the load
    /// (`CatalogError::Unsafe`). No message ever quotes a file's contents.
    pub fn load(user_dir: Option<&Path>) -> Result<Loaded, CatalogError> {
        let mut catalog = Catalog::builtin()?;
        let mut warnings = Vec::new();
        let mut users: Vec<Component> = Vec::new();
        if let Some(dir) = user_dir {
            for path in user_files(dir, &mut warnings)? {
                let shown = path.display().to_string();
                let text = match read_user_file(&path)? {
                    Ok(text) => text,
                    Err(e) => {
                        warnings.push(e);
                        continue;
                    }
                };
                match parse_component(&shown, &text) {
                    Ok(mut component) => {
                        component.source = Some(path);
                        users.push(component);
                    }
                    Err(e) => warnings.push(e),
                }
            }
        }
        for component in accepted_user_components(&catalog, users, &mut warnings) {
            catalog.insert(component);
        }
        catalog.sort();
        Ok(Loaded { catalog, warnings })
    }

    /// Builds a catalogue from definitions already parsed (tests, benchmarks).
    pub fn from_components(components: Vec<Component>) -> Catalog {
        let mut catalog = Catalog::default();
        for c in components {
            catalog.insert(c);
        }
        catalog.sort();
        catalog
    }

    fn insert(&mut self, component: Component) {
        if let Some(&at) = self.index.get(&component.id) {
            self.components[at] = component;
        } else {
            self.index
                .insert(component.id.clone(), self.components.len());
            self.components.push(component);
        }
    }

    fn sort(&mut self) {
        self.components.sort_by_key(|c| c.name.to_lowercase());
        self.index = self
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
    }

    pub fn get(&self, id: &str) -> Option<&Component> {
        self.index.get(id).map(|&i| &self.components[i])
    }

    /// A component's name for display: its catalogue name, or the id itself when the catalogue
    /// no longer has it (a stored credential of a removed component still shows).
    pub fn display_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.get(id).map_or(id, |c| c.name.as_str())
    }

    pub fn all(&self) -> &[Component] {
        &self.components
    }

    /// Components whose name (any case) or id contains `filter`, trimmed; all when it is blank.
    pub fn matching(&self, filter: &str) -> Vec<&Component> {
        let needle = filter.trim().to_lowercase();
        self.components
            .iter()
            .filter(|c| {
                needle.is_empty()
                    || c.name.to_lowercase().contains(&needle)
                    || c.id.contains(&needle)
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.components.len()
    }

    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }
}

/// The `*.toml` files of the user's folder, sorted; an absent folder has none. A folder that
/// others can write to, or that belongs to another user, is refused whole.
fn user_files(dir: &Path, warnings: &mut Vec<CatalogError>) -> Result<Vec<PathBuf>, CatalogError> {
    let shown = dir.display().to_string();
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(CatalogError::Unsafe {
                path: shown,
                reason:
                    "is not a folder (components_dir must name the folder of your component files)"
                        .into(),
            })
        }
        Ok(meta) => check_ownership(&shown, &meta, "folder")?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            warnings.push(CatalogError::Io {
                path: shown,
                source,
            });
            return Ok(Vec::new());
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            warnings.push(CatalogError::Io {
                path: shown,
                source,
            });
            return Ok(Vec::new());
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Only its owner (or root) may write to a folder or file keyway loads definitions from: a
/// definition says where credentials are sent. The rule of OpenSSH's StrictModes.
fn check_ownership(shown: &str, meta: &std::fs::Metadata, what: &str) -> Result<(), CatalogError> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    let unsafe_because = if meta.mode() & 0o022 != 0 {
        Some(format!(
            "is writable by {}: anyone who can write there can change where your credentials are sent; run `chmod go-w {shown}`",
            if meta.mode() & 0o002 != 0 { "everyone" } else { "its group" }
        ))
    } else if meta.uid() != me && meta.uid() != 0 {
        Some(format!(
            "belongs to another user (uid {}), who can change where your credentials are sent",
            meta.uid()
        ))
    } else {
        None
    };
    match unsafe_because {
        Some(reason) => Err(CatalogError::Unsafe {
            path: shown.to_string(),
            reason: format!("(a component {what}) {reason}"),
        }),
        None => Ok(()),
    }
}

/// One user file's text: a regular file (a symlink is followed, and the file it leads to is
/// what is checked) of at most COMPONENT_FILE_LIMIT. The outer error stops the load (not a
/// regular file, unsafe permissions); the inner one is a warning (unreadable, too large).
fn read_user_file(path: &Path) -> Result<Result<String, CatalogError>, CatalogError> {
    let shown = path.display().to_string();
    let meta = match crate::files::open_regular(path) {
        Ok((_, meta)) => meta,
        Err(crate::files::ReadError::NotRegular(kind)) => {
            return Err(CatalogError::Unsafe {
                path: shown,
                reason: format!(
                    "is {kind}, not a regular file; remove it from the components folder"
                ),
            })
        }
        Err(e) => {
            return Ok(Err(CatalogError::Invalid {
                path: shown,
                message: e.to_string(),
            }))
        }
    };
    check_ownership(&shown, &meta, "file")?;
    Ok(
        crate::files::read_text(path, COMPONENT_FILE_LIMIT).map_err(|e| match e {
            crate::files::ReadError::NotRegular(kind) => CatalogError::Invalid {
                path: shown.clone(),
                message: format!("is {kind}, not a regular file"),
            },
            other => CatalogError::Invalid {
                path: shown.clone(),
                message: other.to_string(),
            },
        }),
    )
}

/// The user definitions that may join the catalogue: an id used by two user files is refused
/// for both (which one was meant cannot be told); a built-in id is taken only with
/// `override = true`.
fn accepted_user_components(
    builtin: &Catalog,
    users: Vec<Component>,
    warnings: &mut Vec<CatalogError>,
) -> Vec<Component> {
    let shown = |c: &Component| {
        c.source
            .as_deref()
            .map_or_else(String::new, |p| p.display().to_string())
    };
    let mut by_id: BTreeMap<String, Vec<Component>> = BTreeMap::new();
    for c in users {
        by_id.entry(c.id.clone()).or_default().push(c);
    }
    let mut accepted = Vec::new();
    for (id, mut defs) in by_id {
        if defs.len() > 1 {
            let files: Vec<String> = defs.iter().map(shown).collect();
            for c in &defs {
                warnings.push(CatalogError::Invalid {
                    path: shown(c),
                    message: format!(
                        "refused: component id '{id}' is defined by more than one file ({})",
                        files.join(", ")
                    ),
                });
            }
            continue;
        }
        let Some(c) = defs.pop() else { continue };
        let is_builtin = builtin.get(&id).is_some();
        if is_builtin && !c.replaces_builtin {
            warnings.push(CatalogError::Invalid {
                path: shown(&c),
                message: format!(
                    "refused: it reuses the built-in component id '{id}'; to replace the built-in definition, say `override = true` in the file"
                ),
            });
            continue;
        }
        accepted.push(Component {
            replaces_builtin: is_builtin,
            ..c
        });
    }
    accepted
}

/// Parses and checks one definition; `path` only names the source in errors.
pub fn parse_component(path: &str, text: &str) -> Result<Component, CatalogError> {
    let invalid = |message: String| CatalogError::Invalid {
        path: path.to_string(),
        message,
    };
    let mut component: Component =
        toml::from_str(text).map_err(|e| invalid(crate::config::toml_error(&e, text)))?;
    check_component(&component).map_err(invalid)?;
    if component.uses_http() && component.field(ALLOW_HTTP_FIELD).is_none() {
        component.fields.push(FieldSpec {
            name: ALLOW_HTTP_FIELD.to_string(),
            label: "Allow plain http (non-loopback)".to_string(),
            secret: false,
            required: false,
            default: Some("no".to_string()),
            validate: Validation::Text,
            choices: vec!["no".to_string(), "yes".to_string()],
            help: Some("Only for trusted networks: the key then travels unencrypted".to_string()),
            choice_help: BTreeMap::new(),
        });
    }
    if component.uses_http() && component.field(CA_CERT_FIELD).is_none() {
        component.fields.push(FieldSpec {
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
    if component.kind == Kind::Oauth2 && component.field(REFRESH_EXPIRES_AT_FIELD).is_none() {
        component.fields.push(optional_date_field(
            REFRESH_EXPIRES_AT_FIELD,
            "Refresh token expires at",
            "Filled in by login when the provider states it; audits warn ahead",
        ));
    }
    if component.field(EXPIRES_AT_FIELD).is_none() {
        component.fields.push(optional_date_field(
            EXPIRES_AT_FIELD,
            "Expires on",
            "Optional: when this key or password expires (YYYY-MM-DD); audits warn ahead",
        ));
    }
    Ok(component)
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
        if f.validate == Validation::PemPrivateKey && !f.secret {
            return Err(format!(
                "field '{}' holds a private key and must be secret",
                f.name
            ));
        }
    }
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
        (Kind::Database, VerifySpec::Database { .. }) => {
            for name in ["host", "port", "database", "user", "password", "sslmode"] {
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
            if crate::core::time::parse_user_time(value).is_some() {
                Ok(())
            } else {
                Err("must be a date (YYYY-MM-DD) or an RFC 3339 time".into())
            }
        }
        Validation::PemCertificates => pem::normalise(PemKind::Certificates, value).map(drop),
        Validation::PemPrivateKey => pem::normalise(PemKind::PrivateKey, value).map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_is_rich_and_follows_the_conventions() {
        let c = Catalog::builtin().expect("embedded definitions parse");
        assert!(c.len() >= 15, "only {} components", c.len());
        for id in [
            "stripe",
            "github",
            "sendgrid",
            "shopify",
            "slack",
            "hubspot",
            "salesforce",
            "google_sheets",
            "microsoft_graph",
            "jira",
            "mailchimp",
            "zendesk",
            "twilio",
            "postgresql",
            "generic_api_key",
            "generic_oauth2",
        ] {
            assert!(c.get(id).is_some(), "missing {id}");
        }
        for comp in c.all() {
            if comp.uses_http() {
                let base = comp.field("base_url").expect("base_url");
                assert_eq!(base.validate, Validation::Url, "{}", comp.id);
                assert!(comp.field(ALLOW_HTTP_FIELD).is_some());
                let ca = comp.field(CA_CERT_FIELD).expect("ca_cert");
                assert_eq!(ca.validate, Validation::PemCertificates, "{}", comp.id);
                assert!(!ca.required && !ca.secret);
            }
            for f in &comp.fields {
                assert!(
                    f.choice_help.keys().all(|w| f.choices.contains(w)),
                    "{}.{}",
                    comp.id,
                    f.name
                );
            }
            for f in &comp.fields {
                assert!(!(f.secret && f.default.is_some()), "{}.{}", comp.id, f.name);
            }
            // Every credential can carry an expiry date for audits to warn about.
            assert_eq!(
                comp.field(EXPIRES_AT_FIELD).map(|f| &f.validate),
                Some(&Validation::Date)
            );
            if comp.kind == Kind::Oauth2 {
                for name in [
                    "client_id",
                    "client_secret",
                    "access_token",
                    "refresh_token",
                    "scope",
                    "token_url",
                    REFRESH_EXPIRES_AT_FIELD,
                ] {
                    assert!(comp.field(name).is_some(), "{}.{name}", comp.id);
                }
            }
        }
    }

    #[test]
    fn bad_user_files_are_reported_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.toml"), "id = \"x\"\nname = ").unwrap();
        std::fs::write(
            dir.path().join("acme.toml"),
            r#"
id = "acme"
name = "Acme API"
kind = "api_key"
icon = "A"
[[fields]]
name = "base_url"
label = "Base URL"
required = true
default = "https://api.acme.test"
validate = "url"
[[fields]]
name = "api_key"
label = "Key"
secret = true
required = true
[verify]
engine = "http"
path = "/me"
auth = { type = "header", name = "X-Key" }
"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("twoicons.toml"),
            "id = \"t\"\nname = \"T\"\nkind = \"database\"\nicon = \"ab\"\nfields = []\n[verify]\nengine = \"database\"\ndbengine = \"postgres\"\n",
        )
        .unwrap();
        let loaded = Catalog::load(Some(dir.path())).unwrap();
        assert!(loaded.catalog.get("acme").is_some());
        assert_eq!(loaded.warnings.len(), 2);
        let text: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("broken.toml")), "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.contains("twoicons.toml") && t.contains("icon")),
            "{text:?}"
        );
    }

    #[test]
    fn postgresql_explains_every_sslmode_and_takes_pem_fields() {
        let c = Catalog::builtin().unwrap();
        let pg = c.get("postgresql").unwrap();
        let sslmode = pg.field("sslmode").unwrap();
        assert_eq!(sslmode.default.as_deref(), Some("verify-full"));
        for word in ["disable", "require", "verify-ca", "verify-full"] {
            assert!(sslmode.choice_help.contains_key(word), "{word}");
        }
        assert!(sslmode.choice_help["require"].contains("checked only if an SSL CA is given"));
        for (name, validate, secret) in [
            ("ssl_ca", Validation::PemCertificates, false),
            ("ssl_cert", Validation::PemCertificates, false),
            ("ssl_key", Validation::PemPrivateKey, true),
        ] {
            let f = pg.field(name).unwrap();
            assert_eq!(
                (&f.validate, f.secret, f.required),
                (&validate, secret, false)
            );
        }
        let ca = pg.field("ssl_ca").unwrap();
        let pem = "-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n";
        assert!(validate_value(ca, pem).is_ok());
        assert!(validate_value(ca, &pem.replace('\n', "\r\n")).is_ok());
        assert!(validate_value(ca, "QUJD\u{7}").is_err());
        // A CA bundle may be far larger than any other value, within its own bound.
        let block = |n: usize| {
            let body = "QUJD".repeat(n / 4);
            format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
        };
        assert!(validate_value(ca, &block(20 * 1024)).is_ok());
        let e = validate_value(ca, &block(300 * 1024)).unwrap_err();
        assert!(e.contains("at most 256 KiB"), "{e}");
        assert!(validate_value(pg.field("user").unwrap(), &"u".repeat(20 * 1024)).is_err());
        assert!(validate_value(pg.field("host").unwrap(), "a\nb").is_err());
    }

    #[test]
    fn choice_help_and_pem_keys_are_checked_in_user_files() {
        let base = |extra: &str| {
            format!(
                "id = \"db\"\nname = \"Db\"\nkind = \"database\"\nicon = \"D\"\n\
                 [verify]\nengine = \"database\"\ndbengine = \"postgres\"\n{extra}"
            )
        };
        let explained = base(
            "[[fields]]\nname = \"sslmode\"\nlabel = \"S\"\nchoices = [\"require\"]\n\
             [fields.choice_help]\nprefer = \"falls back to plaintext\"\n",
        );
        let e = parse_component("db.toml", &explained)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'prefer'"), "{e}");
        let open_key =
            base("[[fields]]\nname = \"ssl_key\"\nlabel = \"K\"\nvalidate = \"pem_private_key\"\n");
        let e = parse_component("db.toml", &open_key)
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be secret"), "{e}");
    }

    #[test]
    fn values_are_validated() {
        let c = Catalog::builtin().unwrap();
        let pg = c.get("postgresql").unwrap();
        let port = pg.field("port").unwrap();
        assert!(validate_value(port, "5432").is_ok());
        assert!(validate_value(port, "70000").is_err());
        assert!(validate_value(port, "0").is_err());
        let stripe = c.get("stripe").unwrap();
        let url = stripe.field("base_url").unwrap();
        assert!(validate_value(url, "https://api.stripe.com").is_ok());
        assert!(validate_value(url, "api.stripe.com").is_err());
        assert!(validate_value(url, "ftp://x").is_err());
        assert!(validate_value(url, "https://u:p@api.stripe.com").is_err());
        assert!(validate_value(url, "   ").is_err(), "blank is not empty");
        let host = pg.field("host").unwrap();
        for ok in ["db.internal", "127.0.0.1", "::1", "fe80::1"] {
            assert!(validate_value(host, ok).is_ok(), "{ok}");
        }
        for bad in ["127.0.0.1:5432", "db:5432", "[::1]", "[::1]:5432", "a b"] {
            assert!(validate_value(host, bad).is_err(), "{bad}");
        }
    }
}

/// The component decoder's contract on a user file: never a panic, whatever the text, and every
/// error names the file without quoting it.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_naming_the_file(text in ".{0,400}") {
            if let Err(e) = parse_component("user/x.toml", &text) {
                prop_assert!(e.to_string().starts_with("user/x.toml: "));
            }
        }

        #[test]
        fn mangled_builtin_definitions_never_panic(
            which in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
            insert in ".{0,12}",
        ) {
            let (_, text) = BUILTIN[which.index(BUILTIN.len())];
            let mut mangled: Vec<char> = text.chars().collect();
            let i = at.index(mangled.len());
            mangled.splice(i..i, insert.chars());
            mangled.truncate(cut.index(mangled.len() + 1));
            let text: String = mangled.into_iter().collect();
            let _ = parse_component("user/x.toml", &text);
        }

        #[test]
        fn any_value_is_judged_without_panic(value in ".{0,300}", which in any::<prop::sample::Index>()) {
            let catalog = Catalog::builtin().unwrap();
            let fields: Vec<&FieldSpec> = catalog.all().iter().flat_map(|c| &c.fields).collect();
            let _ = validate_value(fields[which.index(fields.len())], &value);
        }
    }
}
