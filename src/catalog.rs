//! The component catalogue: which components keyway knows, read into the core's schema
//! (core/schema.rs) from TOML definitions. The built-in ones in assets/components/ are embedded
//! in the binary; users add their own in the config dir's components/ folder. This is the only
//! code that reads those files. A bad user file is reported and skipped; the rest still load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::core::schema::Component;

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

    /// Components whose name or id holds every word of `filter` (core::filter's rule, the one
    /// every list's filter follows); all when it is blank.
    pub fn matching(&self, filter: &str) -> Vec<&Component> {
        self.components
            .iter()
            .filter(|c| crate::core::filter::matches_words(filter, &[&c.name, &c.id]))
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
    let component: Component =
        toml::from_str(text).map_err(|e| invalid(crate::config::toml_error(&e, text)))?;
    component.checked().map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::expiry::{EXPIRES_AT_FIELD, REFRESH_EXPIRES_AT_FIELD};
    use crate::core::schema::*;

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
    fn the_grid_and_wizard_match_words_as_every_list_filter_does() {
        let c = Catalog::builtin().unwrap();
        let ids = |filter: &str| -> Vec<String> {
            c.matching(filter).iter().map(|x| x.id.clone()).collect()
        };
        // Each word on its own, in any order: not the whole text as one substring.
        assert_eq!(ids("post sql"), ["postgresql"]);
        assert_eq!(ids("SQL POST"), ["postgresql"]);
        assert_eq!(ids("  ").len(), c.len());
        assert!(ids("no such thing").is_empty());
    }

    #[test]
    fn every_builtin_component_has_its_own_icon() {
        let c = Catalog::builtin().unwrap();
        let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
        for comp in c.all() {
            if let Some(other) = seen.insert(&comp.icon, &comp.id) {
                panic!("{} and {other} share the icon '{}'", comp.id, comp.icon);
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
    use crate::core::schema::{validate_value, FieldSpec};
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
